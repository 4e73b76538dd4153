package debian

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// errNotInDeb says the wanted file is not in the package.
var errNotInDeb = errors.New("file not in package")

// extractFromDeb copies the regular file at name (e.g.
// "usr/lib/modules/7.3.4+deb13-amd64/vmlinuz") from a .deb's data archive to
// w. The .deb must have been checked against its index checksum first: the
// decompressors are then only fed data the archive vouches for.
func extractFromDeb(deb io.Reader, name string, w io.Writer) error {
	ar, err := newArReader(deb)
	if err != nil {
		return err
	}
	for {
		member, size, err := ar.next()
		if err == io.EOF {
			return errors.New("no data.tar member in the .deb: corrupt package")
		}
		if err != nil {
			return err
		}
		if !strings.HasPrefix(member, "data.tar") {
			continue
		}
		r, closeFn, err := decompressor(member, ar.member(size))
		if err != nil {
			return err
		}
		defer closeFn()
		return extractFromTar(r, name, w)
	}
}

// decompressor picks the decoder for a data.tar member by its suffix, as
// dpkg does.
func decompressor(member string, r io.Reader) (io.Reader, func(), error) {
	nop := func() {}
	switch member {
	case "data.tar":
		return r, nop, nil
	case "data.tar.xz":
		x, err := xz.NewReader(r)
		if err != nil {
			return nil, nop, fmt.Errorf("open %s: %w", member, err)
		}
		return x, nop, nil
	case "data.tar.zst":
		z, err := zstd.NewReader(r)
		if err != nil {
			return nil, nop, fmt.Errorf("open %s: %w", member, err)
		}
		return z, z.Close, nil
	case "data.tar.gz":
		g, err := gzip.NewReader(r)
		if err != nil {
			return nil, nop, fmt.Errorf("open %s: %w", member, err)
		}
		return g, func() { g.Close() }, nil
	}
	return nil, nop, fmt.Errorf("the .deb's data member %q uses a compression this tool does not read (xz, zst, gz or none)", member)
}

// extractFromTar copies the regular file name from a tar stream to w.
func extractFromTar(r io.Reader, name string, w io.Writer) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return fmt.Errorf("%s: %w", name, errNotInDeb)
		}
		if err != nil {
			return fmt.Errorf("read the .deb's data archive: %w", err)
		}
		// Members are named "./usr/..."; compare cleaned relative paths.
		if strings.TrimPrefix(path.Clean("/"+h.Name), "/") != name {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return fmt.Errorf("%s in the package is not a regular file (tar type %q)", name, h.Typeflag)
		}
		if _, err := io.Copy(w, tr); err != nil {
			return fmt.Errorf("extract %s from the package: %w", name, err)
		}
		return nil
	}
}
