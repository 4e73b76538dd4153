package guestmem

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Memory is a guest's physical memory, read from the QEMU process that
// holds it: one region of QEMU's address space per NUMA node, laid out one
// after another in guest-physical address space.
//
// Reading QEMU's memory (process_vm_readv) rather than sharing guest RAM
// through files lets QEMU back RAM with its own anonymous memory, which
// gets transparent huge pages; memfd RAM gets none where the host's
// shmem_enabled is "never" (Debian's default), and TCG boots 0.27-0.40 s
// slower on 4 KiB pages.
type Memory struct {
	pid   int
	nodes []region
	// lowmem is where q35 ends RAM below 4 GiB; RAM beyond it appears from
	// 4 GiB up.
	lowmem uint64
}

// region is one node's RAM in QEMU's address space.
type region struct{ addr, size uint64 }

// q35 keeps guest RAM below 2.75 GiB contiguous; at or above that size the
// part beyond 2 GiB moves to 4 GiB, leaving room for PCI.
const (
	q35LowmemLimit = 0xb0000000
	q35Lowmem      = 0x80000000
	fourGiB        = 1 << 32
)

// Order says which of QEMU's RAM mappings of equal size belongs to which
// node. QEMU maps the nodes' RAM in node order and the host kernel places
// later mappings lower, so Descending (node 0 highest) is the usual order;
// a caller that finds the layout wrong (a per-CPU runqueue that does not
// name its CPU) tries Ascending.
type Order int

// The two orders of equal-sized RAM mappings.
const (
	Descending Order = iota
	Ascending
)

// Attach finds the guest RAM of QEMU process pid, whose NUMA nodes have
// nodeSize bytes each (QEMU's memory-backend-ram), in its memory map.
func Attach(pid int, nodes int, nodeSize uint64, order Order) (*Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrGone
	}
	if err != nil {
		return nil, fmt.Errorf("guestmem: %w", err)
	}
	defer f.Close()
	rs, err := ramMappings(f, nodeSize)
	if err != nil {
		return nil, err
	}
	if len(rs) != nodes {
		return nil, fmt.Errorf("guestmem: QEMU (pid %d) has %d anonymous mappings of %d MiB, want one per NUMA node (%d)", pid, len(rs), nodeSize>>20, nodes)
	}
	slices.SortFunc(rs, func(a, b region) int {
		if order == Ascending {
			return cmpU64(a.addr, b.addr)
		}
		return cmpU64(b.addr, a.addr)
	})
	m := &Memory{pid: pid, nodes: rs, lowmem: uint64(nodes) * nodeSize}
	if m.lowmem >= q35LowmemLimit {
		m.lowmem = q35Lowmem
	}
	return m, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ramMappings returns the private, writable, anonymous mappings of exactly
// size bytes in a /proc/PID/maps listing: QEMU maps each RAM block on its
// own, aligned and followed by a guard page, so no other mapping merges
// with it.
func ramMappings(f *os.File, size uint64) ([]region, error) {
	var rs []region
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		// address perms offset dev inode [path]
		if len(fs) != 5 || fs[1] != "rw-p" || fs[4] != "0" {
			continue
		}
		lo, hi, ok := strings.Cut(fs[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || b-a != size {
			continue
		}
		rs = append(rs, region{a, size})
	}
	return rs, sc.Err()
}

// hostAddr returns where in QEMU the n bytes at guest-physical address pa
// are.
func (m *Memory) hostAddr(pa uint64, n int) (uint64, error) {
	lin := pa
	if pa >= fourGiB {
		lin = pa - fourGiB + m.lowmem
	} else if pa >= m.lowmem {
		return 0, fmt.Errorf("guestmem: address %#x is in the PCI hole", pa)
	}
	for _, r := range m.nodes {
		if lin+uint64(n) <= r.size {
			return r.addr + lin, nil
		}
		if lin < r.size {
			return 0, fmt.Errorf("guestmem: %d bytes at %#x cross a node boundary", n, pa)
		}
		lin -= r.size
	}
	return 0, fmt.Errorf("guestmem: address %#x is beyond guest RAM", pa)
}

// ErrGone says that the QEMU process is gone: the guest powered off or
// crashed.
var ErrGone = errors.New("guestmem: the QEMU process is gone")

// ReadAt fills p from guest-physical address pa.
func (m *Memory) ReadAt(p []byte, pa uint64) error {
	a, err := m.hostAddr(pa, len(p))
	if err != nil {
		return err
	}
	return readProcess(m.pid, p, a)
}

// Self returns a Memory over size bytes at address addr of process pid,
// as guest-physical memory from 0: for benchmarks that read through the
// same system calls as on a VM, from memory they laid out themselves.
func Self(pid int, addr, size uint64) *Memory {
	return &Memory{pid: pid, nodes: []region{{addr, size}}, lowmem: size}
}
