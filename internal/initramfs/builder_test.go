package initramfs

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBuilderWriteTo(t *testing.T) {
	sys := systemBinary(t)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.json", `{"a": 1}`)
	b := NewBuilder()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.AddBinary("bin/tool", sys))
	must(b.AddBinary("/sbin/tool2", sys)) // shares every library with bin/tool
	must(b.AddFile("etc/ktstr/config.json", cfg, 0o600))
	must(b.AddBytes("init.sh", []byte("#!/bin/sh\n"), 0o755))
	must(b.AddDir("tmp", os.ModeSticky|0o777))
	must(b.AddDir("proc", 0o555))
	must(b.AddSymlink("usr/bin/tool", "../../bin/tool"))
	must(b.AddCharDev("dev/console", 0o600, 5, 1))

	var buf bytes.Buffer
	n, err := b.WriteTo(&buf)
	must(err)
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d bytes", n, buf.Len())
	}
	entries := readNewc(t, buf.Bytes())
	got := byName(t, entries)

	// Every parent comes before its children.
	pos := make(map[string]int)
	for i, e := range entries {
		pos[e.name] = i
		for _, p := range parents(e.name) {
			if i2, ok := pos[p]; !ok || i2 > i {
				t.Errorf("%q is written before its parent %q", e.name, p)
			}
		}
	}

	sysData, err := os.ReadFile(sys)
	must(err)
	for _, name := range []string{"bin/tool", "sbin/tool2"} {
		if !bytes.Equal(got[name].data, sysData) {
			t.Errorf("%s does not hold the bytes of %s", name, sys)
		}
	}
	libs, err := ClosureAt(sys, "bin/tool")
	must(err)
	for _, l := range libs {
		e, ok := got[l.ArchivePath]
		if !ok {
			t.Errorf("library %s is missing", l.ArchivePath)
			continue
		}
		fi, err := os.Stat(l.HostPath)
		must(err)
		if int64(len(e.data)) != fi.Size() || e.mode&0o777 != uint32(fi.Mode().Perm()) {
			t.Errorf("%s: %d bytes mode %#o, want %d bytes mode %#o", l.ArchivePath, len(e.data), e.mode&0o777, fi.Size(), fi.Mode().Perm())
		}
	}
	for name, mode := range map[string]uint32{
		"tmp":                   0o041777,
		"proc":                  0o040555,
		"etc":                   0o040755,
		"etc/ktstr/config.json": 0o100600,
		"init.sh":               0o100755,
		"usr/bin/tool":          0o120777,
		"dev/console":           0o020600,
	} {
		if got[name].mode != mode {
			t.Errorf("%s: mode %#o, want %#o", name, got[name].mode, mode)
		}
	}
	if string(got["usr/bin/tool"].data) != "../../bin/tool" || string(got["etc/ktstr/config.json"].data) != `{"a": 1}` {
		t.Error("symlink target or file contents differ")
	}

	var again bytes.Buffer
	writeArchive(t, b, &again)
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("writing the same Builder twice gave different archives")
	}
}

// writeArchive writes b to w and fails the test on error.
func writeArchive(t *testing.T, b *Builder, w *bytes.Buffer) {
	t.Helper()
	if _, err := b.WriteTo(w); err != nil {
		t.Fatal(err)
	}
}

func TestBuilderConflicts(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a", "one")
	c := writeFile(t, dir, "c", "two")
	b := NewBuilder()
	ok := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	fail := func(err error, wants ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("no error, want one mentioning %q", wants)
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not mention %q", err, w)
			}
		}
	}
	ok(b.AddFile("x", a, 0o644))
	ok(b.AddFile("/x", a, 0o644))
	fail(b.AddFile("x", c, 0o644), `"x"`, a, c)
	fail(b.AddFile("x", a, 0o755), `"x"`)
	ok(b.AddBytes("y", []byte("same"), 0o644))
	ok(b.AddBytes("y", []byte("same"), 0o644))
	fail(b.AddBytes("y", []byte("other"), 0o644), `"y"`)
	ok(b.AddDir("t", 0o1777))
	ok(b.AddDir("t", os.ModeSticky|0o777)) // the same mode, spelled differently
	fail(b.AddDir("t", 0o755), `"t"`)
	ok(b.AddFile("d/e/f", a, 0o644))
	fail(b.AddFile("d/e", a, 0o644), `"d/e"`, `"d/e/f"`, "directory")
	fail(b.AddFile("x/inside", a, 0o644), `"x"`, "not a directory")
	fail(b.AddSymlink("s", ""), "empty target")
	fail(b.AddFile("dir", dir, 0o644), "not a regular file")
	fail(b.AddFile("missing", filepath.Join(dir, "nope"), 0o644), "nope")
	fail(b.AddBytes("../escape", nil, 0o644), "climbs above")
	script := writeFile(t, dir, "script", "#!/bin/sh\n")
	fail(b.AddBinary("bin/script", script), "not executable")
	ok(os.Chmod(script, 0o755))
	fail(b.AddBinary("bin/script", script), "shell script")
}

func TestBuilderAddBinaryConflictAddsNothing(t *testing.T) {
	sys := systemBinary(t)
	libs, err := Closure(sys)
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) == 0 {
		t.Skipf("%s is static", sys)
	}
	b := NewBuilder()
	blocker := libs[len(libs)-1].ArchivePath
	if err := b.AddBytes(blocker, []byte("not the library"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = b.AddBinary("bin/tool", sys)
	if err == nil || !strings.Contains(err.Error(), blocker) || !strings.Contains(err.Error(), "library of "+sys) {
		t.Fatalf("AddBinary = %v, want a conflict at %s", err, blocker)
	}
	if len(b.entries) != 1 || len(b.implied) != len(parents(blocker)) {
		t.Errorf("a failed AddBinary left entries behind: %d entries, %d implied dirs", len(b.entries), len(b.implied))
	}

	// The binary itself placed where one of its libraries goes.
	b = NewBuilder()
	if err := b.AddBinary(blocker, sys); err == nil || !strings.Contains(err.Error(), blocker) {
		t.Errorf("AddBinary(%s) = %v, want a conflict with its own library", blocker, err)
	}
	if len(b.entries) != 0 {
		t.Errorf("a failed AddBinary left %d entries behind", len(b.entries))
	}
}

func TestBuilderDigest(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "f", "contents")
	buildMode := func(mode os.FileMode) *Builder {
		b := NewBuilder()
		if err := b.AddFile("f", f, mode); err != nil {
			t.Fatal(err)
		}
		if err := b.AddBytes("g", []byte("gg"), 0o644); err != nil {
			t.Fatal(err)
		}
		return b
	}
	build := func() *Builder { return buildMode(0o644) }
	digest := func(b *Builder) string {
		t.Helper()
		d, err := b.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	base := digest(build())
	if len(base) != 64 {
		t.Errorf("digest %q is not 64 hex digits", base)
	}
	if d := digest(build()); d != base {
		t.Error("two identical builders have different digests")
	}

	changes := map[string]func(*Builder){
		"another entry":   func(b *Builder) { b.AddDir("d", 0o755) },
		"another symlink": func(b *Builder) { b.AddSymlink("s", "f") },
		"other bytes":     func(b *Builder) { b.entries["g"].data = []byte("gh") },
	}
	if digest(buildMode(0o600)) == base {
		t.Error("another mode did not change the digest")
	}
	for what, change := range changes {
		b := build()
		change(b)
		if digest(b) == base {
			t.Errorf("%s did not change the digest", what)
		}
	}

	// Rewriting the host file with the same size and restoring its mtime
	// still changes the digest, through the inode change time.
	fi, err := os.Stat(f)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(f, []byte("CONTENTS"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(f, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if digest(build()) == base {
		t.Error("rewriting the host file did not change the digest")
	}

	b := build()
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Digest(); err == nil || !strings.Contains(err.Error(), `"f"`) {
		t.Errorf("Digest with a missing host file: %v, want an error naming the entry", err)
	}
}
