package initramfs

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unicode/utf8"
)

// IsELFExecutable returns nil if path is an executable ELF binary for the
// machine this program runs on, and otherwise an error that says what path
// is instead: missing, not a regular file, lacking execute permission, not
// ELF (naming what it looks like, such as a shell script), an ELF file that
// is not an executable, or one built for another machine.
func IsELFExecutable(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("initramfs: binary %s does not exist; check the path, or build the binary first", path)
	}
	if err != nil {
		return fmt.Errorf("initramfs: cannot inspect binary %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("initramfs: binary %s is %s, not a regular file; give the path of the executable itself", path, describeMode(fi.Mode()))
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("initramfs: binary %s is not executable (mode %v); make it executable with chmod +x", path, fi.Mode())
	}
	f, err := openELF(path)
	if err != nil {
		return err
	}
	defer f.Close()
	switch f.Type {
	case elf.ET_EXEC, elf.ET_DYN:
	case elf.ET_REL:
		return fmt.Errorf("initramfs: %s is a relocatable ELF object (.o), not an executable; link it into a program first", path)
	case elf.ET_CORE:
		return fmt.Errorf("initramfs: %s is an ELF core dump, not an executable", path)
	default:
		return fmt.Errorf("initramfs: %s is an ELF file of type %v, not an executable", path, f.Type)
	}
	return checkMachine(path, f.File, hostMachine())
}

// machine identifies the ELF class and machine that objects must have to
// run together in one process.
type machine struct {
	class elf.Class
	mach  elf.Machine
}

// String describes m for error messages, e.g. "EM_X86_64 (ELFCLASS64)".
func (m machine) String() string {
	return fmt.Sprintf("%v (%v)", m.mach, m.class)
}

// machineOf returns the class and machine of f.
func machineOf(f *elf.File) machine {
	return machine{class: f.Class, mach: f.Machine}
}

// hostMachine returns the ELF class and machine of binaries that run on
// this host, as judged by the architecture this program was built for.
func hostMachine() machine {
	switch runtime.GOARCH {
	case "amd64":
		return machine{elf.ELFCLASS64, elf.EM_X86_64}
	case "arm64":
		return machine{elf.ELFCLASS64, elf.EM_AARCH64}
	case "386":
		return machine{elf.ELFCLASS32, elf.EM_386}
	case "arm":
		return machine{elf.ELFCLASS32, elf.EM_ARM}
	case "riscv64":
		return machine{elf.ELFCLASS64, elf.EM_RISCV}
	case "ppc64", "ppc64le":
		return machine{elf.ELFCLASS64, elf.EM_PPC64}
	case "s390x":
		return machine{elf.ELFCLASS64, elf.EM_S390}
	case "loong64":
		return machine{elf.ELFCLASS64, elf.EM_LOONGARCH}
	}
	return machine{}
}

// checkMachine returns an error if f, read from path, is not for want.
func checkMachine(path string, f *elf.File, want machine) error {
	if want == (machine{}) {
		return nil // unknown host architecture: nothing to compare with
	}
	if got := machineOf(f); got != want {
		return fmt.Errorf("initramfs: %s is an ELF binary for %v, but this machine runs %s binaries, %v; build it for %s", path, got, runtime.GOARCH, want, runtime.GOARCH)
	}
	return nil
}

// openELF opens path as an ELF file. If path is not ELF, the error says
// what the file looks like instead.
func openELF(path string) (*elfFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	var head [512]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, fmt.Errorf("initramfs: reading %s: %w", path, err)
	}
	if !bytes.HasPrefix(head[:n], []byte(elf.ELFMAG)) {
		f.Close()
		return nil, fmt.Errorf("initramfs: %s is not an ELF binary: it looks like %s", path, describeContent(head[:n]))
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("initramfs: %s starts like an ELF file but cannot be parsed (truncated or corrupt?): %w", path, err)
	}
	// elf.File.Close closes the underlying file only when elf.Open made it,
	// so wrap it to own f.
	return &elfFile{File: ef, f: f}, nil
}

// elfFile is an *elf.File that owns the *os.File it reads from.
type elfFile struct {
	*elf.File
	f *os.File
}

// Close closes the ELF file and the file under it.
func (e *elfFile) Close() error {
	e.File.Close()
	return e.f.Close()
}

// describeContent guesses what a non-ELF file is from its first bytes, for
// error messages: "a shell script (#!/bin/sh)", "a text file", ...
func describeContent(head []byte) string {
	magics := []struct {
		prefix, what string
	}{
		{"!<arch>\n", "an ar archive (a static library .a?)"},
		{"\x1f\x8b", "gzip-compressed data"},
		{"\xfd7zXZ\x00", "xz-compressed data"},
		{"\x28\xb5\x2f\xfd", "zstd-compressed data"},
		{"BZh", "bzip2-compressed data"},
		{"PK\x03\x04", "a zip archive"},
		{"070701", "a newc cpio archive"},
		{"MZ", "a Windows PE executable"},
		{"\xcf\xfa\xed\xfe", "a Mach-O (macOS) binary"},
		{"\xca\xfe\xba\xbe", "a Mach-O universal binary or Java class file"},
	}
	if len(head) == 0 {
		return "an empty file"
	}
	if bytes.HasPrefix(head, []byte("#!")) {
		line, _, _ := bytes.Cut(head[2:], []byte("\n"))
		line = bytes.TrimSpace(line)
		interp, _, _ := strings.Cut(string(line), " ")
		what := "a script"
		switch filepath.Base(interp) {
		case "sh", "bash", "dash", "zsh", "ksh":
			what = "a shell script"
		case "env":
			what = "a script run through env"
		}
		return fmt.Sprintf("%s (#!%s); pack the interpreter it names and give the interpreter's path, or pass the script as a plain file", what, line)
	}
	for _, m := range magics {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return m.what
		}
	}
	if utf8.Valid(head) && !bytes.ContainsRune(head, 0) {
		first, _, _ := bytes.Cut(head, []byte("\n"))
		if len(first) > 40 {
			first = first[:40]
		}
		return fmt.Sprintf("a text file (first line %q)", first)
	}
	n := min(len(head), 8)
	return fmt.Sprintf("data of unknown type (first bytes % x)", head[:n])
}
