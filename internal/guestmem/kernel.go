package guestmem

import (
	"bytes"
	"debug/elf"
	"fmt"
	"sync"

	"github.com/cilium/ebpf/btf"
)

// kernelImageBase is __START_KERNEL_map: kernel image addresses are this
// plus the physical address (plus phys_base when the kernel moved).
const kernelImageBase = 0xffffffff80000000

// Kernel translates a guest kernel's virtual addresses to physical ones.
type Kernel struct {
	mem        *Memory
	physBase   uint64
	pageOffset uint64
}

// Symbols the translation needs, as the guest's /proc/kallsyms gives them.
const (
	SymPhysBase       = "phys_base"
	SymPageOffsetBase = "page_offset_base"
)

// NewKernel reads phys_base and page_offset_base (never hard-coded: 5-level
// paging and KASLR move the direct map) through their symbol addresses.
func NewKernel(mem *Memory, syms map[string]uint64) (*Kernel, error) {
	k := &Kernel{mem: mem}
	pb, ok := syms[SymPhysBase]
	if !ok {
		return nil, fmt.Errorf("guestmem: symbol %s missing", SymPhysBase)
	}
	// phys_base is itself in the image: with phys_base 0 its own address
	// translates directly, and a relocated kernel would make this read
	// wrong, which the page_offset_base sanity check below catches.
	var err error
	if k.physBase, err = mem.U64(pb - kernelImageBase); err != nil {
		return nil, err
	}
	pob, ok := syms[SymPageOffsetBase]
	if !ok {
		return nil, fmt.Errorf("guestmem: symbol %s missing", SymPageOffsetBase)
	}
	if k.pageOffset, err = mem.U64(k.ImagePhys(pob)); err != nil {
		return nil, err
	}
	if k.pageOffset>>47 == 0 {
		return nil, fmt.Errorf("guestmem: page_offset_base %#x is not a kernel address; is the guest booted with nokaslr?", k.pageOffset)
	}
	return k, nil
}

// ImagePhys translates an address in the kernel image (a global variable).
func (k *Kernel) ImagePhys(va uint64) uint64 { return va - kernelImageBase + k.physBase }

// DirectPhys translates an address in the direct map (kmalloc'ed memory).
func (k *Kernel) DirectPhys(va uint64) uint64 { return va - k.pageOffset }

// Pointer reads a kernel pointer stored at image address va.
func (k *Kernel) Pointer(va uint64) (uint64, error) { return k.mem.U64(k.ImagePhys(va)) }

// Layout holds the struct offsets the host needs, from the kernel's BTF.
type Layout struct {
	// WatchdogTimeout is the offset of scx_sched.watchdog_timeout.
	WatchdogTimeout uint64
}

var layouts sync.Map // vmlinux path → Layout or error

// LayoutOf reads the offsets from the .BTF section of the vmlinux ELF at
// path, once per path.
func LayoutOf(vmlinux string) (Layout, error) {
	if v, ok := layouts.Load(vmlinux); ok {
		if err, bad := v.(error); bad {
			return Layout{}, err
		}
		return v.(Layout), nil
	}
	l, err := readLayout(vmlinux)
	if err != nil {
		layouts.Store(vmlinux, err)
		return Layout{}, err
	}
	layouts.Store(vmlinux, l)
	return l, nil
}

func readLayout(vmlinux string) (Layout, error) {
	f, err := elf.Open(vmlinux)
	if err != nil {
		return Layout{}, fmt.Errorf("guestmem: %w", err)
	}
	defer f.Close()
	sec := f.Section(".BTF")
	if sec == nil {
		return Layout{}, fmt.Errorf("guestmem: %s has no .BTF section; build the kernel with CONFIG_DEBUG_INFO_BTF=y", vmlinux)
	}
	data, err := sec.Data()
	if err != nil {
		return Layout{}, fmt.Errorf("guestmem: %s: %w", vmlinux, err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(data))
	if err != nil {
		return Layout{}, fmt.Errorf("guestmem: %s: %w", vmlinux, err)
	}
	var s *btf.Struct
	if err := spec.TypeByName("scx_sched", &s); err != nil {
		return Layout{}, fmt.Errorf("guestmem: struct scx_sched: %w (kernel without sched_ext?)", err)
	}
	for _, m := range s.Members {
		if m.Name == "watchdog_timeout" {
			return Layout{WatchdogTimeout: uint64(m.Offset.Bytes())}, nil
		}
	}
	return Layout{}, fmt.Errorf("guestmem: struct scx_sched has no watchdog_timeout in this kernel")
}

// Watchdog returns the physical address of the running root scheduler's
// watchdog_timeout (jiffies), given the address of scx_root.
func (k *Kernel) Watchdog(scxRoot uint64, l Layout) (uint64, error) {
	sch, err := k.Pointer(scxRoot)
	if err != nil {
		return 0, err
	}
	if sch == 0 {
		return 0, fmt.Errorf("guestmem: no sched_ext scheduler is attached (scx_root is NULL)")
	}
	return k.DirectPhys(sch) + l.WatchdogTimeout, nil
}
