// Package imagetest builds small fake kernel images for tests: a minimal
// x86-64 vmlinux ELF with the notes and sections the harness looks for, and a
// bzImage wrapping a compressed payload the way the kernel build does.
package imagetest

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// ELFOptions selects what the fake vmlinux carries.
type ELFOptions struct {
	// PVH adds the Xen PVH entry note.
	PVH bool
	// BTF adds a .BTF section.
	BTF bool
	// Release, if set, puts "Linux version <Release> (...)" in .rodata.
	Release string
	// Trailer is appended after the ELF proper, as the kernel build appends
	// relocations before compressing.
	Trailer []byte
}

// ELF returns a minimal little-endian x86-64 ELF file that debug/elf can
// parse.
func ELF(o ELFOptions) []byte {
	le := binary.LittleEndian
	// Notes: a GNU build-id first, so readers must walk past it.
	var notes bytes.Buffer
	note := func(name string, typ uint32, desc []byte) {
		n := append([]byte(name), 0)
		binary.Write(&notes, le, uint32(len(n)))
		binary.Write(&notes, le, uint32(len(desc)))
		binary.Write(&notes, le, typ)
		notes.Write(pad4(n))
		notes.Write(pad4(desc))
	}
	note("GNU", 3, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	if o.PVH {
		note("Xen", 18, []byte{0x00, 0x00, 0x00, 0x01})
	}
	rodata := []byte("printk: Linux version %s\x00")
	if o.Release != "" {
		rodata = append(rodata, []byte("Linux version "+o.Release+" (test@example) #1 SMP\n\x00")...)
	}
	type sec struct {
		name string
		typ  uint32
		data []byte
	}
	secs := []sec{{".notes", 7 /* SHT_NOTE */, notes.Bytes()}, {".rodata", 1, rodata}}
	if o.BTF {
		secs = append(secs, sec{".BTF", 1, []byte{0x9f, 0xeb, 1, 0, 24, 0, 0, 0}})
	}
	shstr := []byte{0}
	nameOff := make([]uint32, len(secs)+1)
	for i, s := range secs {
		nameOff[i] = uint32(len(shstr))
		shstr = append(shstr, append([]byte(s.name), 0)...)
	}
	nameOff[len(secs)] = uint32(len(shstr))
	shstr = append(shstr, []byte(".shstrtab\x00")...)
	secs = append(secs, sec{".shstrtab", 3 /* SHT_STRTAB */, shstr})

	const ehsize, phentsize, shentsize = 64, 56, 64
	var body bytes.Buffer
	offs := make([]uint64, len(secs))
	base := uint64(ehsize + phentsize)
	for i, s := range secs {
		for (base+uint64(body.Len()))%8 != 0 {
			body.WriteByte(0)
		}
		offs[i] = base + uint64(body.Len())
		body.Write(s.data)
	}
	for (base+uint64(body.Len()))%8 != 0 {
		body.WriteByte(0)
	}
	shoff := base + uint64(body.Len())

	var out bytes.Buffer
	w := func(v any) { binary.Write(&out, le, v) }
	out.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0})
	out.Write(make([]byte, 8))
	w(uint16(2))                 // ET_EXEC
	w(uint16(62))                // EM_X86_64
	w(uint32(1))                 // EV_CURRENT
	w(uint64(0x1000000))         // e_entry
	w(uint64(ehsize))            // e_phoff
	w(shoff)                     // e_shoff
	w(uint32(0))                 // e_flags
	w(uint16(ehsize))            // e_ehsize
	w(uint16(phentsize))         // e_phentsize
	w(uint16(1))                 // e_phnum
	w(uint16(shentsize))         // e_shentsize
	w(uint16(len(secs) + 1))     // e_shnum (plus the null section)
	w(uint16(len(secs)))         // e_shstrndx
	w(uint32(4))                 // PT_NOTE
	w(uint32(4))                 // PF_R
	w(offs[0])                   // p_offset
	w(uint64(0))                 // p_vaddr
	w(uint64(0))                 // p_paddr
	w(uint64(len(secs[0].data))) // p_filesz
	w(uint64(len(secs[0].data))) // p_memsz
	w(uint64(4))                 // p_align
	out.Write(body.Bytes())
	out.Write(make([]byte, shentsize)) // the null section
	for i, s := range secs {
		w(nameOff[i])
		w(s.typ)
		w(uint64(2)) // SHF_ALLOC
		w(uint64(0))
		w(offs[i])
		w(uint64(len(s.data)))
		w(uint32(0))
		w(uint32(0))
		w(uint64(1))
		w(uint64(0))
	}
	out.Write(o.Trailer)
	return out.Bytes()
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// BzImage wraps an already compressed payload in an x86 boot sector and
// setup header, with banner as the kernel version string.
func BzImage(payload []byte, banner string) []byte {
	const setupSects = 4
	const payloadOffset = 0x100 // some "decompressor code" before the payload
	le := binary.LittleEndian
	img := make([]byte, (setupSects+1)*512+payloadOffset)
	img[0x1f1] = setupSects
	le.PutUint16(img[0x1fe:], 0xaa55)
	copy(img[0x202:], "HdrS")
	le.PutUint16(img[0x206:], 0x020f)
	copy(img[0x400:], banner+"\x00")
	le.PutUint16(img[0x20e:], 0x400-0x200)
	le.PutUint32(img[0x248:], payloadOffset)
	le.PutUint32(img[0x24c:], uint32(len(payload)))
	img = append(img, payload...)
	return append(img, make([]byte, 64)...) // padding, as real images have
}

// sizeTrailer appends the 4-byte decompressed size the kernel build adds.
func sizeTrailer(comp []byte, n int) []byte {
	return binary.LittleEndian.AppendUint32(comp, uint32(n))
}

// Zstd compresses data as the kernel build does for CONFIG_KERNEL_ZSTD.
func Zstd(data []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		panic(err)
	}
	defer enc.Close()
	return sizeTrailer(enc.EncodeAll(data, nil), len(data))
}

// Gzip compresses data as the kernel build does for CONFIG_KERNEL_GZIP.
func Gzip(data []byte) []byte {
	var b bytes.Buffer
	g := gzip.NewWriter(&b)
	g.Write(data)
	g.Close()
	return b.Bytes()
}

// Xz compresses data as the kernel build does for CONFIG_KERNEL_XZ.
func Xz(data []byte) []byte {
	var b bytes.Buffer
	x, err := xz.NewWriter(&b)
	if err != nil {
		panic(err)
	}
	x.Write(data)
	x.Close()
	return sizeTrailer(b.Bytes(), len(data))
}
