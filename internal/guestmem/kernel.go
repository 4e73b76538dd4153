package guestmem

import (
	"encoding/binary"
	"fmt"
)

// kernelImageBase is __START_KERNEL_map: kernel image addresses are this
// plus the physical address (plus phys_base when the kernel moved).
const kernelImageBase = 0xffffffff80000000

// Reader reads guest-physical memory. [Memory] reads a running QEMU; tests
// use a byte image.
type Reader interface {
	ReadAt(p []byte, pa uint64) error
}

// Kernel reads a guest kernel's memory by virtual address: the kernel
// image (global variables) and the direct map (kmalloc'ed and per-CPU
// memory).
type Kernel struct {
	mem        Reader
	physBase   uint64
	pageOffset uint64
	// pgd is the physical address of the kernel's top page table
	// (init_top_pgt), 0 if unknown; levels is 4 or 5.
	pgd    uint64
	levels int
}

// Symbols the translation needs, as the guest's /proc/kallsyms gives them.
const (
	SymPhysBase       = "phys_base"
	SymPageOffsetBase = "page_offset_base"
	// SymTopPGT is the kernel's top page table, through which addresses
	// outside the image and the direct map (vmalloc, and with it most
	// per-CPU memory allocated after boot) are translated. Optional.
	SymTopPGT = "init_top_pgt"
)

// fiveLevelTop is the lowest kernel address with 4-level paging: a direct
// map below it means 5-level paging (57-bit addresses).
const fiveLevelTop = 0xffff800000000000

// NewKernel reads phys_base and page_offset_base (never hard-coded: 5-level
// paging and KASLR move the direct map) through their symbol addresses.
func NewKernel(mem Reader, syms map[string]uint64) (*Kernel, error) {
	k := &Kernel{mem: mem}
	pb, ok := syms[SymPhysBase]
	if !ok {
		return nil, fmt.Errorf("guestmem: symbol %s missing", SymPhysBase)
	}
	// phys_base is itself in the image: with phys_base 0 its own address
	// translates directly, and a relocated kernel would make this read
	// wrong, which the page_offset_base sanity check below catches.
	var err error
	if k.physBase, err = u64(mem, pb-kernelImageBase); err != nil {
		return nil, err
	}
	pob, ok := syms[SymPageOffsetBase]
	if !ok {
		return nil, fmt.Errorf("guestmem: symbol %s missing", SymPageOffsetBase)
	}
	if k.pageOffset, err = u64(mem, k.ImagePhys(pob)); err != nil {
		return nil, err
	}
	if k.pageOffset>>47 == 0 {
		return nil, fmt.Errorf("guestmem: page_offset_base %#x is not a kernel address; is the guest booted with nokaslr?", k.pageOffset)
	}
	if p, ok := syms[SymTopPGT]; ok {
		k.pgd, k.levels = k.ImagePhys(p), 4
		if k.pageOffset < fiveLevelTop {
			k.levels = 5
		}
	}
	return k, nil
}

// ImagePhys translates an address in the kernel image (a global variable).
func (k *Kernel) ImagePhys(va uint64) uint64 { return va - kernelImageBase + k.physBase }

// DirectPhys translates an address in the direct map (kmalloc'ed memory).
func (k *Kernel) DirectPhys(va uint64) uint64 { return va - k.pageOffset }

// Phys translates a kernel virtual address in the image or the direct map.
// Other addresses (vmalloc, user space) are refused: a pointer read from a
// structure the guest was changing at that moment can be anything.
func (k *Kernel) Phys(va uint64) (uint64, error) {
	switch {
	case va >= kernelImageBase:
		return k.ImagePhys(va), nil
	case va >= k.pageOffset && va-k.pageOffset < 1<<46:
		return k.DirectPhys(va), nil
	case k.pgd != 0 && va >= 0xff00000000000000:
		return k.walk(va)
	}
	return 0, fmt.Errorf("guestmem: %#x is not a kernel address the host can translate", va)
}

// Page table entry bits (x86-64).
const (
	ptePresent = 1 << 0
	pteHuge    = 1 << 7 // a 1 GiB page at the PUD, 2 MiB at the PMD
	pteAddr    = 0x000ffffffffff000
)

// walk translates va through the kernel's page tables, as the MMU does.
func (k *Kernel) walk(va uint64) (uint64, error) {
	table := k.pgd
	for level := k.levels; level >= 1; level-- {
		shift := 12 + 9*uint(level-1)
		e, err := u64(k.mem, table+8*((va>>shift)&511))
		if err != nil {
			return 0, err
		}
		if e&ptePresent == 0 {
			return 0, fmt.Errorf("guestmem: %#x is not mapped", va)
		}
		if level == 1 || (level <= 3 && e&pteHuge != 0) {
			mask := uint64(1)<<shift - 1
			return (e&pteAddr)&^mask | va&mask, nil
		}
		table = e & pteAddr
	}
	panic("unreachable")
}

// Read fills p from kernel virtual address va.
func (k *Kernel) Read(p []byte, va uint64) error {
	pa, err := k.Phys(va)
	if err != nil {
		return err
	}
	return k.mem.ReadAt(p, pa)
}

// U64 reads the 64-bit word at kernel virtual address va.
func (k *Kernel) U64(va uint64) (uint64, error) {
	pa, err := k.Phys(va)
	if err != nil {
		return 0, err
	}
	return u64(k.mem, pa)
}

// Pointer reads a kernel pointer stored at image address va.
func (k *Kernel) Pointer(va uint64) (uint64, error) { return u64(k.mem, k.ImagePhys(va)) }

func u64(r Reader, pa uint64) (uint64, error) {
	var b [8]byte
	if err := r.ReadAt(b[:], pa); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}
