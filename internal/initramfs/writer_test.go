package initramfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriterRoundTrip(t *testing.T) {
	host := filepath.Join(t.TempDir(), "payload")
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	payload = append(payload, "odd"...) // a size that needs padding
	if err := os.WriteFile(host, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	steps := []func() error{
		func() error { return w.Dir("/etc", 0o755) },
		func() error { return w.Dir("tmp", 0o1777) },
		func() error { return w.File("etc/hostname", 0o644, []byte("ktstr\n")) },
		func() error { return w.File("empty", 0o600, nil) },
		func() error { return w.FileFrom("usr/share/data/payload.bin", 0o4755, host) },
		func() error { return w.Symlink("bin", "usr/bin") },
		func() error { return w.CharDev("dev/console", 0o600, 5, 1) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Written() != int64(buf.Len()) {
		t.Errorf("Written() = %d, buffer holds %d", w.Written(), buf.Len())
	}

	entries := readNewc(t, buf.Bytes())
	var names []string
	for _, e := range entries {
		names = append(names, e.name)
	}
	wantNames := []string{"etc", "tmp", "etc/hostname", "empty", "usr", "usr/share", "usr/share/data",
		"usr/share/data/payload.bin", "bin", "dev", "dev/console"}
	if strings.Join(names, " ") != strings.Join(wantNames, " ") {
		t.Errorf("names = %q, want %q", names, wantNames)
	}

	type want struct {
		mode         uint32
		nlink        uint32
		data         string
		rdevMajor    uint32
		rdevMinor    uint32
		dataIsPaylod bool
	}
	wants := map[string]want{
		"etc":                        {mode: 0o040755, nlink: 2},
		"tmp":                        {mode: 0o041777, nlink: 2},
		"etc/hostname":               {mode: 0o100644, nlink: 1, data: "ktstr\n"},
		"empty":                      {mode: 0o100600, nlink: 1},
		"usr":                        {mode: 0o040755, nlink: 2},
		"usr/share/data/payload.bin": {mode: 0o104755, nlink: 1, dataIsPaylod: true},
		"bin":                        {mode: 0o120777, nlink: 1, data: "usr/bin"},
		"dev/console":                {mode: 0o020600, nlink: 1, rdevMajor: 5, rdevMinor: 1},
	}
	got := byName(t, entries)
	inodes := make(map[uint32]string)
	for _, e := range entries {
		if prev, dup := inodes[e.ino]; dup {
			t.Errorf("%q and %q share inode %d", prev, e.name, e.ino)
		}
		inodes[e.ino] = e.name
		if e.uid != 0 || e.gid != 0 || e.mtime != 0 || e.check != 0 || e.devMajor != 0 || e.devMinor != 0 {
			t.Errorf("%q: uid %d gid %d mtime %d check %d dev %d:%d, want all zero",
				e.name, e.uid, e.gid, e.mtime, e.check, e.devMajor, e.devMinor)
		}
		if e.dataOffset%4 != 0 {
			t.Errorf("%q: data at offset %d, not 4-byte aligned", e.name, e.dataOffset)
		}
	}
	for name, wt := range wants {
		e, ok := got[name]
		if !ok {
			t.Errorf("%q missing", name)
			continue
		}
		if e.mode != wt.mode || e.nlink != wt.nlink {
			t.Errorf("%q: mode %#o nlink %d, want %#o and %d", name, e.mode, e.nlink, wt.mode, wt.nlink)
		}
		if e.rdevMajor != wt.rdevMajor || e.rdevMinor != wt.rdevMinor {
			t.Errorf("%q: rdev %d:%d, want %d:%d", name, e.rdevMajor, e.rdevMinor, wt.rdevMajor, wt.rdevMinor)
		}
		wantData := []byte(wt.data)
		if wt.dataIsPaylod {
			wantData = payload
		}
		if !bytes.Equal(e.data, wantData) {
			t.Errorf("%q: %d bytes of data, want %d (contents differ)", name, len(e.data), len(wantData))
		}
	}
}

// TestWriterPadding covers every combination of name and data length
// modulo 4.
func TestWriterPadding(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	want := make(map[string]string)
	for nameLen := 1; nameLen <= 8; nameLen++ {
		for dataLen := 0; dataLen <= 8; dataLen++ {
			name := strings.Repeat("n", nameLen) + "/" + strings.Repeat("d", dataLen+1)
			data := strings.Repeat("x", dataLen)
			if err := w.File(name, 0o644, []byte(data)); err != nil {
				t.Fatal(err)
			}
			want[name] = data
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := byName(t, readNewc(t, buf.Bytes()))
	for name, data := range want {
		if string(got[name].data) != data {
			t.Errorf("%q: data %q, want %q", name, got[name].data, data)
		}
	}
}

func TestWriterParentsOnce(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, name := range []string{"a/b/c", "a/b/d", "a/e"} {
		if err := w.File(name, 0o644, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range readNewc(t, buf.Bytes()) {
		names = append(names, e.name)
	}
	if got, want := strings.Join(names, " "), "a a/b a/b/c a/b/d a/e"; got != want {
		t.Errorf("names %q, want %q", got, want)
	}
}

func TestWriterReproducible(t *testing.T) {
	write := func() []byte {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		w.Dir("d", 0o700)
		w.File("d/f", 0o644, []byte("data"))
		w.Symlink("l", "d/f")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if !bytes.Equal(write(), write()) {
		t.Error("two identical sequences of calls wrote different archives")
	}
}

func TestWriterDuplicates(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte("same bytes"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "link-to-a")
	if err := os.Symlink(a, link); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	mustOK := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustFail := func(err error, wants ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("no error, want one mentioning %q", wants)
		}
		for _, s := range wants {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not mention %q", err, s)
			}
		}
	}
	mustOK(w.FileFrom("f", 0o644, a))
	mustOK(w.FileFrom("/f", 0o644, a))   // same host file: no-op
	mustOK(w.FileFrom("f", 0o644, link)) // same file through a symlink
	mustFail(w.FileFrom("f", 0o644, b), `"f"`, a, b)
	mustFail(w.FileFrom("f", 0o755, a), `"f"`)
	mustFail(w.File("f", 0o644, []byte("same bytes")), `"f"`, "already")
	mustOK(w.File("g", 0o644, nil))
	mustFail(w.File("g", 0o644, nil), `"g"`, "already")
	mustOK(w.Symlink("s", "f"))
	mustOK(w.Symlink("s", "f"))
	mustFail(w.Symlink("s", "g"), `"s"`, "symlink to f")
	mustOK(w.CharDev("c", 0o600, 1, 3))
	mustOK(w.CharDev("c", 0o600, 1, 3))
	mustFail(w.CharDev("c", 0o600, 1, 5), `"c"`, "1:3")
	mustOK(w.Dir("d", 0o700))
	mustOK(w.Dir("d", 0o700))
	mustFail(w.Dir("d", 0o755), `"d"`)
	mustOK(w.File("p/q", 0o644, nil))
	mustFail(w.Dir("p", 0o700), `"p"`, "Dir(")
	mustFail(w.File("s/x", 0o644, nil), `"s"`, "symlink")
	mustFail(w.File("f/x", 0o644, nil), `"f"`, "regular file")
	mustFail(w.FileFrom("h", 0o644, dir), "not a regular file")
	mustFail(w.FileFrom("h", 0o644, filepath.Join(dir, "missing")), "missing")
	mustOK(w.Close())
	entries := readNewc(t, buf.Bytes())
	byName(t, entries) // fails on duplicates
	if got := len(entries); got != 7 {
		t.Errorf("%d entries, want 7 (f g s c d p p/q)", got)
	}
}

func TestWriterBadInput(t *testing.T) {
	w := NewWriter(new(bytes.Buffer))
	for _, name := range []string{"", "/", ".", "..", "../x", "a/../../x", "a\x00b"} {
		if err := w.File(name, 0o644, nil); err == nil {
			t.Errorf("File(%q) succeeded, want an error", name)
		}
	}
	for _, mode := range []os.FileMode{0o100755, os.ModeDir | 0o755, os.ModeSymlink} {
		if err := w.File("x", mode, nil); err == nil {
			t.Errorf("File with mode %v succeeded, want an error", mode)
		}
	}
	if err := w.Dir("d", os.ModeDir|0o755); err != nil {
		t.Errorf("Dir with os.ModeDir: %v", err)
	}
	if err := w.Symlink("l", ""); err == nil {
		t.Error("Symlink with an empty target succeeded")
	}
}

func TestWriterClosed(t *testing.T) {
	w := NewWriter(new(bytes.Buffer))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.File("x", 0o644, nil); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("File after Close: %v, want an error about the closed writer", err)
	}
	if err := w.Close(); err == nil {
		t.Error("second Close succeeded")
	}
}

type failingWriter struct{ after int }

var errDiskFull = errors.New("disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.after {
		n := f.after
		f.after = 0
		return n, errDiskFull
	}
	f.after -= len(p)
	return len(p), nil
}

func TestWriterStickyError(t *testing.T) {
	host := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(host, make([]byte, 200<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(&failingWriter{after: 1000})
	if err := w.FileFrom("big", 0o644, host); !errors.Is(err, errDiskFull) {
		t.Fatalf("FileFrom: %v, want %v", err, errDiskFull)
	}
	if err := w.File("later", 0o644, nil); !errors.Is(err, errDiskFull) {
		t.Errorf("File after a write error: %v, want %v", err, errDiskFull)
	}
	if err := w.Close(); !errors.Is(err, errDiskFull) {
		t.Errorf("Close after a write error: %v, want %v", err, errDiskFull)
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"/bin/sh":   "bin/sh",
		"bin//sh":   "bin/sh",
		"./a/./b/":  "a/b",
		"a/b/../c":  "a/c",
		"//lib64/x": "lib64/x",
	} {
		got, err := cleanPath(in)
		if err != nil || got != want {
			t.Errorf("cleanPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestComparePaths(t *testing.T) {
	sorted := []string{"a", "a/b", "a/b/c", "a/c", "a-b", "a.b", "b"}
	for i := range sorted {
		for j := range sorted {
			c := comparePaths(sorted[i], sorted[j])
			if (i < j) != (c < 0) || (i == j) != (c == 0) {
				t.Errorf("comparePaths(%q, %q) = %d", sorted[i], sorted[j], c)
			}
		}
	}
}
