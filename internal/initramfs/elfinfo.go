package initramfs

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"strings"
)

// elfInfo is what the closure search needs from one ELF object.
type elfInfo struct {
	machine    machine
	interp     string   // PT_INTERP, "" if none
	needed     []string // DT_NEEDED, in order
	soname     string   // DT_SONAME, "" if none
	rpath      []string // DT_RPATH entries; empty when DT_RUNPATH is present
	runpath    []string // DT_RUNPATH entries
	hasRunpath bool     // DT_RUNPATH is present (it disables DT_RPATH)
}

// readELFInfo reads the interpreter, dependencies and search paths of the
// ELF file at path.
func readELFInfo(path string) (*elfInfo, error) {
	f, err := openELF(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info := &elfInfo{machine: machineOf(f.File)}
	hasDynamic := false
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			b, err := io.ReadAll(p.Open())
			if err != nil {
				return nil, fmt.Errorf("initramfs: reading the PT_INTERP of %s: %w", path, err)
			}
			info.interp = string(bytes.TrimRight(b, "\x00"))
		case elf.PT_DYNAMIC:
			hasDynamic = true
		}
	}
	if hasDynamic && f.SectionByType(elf.SHT_DYNAMIC) == nil {
		return nil, fmt.Errorf("initramfs: %s has a dynamic segment but no section headers (stripped with sstrip?), so its libraries cannot be read; use a binary stripped with plain strip", path)
	}
	dyn := func(tag elf.DynTag) ([]string, error) {
		v, err := f.DynString(tag)
		if err != nil {
			return nil, fmt.Errorf("initramfs: reading %v of %s: %w", tag, path, err)
		}
		return v, nil
	}
	if info.needed, err = dyn(elf.DT_NEEDED); err != nil {
		return nil, err
	}
	sonames, err := dyn(elf.DT_SONAME)
	if err != nil {
		return nil, err
	}
	if len(sonames) > 0 {
		info.soname = sonames[0]
	}
	runpath, err := dyn(elf.DT_RUNPATH)
	if err != nil {
		return nil, err
	}
	if len(runpath) > 0 {
		info.hasRunpath = true
		info.runpath = splitSearchPath(strings.Join(runpath, ":"), ":")
		return info, nil
	}
	rpath, err := dyn(elf.DT_RPATH)
	if err != nil {
		return nil, err
	}
	info.rpath = splitSearchPath(strings.Join(rpath, ":"), ":")
	return info, nil
}

// splitSearchPath splits a list of directories at any byte in seps (":"
// for DT_RPATH and DT_RUNPATH, ":;" for LD_LIBRARY_PATH, as in glibc) and
// drops empty entries.
func splitSearchPath(s, seps string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) })
}
