package debian

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// arReader reads the members of a Unix ar archive, the outer format of a
// .deb (deb(5)): an 8-byte magic, then per member a 60-byte header and the
// data, padded to an even length.
type arReader struct {
	r       *bufio.Reader
	pending int64 // bytes of the current member (plus padding) not yet read
}

const arMagic = "!<arch>\n"

// newArReader checks the archive magic.
func newArReader(r io.Reader) (*arReader, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(arMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != arMagic {
		return nil, errors.New("not an ar archive (no \"!<arch>\" magic): the .deb is corrupt")
	}
	return &arReader{r: br}, nil
}

// next skips to the next member and returns its name and size; the member's
// data is then read from ar.r, limited by the caller to size. It returns
// io.EOF after the last member.
func (a *arReader) next() (name string, size int64, err error) {
	if _, err := a.r.Discard(int(a.pending)); err != nil {
		return "", 0, fmt.Errorf("ar archive truncated: %w", err)
	}
	var hdr [60]byte
	n, err := io.ReadFull(a.r, hdr[:])
	if n == 0 && err == io.EOF {
		return "", 0, io.EOF
	}
	if err != nil {
		return "", 0, fmt.Errorf("ar archive truncated in a member header: %w", err)
	}
	if hdr[58] != '`' || hdr[59] != '\n' {
		return "", 0, errors.New("ar member header has a bad terminator: the .deb is corrupt")
	}
	// GNU ar ends names with "/"; dpkg's own ar does not.
	name = strings.TrimSuffix(strings.TrimRight(string(hdr[0:16]), " "), "/")
	size, err = strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
	if err != nil || size < 0 {
		return "", 0, fmt.Errorf("ar member %q has a bad size field %q: the .deb is corrupt", name, hdr[48:58])
	}
	a.pending = size + size%2
	return name, size, nil
}

// member returns a reader over the current member's data. Reading it counts
// against what next() must skip.
func (a *arReader) member(size int64) io.Reader {
	return &countingReader{r: io.LimitReader(a.r, size), n: &a.pending}
}

// countingReader decrements *n by the bytes read through it.
type countingReader struct {
	r io.Reader
	n *int64
}

// Read implements io.Reader.
func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n -= int64(n)
	return n, err
}
