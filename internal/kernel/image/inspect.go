package image

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
)

// Kinds of kernel image Inspect recognises.
const (
	KindBzImage = "bzImage"
	KindELF     = "elf"
)

// Info describes a kernel image file.
type Info struct {
	// Kind is KindBzImage or KindELF.
	Kind string
	// HasPVH reports a Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY), which
	// QEMU needs to boot an ELF vmlinux directly. Always false for a
	// bzImage: the note lives in the vmlinux inside it.
	HasPVH bool
	// HasBTF reports a .BTF section. Always false for a bzImage, for the
	// same reason.
	HasBTF bool
	// Version is the kernel release, e.g. "7.3.4+deb13-amd64", or "" when
	// it could not be found.
	Version string
	// Banner is the full version string the release was taken from, e.g.
	// "7.3.4+deb13-amd64 (debian-kernel@...) #1 SMP PREEMPT_DYNAMIC ...".
	Banner string
}

// xenNotePhys32Entry is XEN_ELFNOTE_PHYS32_ENTRY from xen/interface/elfnote.h.
const xenNotePhys32Entry = 18

// Inspect reads the kernel image at path and tells what it is.
func Inspect(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, fmt.Errorf("inspect kernel image: %w", err)
	}
	defer f.Close()
	info, err := InspectReader(f)
	if err != nil {
		return Info{}, fmt.Errorf("inspect %s: %w", path, err)
	}
	return info, nil
}

// InspectReader is Inspect for an image already open.
func InspectReader(r io.ReaderAt) (Info, error) {
	magic := make([]byte, 4)
	if _, err := r.ReadAt(magic, 0); err != nil {
		return Info{}, fmt.Errorf("read image magic: %w (empty or truncated file?)", err)
	}
	if bytes.Equal(magic, magicELF) {
		return inspectELF(r)
	}
	h, err := readHeader(r)
	if err != nil {
		return Info{}, fmt.Errorf("neither an ELF vmlinux nor a bzImage: %w", err)
	}
	banner := bzImageVersion(r, h)
	return Info{Kind: KindBzImage, Version: firstField(banner), Banner: banner}, nil
}

// inspectELF looks for the PVH note, .BTF and the banner in a vmlinux.
func inspectELF(r io.ReaderAt) (Info, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return Info{}, fmt.Errorf("parse ELF: %w", err)
	}
	info := Info{Kind: KindELF, HasBTF: f.Section(".BTF") != nil}
	for _, p := range f.Progs {
		if p.Type == elf.PT_NOTE && hasPVHNote(p.Open(), f.ByteOrder) {
			info.HasPVH = true
		}
	}
	// Some link layouts put notes only in sections; look there too.
	for _, s := range f.Sections {
		if !info.HasPVH && s.Type == elf.SHT_NOTE && hasPVHNote(s.Open(), f.ByteOrder) {
			info.HasPVH = true
		}
	}
	if s := f.Section(".rodata"); s != nil && s.Type != elf.SHT_NOBITS {
		if data, err := s.Data(); err == nil {
			info.Banner = elfBanner(data)
			info.Version = firstField(info.Banner)
		}
	}
	return info, nil
}

// hasPVHNote walks an ELF note segment looking for the Xen PVH entry note.
func hasPVHNote(r io.Reader, bo binary.ByteOrder) bool {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return false
	}
	for len(data) >= 12 {
		namesz := uint64(bo.Uint32(data[0:]))
		descsz := uint64(bo.Uint32(data[4:]))
		typ := bo.Uint32(data[8:])
		data = data[12:]
		descEnd := align4(namesz) + align4(descsz)
		if descEnd > uint64(len(data)) {
			return false
		}
		name := strings.TrimRight(string(data[:namesz]), "\x00")
		if name == "Xen" && typ == xenNotePhys32Entry {
			return true
		}
		data = data[descEnd:]
	}
	return false
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// elfBanner finds linux_banner ("Linux version 7.3.4 (...) ...") in .rodata
// and returns what follows "Linux version ".
func elfBanner(rodata []byte) string {
	const prefix = "Linux version "
	// The banner is followed by a digit; other strings in .rodata quote the
	// phrase in format strings ("Linux version %s").
	for off := 0; ; {
		i := bytes.Index(rodata[off:], []byte(prefix))
		if i < 0 {
			return ""
		}
		start := off + i + len(prefix)
		if start < len(rodata) && rodata[start] >= '0' && rodata[start] <= '9' {
			end := bytes.IndexAny(rodata[start:], "\x00\n")
			if end < 0 {
				end = len(rodata) - start
			}
			return string(rodata[start : start+end])
		}
		off = start
	}
}

// firstField returns the release part of a version banner.
func firstField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
