package initramfs

import (
	"bytes"
	"cmp"
	"debug/elf"
	"encoding/binary"
	"io"
	"slices"
	"strings"
)

// Executables are packed without the sections only debuggers and
// symbolizers read: DWARF (.debug_*, .zdebug_*) and the static symbol
// table (.symtab with its string table). Neither the kernel, the dynamic
// loader nor the Go runtime (which symbolizes from .gopclntab) reads them.
// The guest kernel copies every byte of the archive into its root file
// system at boot, which under TCG costs about 20 ms per MB; these sections
// are about 30 % of a Go test binary (4.9 of 15.9 MB), so the copy is what
// strip(1) would make, computed on the fly.

// The sizes of the ELF64 file header, section header and program header.
const (
	elf64HeaderSize  = 64
	elf64SectionSize = 64
	elf64ProgSize    = 56
)

// stripPlan is how to write an ELF file without its debug sections and
// static symbol table: a new ELF header, the file's bytes up to cut
// unchanged, the kept sections that lay beyond cut moved down, and a new
// section header table.
type stripPlan struct {
	header []byte  // the new ELF header, in place of the file's
	cut    int64   // the file's bytes [len(header), cut) are kept as they are
	moved  []moved // kept sections beyond cut, in file order
	shoff  int64   // where the new section header table goes
	shdrs  []byte  // the new section header table
	size   int64   // the size of the stripped file
}

// moved is a section copied from offset from in the file to offset to.
type moved struct{ from, to, n int64 }

// reader returns the stripped file's bytes, reading the original from r.
func (p *stripPlan) reader(r io.ReaderAt) io.Reader {
	parts := []io.Reader{bytes.NewReader(p.header), io.NewSectionReader(r, int64(len(p.header)), p.cut-int64(len(p.header)))}
	at := p.cut
	for _, m := range p.moved {
		parts = append(parts, zeros(m.to-at), io.NewSectionReader(r, m.from, m.n))
		at = m.to + m.n
	}
	return io.MultiReader(append(parts, zeros(p.shoff-at), bytes.NewReader(p.shdrs))...)
}

func zeros(n int64) io.Reader { return bytes.NewReader(make([]byte, n)) }

// planStrip plans the stripped copy of the file r of size bytes. It returns
// nil when there is nothing to strip or the file is not a 64-bit
// little-endian ELF file laid out the way linkers write them (everything
// the loader reads before the sections to drop, nothing after the last
// section or header table): such a file is packed as it is.
func planStrip(r io.ReaderAt, size int64) *stripPlan {
	if size < elf64HeaderSize {
		return nil
	}
	hb := make([]byte, elf64HeaderSize)
	if _, err := r.ReadAt(hb, 0); err != nil {
		return nil
	}
	if string(hb[:4]) != elf.ELFMAG || elf.Class(hb[elf.EI_CLASS]) != elf.ELFCLASS64 || elf.Data(hb[elf.EI_DATA]) != elf.ELFDATA2LSB {
		return nil
	}
	var eh elf.Header64
	if binary.Read(bytes.NewReader(hb), binary.LittleEndian, &eh) != nil {
		return nil
	}
	n := int(eh.Shnum)
	if eh.Shentsize != elf64SectionSize || n == 0 || int(eh.Shstrndx) >= n || eh.Shstrndx == 0 ||
		(eh.Phnum > 0 && eh.Phentsize != elf64ProgSize) {
		return nil // no section headers, or extended numbering
	}
	within := func(off, length uint64) bool { return off <= uint64(size) && length <= uint64(size)-off }
	if !within(eh.Shoff, uint64(n)*elf64SectionSize) || !within(eh.Phoff, uint64(eh.Phnum)*elf64ProgSize) {
		return nil
	}
	secs := make([]elf.Section64, n)
	if binary.Read(io.NewSectionReader(r, int64(eh.Shoff), int64(n)*elf64SectionSize), binary.LittleEndian, secs) != nil {
		return nil
	}
	progs := make([]elf.Prog64, eh.Phnum)
	if binary.Read(io.NewSectionReader(r, int64(eh.Phoff), int64(eh.Phnum)*elf64ProgSize), binary.LittleEndian, progs) != nil {
		return nil
	}
	// fileBytes reports whether section s occupies bytes of the file, and
	// checks that they are inside it.
	valid := true
	fileBytes := func(s elf.Section64) bool {
		if elf.SectionType(s.Type) == elf.SHT_NOBITS || s.Size == 0 {
			return false
		}
		if !within(s.Off, s.Size) {
			valid = false
		}
		return true
	}
	names := make([]byte, secs[eh.Shstrndx].Size)
	if !fileBytes(secs[eh.Shstrndx]) || !valid {
		return nil
	}
	if _, err := r.ReadAt(names, int64(secs[eh.Shstrndx].Off)); err != nil {
		return nil
	}
	name := func(s elf.Section64) string {
		if int(s.Name) >= len(names) {
			return ""
		}
		b := names[s.Name:]
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		return string(b)
	}

	drop := make([]bool, n)
	for i, s := range secs[1:] {
		nm := name(s)
		if s.Flags&uint64(elf.SHF_ALLOC) == 0 && (elf.SectionType(s.Type) == elf.SHT_SYMTAB ||
			strings.HasPrefix(nm, ".debug") || strings.HasPrefix(nm, ".zdebug")) {
			drop[i+1] = true
		}
	}
	for _, s := range secs {
		// The string table of a dropped symbol table goes with it, unless
		// it also names the sections.
		if elf.SectionType(s.Type) == elf.SHT_SYMTAB && s.Flags&uint64(elf.SHF_ALLOC) == 0 &&
			s.Link != 0 && int(s.Link) < n && s.Link != uint32(eh.Shstrndx) && secs[s.Link].Flags&uint64(elf.SHF_ALLOC) == 0 {
			drop[s.Link] = true
		}
	}
	// A kept section that refers to a dropped one would dangle.
	for i, s := range secs {
		if drop[i] {
			continue
		}
		if int(s.Link) < n && drop[s.Link] {
			return nil
		}
		t := elf.SectionType(s.Type)
		infoIsSection := t == elf.SHT_REL || t == elf.SHT_RELA || s.Flags&uint64(elf.SHF_INFO_LINK) != 0
		if infoIsSection && int(s.Info) < n && drop[s.Info] {
			return nil
		}
	}

	// cut is where the first dropped byte is; the loader's segments, the
	// allocated sections and the header must lie before it.
	cut := size
	end := eh.Shoff + uint64(n)*elf64SectionSize
	for i, s := range secs {
		if fileBytes(s) {
			end = max(end, s.Off+s.Size)
			if drop[i] {
				cut = min(cut, int64(s.Off))
			}
		}
	}
	if !valid || cut == size {
		return nil
	}
	for _, p := range progs {
		if !within(p.Off, p.Filesz) || (p.Filesz > 0 && int64(p.Off+p.Filesz) > cut) {
			return nil
		}
		end = max(end, p.Off+p.Filesz)
	}
	if end != uint64(size) {
		return nil // data after the last section: an appended payload, say
	}
	if cut < elf64HeaderSize || (eh.Phnum > 0 && int64(eh.Phoff)+int64(eh.Phnum)*elf64ProgSize > cut) {
		return nil
	}

	// Kept sections beyond cut move down, in file order, each at its
	// alignment; none may overlap a dropped one or straddle cut.
	var after []int
	for i, s := range secs {
		if drop[i] || !fileBytes(s) || int64(s.Off+s.Size) <= cut {
			continue
		}
		if int64(s.Off) < cut {
			return nil
		}
		for j, d := range secs {
			if drop[j] && fileBytes(d) && s.Off < d.Off+d.Size && d.Off < s.Off+s.Size {
				return nil
			}
		}
		after = append(after, i)
	}
	slices.SortFunc(after, func(a, b int) int { return cmp.Compare(secs[a].Off, secs[b].Off) })
	p := &stripPlan{cut: cut}
	at := cut
	for _, i := range after {
		s := &secs[i]
		at = alignUp(at, int64(max(s.Addralign, 1)))
		p.moved = append(p.moved, moved{from: int64(s.Off), to: at, n: int64(s.Size)})
		s.Off = uint64(at)
		at += int64(s.Size)
	}
	p.shoff = alignUp(at, 8)

	// The new section header table: kept sections renumbered, their links
	// to each other with them. A section that occupies no file bytes
	// keeps an offset inside the file.
	index := make([]uint32, n)
	kept := 0
	for i := range secs {
		if !drop[i] {
			index[i] = uint32(kept)
			kept++
		}
	}
	var shdrs bytes.Buffer
	for i, s := range secs {
		if drop[i] {
			continue
		}
		if !fileBytes(s) && int64(s.Off) > cut {
			s.Off = uint64(cut)
		}
		if s.Link != 0 && int(s.Link) < n {
			s.Link = index[s.Link]
		}
		t := elf.SectionType(s.Type)
		if (t == elf.SHT_REL || t == elf.SHT_RELA || s.Flags&uint64(elf.SHF_INFO_LINK) != 0) && s.Info != 0 && int(s.Info) < n {
			s.Info = index[s.Info]
		}
		_ = binary.Write(&shdrs, binary.LittleEndian, s)
	}
	p.shdrs = shdrs.Bytes()
	eh.Shoff = uint64(p.shoff)
	eh.Shnum = uint16(kept)
	eh.Shstrndx = uint16(index[eh.Shstrndx])
	var hdr bytes.Buffer
	_ = binary.Write(&hdr, binary.LittleEndian, eh)
	p.header = hdr.Bytes()
	p.size = p.shoff + int64(len(p.shdrs))
	return p
}

func alignUp(v, a int64) int64 { return (v + a - 1) / a * a }
