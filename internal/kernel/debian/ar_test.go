package debian

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

func buildAr(members ...[2]string) []byte {
	var b bytes.Buffer
	b.WriteString(arMagic)
	for _, m := range members {
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m[0], 1700000000, 0, 0, "100644", len(m[1]))
		b.WriteString(m[1])
		if len(m[1])%2 == 1 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func TestArReader(t *testing.T) {
	data := buildAr([2]string{"debian-binary", "2.0\n"}, [2]string{"odd/", "abc"}, [2]string{"control.tar.xz", "0123456789"}, [2]string{"empty", ""})
	ar, err := newArReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; ; i++ {
		name, size, err := ar.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		// Read the second member only partly and the others not at all, to
		// check that next() skips what is left, padding included.
		content := ""
		if i == 1 {
			b := make([]byte, 2)
			io.ReadFull(ar.member(size), b)
			content = string(b)
		} else if i == 2 {
			b, _ := io.ReadAll(ar.member(size))
			content = string(b)
		}
		got = append(got, fmt.Sprintf("%s:%d:%s", name, size, content))
	}
	want := "debian-binary:4: odd:3:ab control.tar.xz:10:0123456789 empty:0:"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("members = %q, want %q", s, want)
	}
}

func TestArReaderErrors(t *testing.T) {
	good := buildAr([2]string{"debian-binary", "2.0\n"}, [2]string{"data.tar", "xxxxxx"})
	badSize := bytes.Replace(bytes.Clone(good), []byte("4         `"), []byte("x4        `"), 1)
	badEnd := bytes.Clone(good)
	badEnd[8+58] = '!'
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"magic":      {[]byte("<arch>\nnot an archive"), "not an ar archive"},
		"size":       {badSize, "bad size"},
		"terminator": {badEnd, "bad terminator"},
		"truncated":  {good[:len(good)-10], "truncated"},
	} {
		t.Run(name, func(t *testing.T) {
			ar, err := newArReader(bytes.NewReader(tc.data))
			for err == nil {
				_, _, err = ar.next()
			}
			if err == io.EOF || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
