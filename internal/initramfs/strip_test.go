package initramfs

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const helloGo = `package main

import "fmt"

func main() { fmt.Println("hello from a stripped binary") }
`

const helloC = `#include <stdio.h>
int main(void) { puts("hello from a stripped binary"); return 0; }
`

// buildGo builds a static Go program with DWARF and a symbol table, as go
// test -c builds test binaries, skipping the test without a Go toolchain.
func buildGo(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on $PATH")
	}
	writeFile(t, dir, "main.go", helloGo)
	writeFile(t, dir, "go.mod", "module hello\n\ngo 1.21\n")
	cmd := exec.Command(goTool, "build", "-o", "hello", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "hello")
}

// packed returns the bytes AddBinary packs for host at bin/prog.
func packed(t *testing.T, host string) []byte {
	t.Helper()
	b := NewBuilder()
	if err := b.AddBinary("bin/prog", host); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return byName(t, readNewc(t, buf.Bytes()))["bin/prog"].data
}

// checkStripped checks that stripped is orig without its debug sections
// and symbol table: every other section holds the same bytes, the loader's
// view (entry point and program headers) is the same, and it runs.
func checkStripped(t *testing.T, origPath string, stripped []byte) {
	t.Helper()
	orig, err := elf.Open(origPath)
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	got, err := elf.NewFile(bytes.NewReader(stripped))
	if err != nil {
		t.Fatalf("the packed binary is not a valid ELF file: %v", err)
	}
	fi, err := os.Stat(origPath)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(stripped)) >= fi.Size() {
		t.Errorf("packed %d bytes of a %d-byte binary with debug sections", len(stripped), fi.Size())
	}
	dropped := func(name string) bool {
		return strings.HasPrefix(name, ".debug") || strings.HasPrefix(name, ".zdebug") || name == ".symtab" || name == ".strtab"
	}
	var names []string
	for _, s := range orig.Sections {
		g := got.Section(s.Name)
		switch {
		case dropped(s.Name) && g != nil:
			t.Errorf("section %s is still there", s.Name)
		case dropped(s.Name):
		case g == nil:
			t.Errorf("section %s is gone", s.Name)
		case s.Type != elf.SHT_NOBITS:
			want, err1 := s.Data()
			have, err2 := g.Data()
			if err1 != nil || err2 != nil || !bytes.Equal(want, have) || g.Addr != s.Addr || g.Flags != s.Flags {
				t.Errorf("section %s differs (%v, %v)", s.Name, err1, err2)
			}
		}
		names = append(names, s.Name)
	}
	if got.Entry != orig.Entry || len(got.Progs) != len(orig.Progs) {
		t.Fatalf("entry %#x with %d segments, want %#x with %d", got.Entry, len(got.Progs), orig.Entry, len(orig.Progs))
	}
	for i, p := range orig.Progs {
		if got.Progs[i].ProgHeader != p.ProgHeader {
			t.Errorf("segment %d: %+v, want %+v", i, got.Progs[i].ProgHeader, p.ProgHeader)
		}
	}
	exe := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(exe, stripped, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exe).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello from a stripped binary") {
		t.Errorf("the stripped binary: %v\n%s", err, out)
	}
	t.Logf("%d -> %d bytes; sections %v", fi.Size(), len(stripped), names)
}

func TestAddBinaryStripsGo(t *testing.T) {
	bin := buildGo(t, t.TempDir())
	checkStripped(t, bin, packed(t, bin))
}

func TestAddBinaryStripsC(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hello.c", helloC)
	gcc(t, dir, "-g", "-o", "hello", "hello.c")
	bin := filepath.Join(dir, "hello")
	checkStripped(t, bin, packed(t, bin))
}

// TestStripLeavesOthersAlone checks that files planStrip does not
// understand, or that carry data it cannot place, are packed whole.
func TestStripLeavesOthersAlone(t *testing.T) {
	dir := t.TempDir()
	bin := buildGo(t, dir)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	appended := filepath.Join(dir, "appended")
	if err := os.WriteFile(appended, append(bytes.Clone(data), "a payload after the ELF file"...), 0o755); err != nil {
		t.Fatal(err)
	}
	stripped := filepath.Join(dir, "stripped")
	if err := os.WriteFile(stripped, packed(t, bin), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path string }{
		{"appended data", appended},
		{"already stripped", stripped},
		{"system binary without debug sections", systemBinary(t)},
	} {
		want, err := os.ReadFile(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := packed(t, c.path); !bytes.Equal(got, want) {
			t.Errorf("%s: packed %d bytes, want the file's %d unchanged", c.name, len(got), len(want))
		}
	}
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", []byte(elf.ELFMAG)},
		{"not ELF", []byte(strings.Repeat("#!/bin/sh\n", 20))},
		{"truncated", data[:4096]},
	} {
		if p := planStrip(bytes.NewReader(c.data), int64(len(c.data))); p != nil {
			t.Errorf("%s: planned a strip to %d bytes", c.name, p.size)
		}
	}
}

// TestExecutableFromIsNotFileFrom checks that the Writer tells the two apart
// when the same host file is added twice at one path.
func TestExecutableFromIsNotFileFrom(t *testing.T) {
	bin := buildGo(t, t.TempDir())
	w := NewWriter(&bytes.Buffer{})
	if err := w.ExecutableFrom("bin/prog", 0o755, bin); err != nil {
		t.Fatal(err)
	}
	if err := w.ExecutableFrom("bin/prog", 0o755, bin); err != nil {
		t.Errorf("adding the same executable again: %v", err)
	}
	if err := w.FileFrom("bin/prog", 0o755, bin); err == nil {
		t.Error("the stripped executable and the whole file at one path were taken as the same entry")
	}
}
