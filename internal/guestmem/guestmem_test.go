package guestmem

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// A QEMU memory map with two 256 MiB nodes (QEMU 7.2, trimmed).
const qemuMaps = `5597ab63f000-5597aba46000 r--p 00000000 fe:00 10166278                   /usr/bin/qemu-system-x86_64
5597c8c49000-5597c9b78000 rw-p 00000000 00:00 0                          [heap]
7ff572e00000-7ff573000000 rw-p 00000000 00:00 0
7ff573c00000-7ff583c00000 rw-p 00000000 00:00 0
7ff583e00000-7ff593e00000 rw-p 00000000 00:00 0
7ff594000000-7ff5a4000000 rwxp 00000000 00:00 0
7ff5a4000000-7ff5b4000000 rw-s 00000000 00:01 42                         /memfd:x (deleted)
`

func TestRAMMappings(t *testing.T) {
	p := filepath.Join(t.TempDir(), "maps")
	if err := os.WriteFile(p, []byte(qemuMaps), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := ramMappings(f, 256<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := []region{{0x7ff573c00000, 256 << 20}, {0x7ff583e00000, 256 << 20}}
	if len(rs) != 2 || rs[0] != want[0] || rs[1] != want[1] {
		t.Errorf("mappings %x, want %x", rs, want)
	}
}

// TestHostAddr places guest-physical addresses in the nodes' mappings,
// across q35's PCI hole.
func TestHostAddr(t *testing.T) {
	m := &Memory{nodes: []region{{0x1000_0000_0000, 2 << 30}, {0x2000_0000_0000, 2 << 30}}, lowmem: q35Lowmem}
	for _, tt := range []struct {
		pa, want uint64
		ok       bool
	}{
		{0x1000, 0x1000_0000_1000, true},
		{q35Lowmem, 0, false},             // the PCI hole
		{fourGiB, 0x2000_0000_0000, true}, // node 0 ends at the hole
		{fourGiB + 8, 0x2000_0000_0008, true},
		{fourGiB + 4<<30, 0, false},
	} {
		got, err := m.hostAddr(tt.pa, 8)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("hostAddr(%#x) = %#x, %v; want %#x, ok %v", tt.pa, got, err, tt.want, tt.ok)
		}
	}
}

// TestPageWalk translates a vmalloc address through 5-level page tables
// built in an image, with a 4 KiB page and a 2 MiB page.
func TestPageWalk(t *testing.T) {
	img := make(Image, 8<<20)
	put := func(pa, v uint64) { binary.LittleEndian.PutUint64(img[pa:], v) }
	const pob = 0xff11000000000000
	put(0x1008, pob) // page_offset_base
	syms := map[string]uint64{SymPhysBase: kernelImageBase + 0x1000, SymPageOffsetBase: kernelImageBase + 0x1008, SymTopPGT: kernelImageBase + 0x10000}
	va := uint64(0xffa0_0012_3456_7890) // a vmalloc address
	idx := func(level int) uint64 { return (va >> (12 + 9*uint(level-1))) & 511 }
	tables := []uint64{0x10000, 0x11000, 0x12000, 0x13000, 0x14000}
	for i, level := range []int{5, 4, 3, 2, 1} {
		next := uint64(0x200000) // the data page
		if i+1 < len(tables) {
			next = tables[i+1]
		}
		put(tables[i]+8*idx(level), next|ptePresent)
	}
	k, err := NewKernel(img, syms)
	if err != nil {
		t.Fatal(err)
	}
	if pa, err := k.Phys(va); err != nil || pa != 0x200000|va&0xfff {
		t.Errorf("Phys(%#x) = %#x, %v; want %#x", va, pa, err, 0x200000|va&0xfff)
	}
	// A 2 MiB page at the PMD.
	put(tables[3]+8*idx(2), 0x400000|ptePresent|pteHuge)
	if pa, err := k.Phys(va); err != nil || pa != 0x400000|va&(1<<21-1) {
		t.Errorf("Phys through a 2 MiB page = %#x, %v", pa, err)
	}
	if _, err := k.Phys(va + 1<<39); err == nil {
		t.Error("an unmapped address translated")
	}
}
