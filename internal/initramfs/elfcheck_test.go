package initramfs

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// systemBinary returns the resolved path of a dynamically or statically
// linked system executable, skipping the test if there is none.
func systemBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/bin/sh", "/usr/bin/env", "/bin/true"} {
		if real, err := filepath.EvalSymlinks(p); err == nil && IsELFExecutable(real) == nil {
			return real
		}
	}
	t.Skip("no ELF /bin/sh, /usr/bin/env or /bin/true on this host")
	return ""
}

// patchedCopy copies the ELF file src to dst and overwrites the 16-bit
// header field at offset off (16 is e_type, 18 is e_machine) with v.
func patchedCopy(t *testing.T, src, dst string, off int, v uint16, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint16(b[off:], v)
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

// otherMachine is an ELF machine that is not this host's.
func otherMachine() elf.Machine {
	if hostMachine().mach == elf.EM_AARCH64 {
		return elf.EM_X86_64
	}
	return elf.EM_AARCH64
}

func TestIsELFExecutable(t *testing.T) {
	sys := systemBinary(t)
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	foreign := filepath.Join(dir, "foreign")
	patchedCopy(t, sys, foreign, 18, uint16(otherMachine()), 0o755)
	object := filepath.Join(dir, "object.o")
	patchedCopy(t, sys, object, 16, uint16(elf.ET_REL), 0o755)
	if err := os.Symlink(sys, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}

	if err := IsELFExecutable(sys); err != nil {
		t.Errorf("IsELFExecutable(%s) = %v, want nil", sys, err)
	}
	if err := IsELFExecutable(filepath.Join(dir, "link")); err != nil {
		t.Errorf("IsELFExecutable(symlink to %s) = %v, want nil", sys, err)
	}
	for _, tc := range []struct {
		name  string
		path  string
		wants []string
	}{
		{"missing", filepath.Join(dir, "nope"), []string{"nope", "does not exist"}},
		{"directory", dir, []string{"a directory", "not a regular file"}},
		{"not executable", write("plain", "\x7fELF", 0o644), []string{"not executable", "chmod +x"}},
		{"shell script", write("script.sh", "#!/bin/sh\necho hi\n", 0o755), []string{"not an ELF", "a shell script (#!/bin/sh)"}},
		{"env script", write("script.py", "#!/usr/bin/env python3\n", 0o755), []string{"script run through env", "#!/usr/bin/env python3"}},
		{"text", write("notes", "just some words\nmore\n", 0o755), []string{"a text file", "just some words"}},
		{"empty", write("empty", "", 0o755), []string{"an empty file"}},
		{"gzip", write("data.gz", "\x1f\x8b\x08\x00\x00", 0o755), []string{"gzip"}},
		{"ar", write("lib.a", "!<arch>\nfoo", 0o755), []string{"ar archive"}},
		{"binary junk", write("junk", "\x00\x01\x02\xff\xfe", 0o755), []string{"unknown type", "00 01 02 ff fe"}},
		{"truncated ELF", write("trunc", "\x7fELF\x02\x01\x01", 0o755), []string{"cannot be parsed"}},
		{"wrong machine", foreign, []string{otherMachine().String(), "build it for"}},
		{"relocatable", object, []string{"relocatable"}},
	} {
		err := IsELFExecutable(tc.path)
		if err == nil {
			t.Errorf("%s: IsELFExecutable(%s) = nil, want an error", tc.name, tc.path)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
	}
}
