package guestmem

import (
	"encoding/binary"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Memory is a guest's physical memory: one mapping per NUMA node, laid out
// one after another in guest-physical address space.
type Memory struct {
	nodes [][]byte
	// lowmem is where q35 ends RAM below 4 GiB; RAM beyond it appears from
	// 4 GiB up.
	lowmem uint64
}

// q35 keeps guest RAM below 2.75 GiB contiguous; at or above that size the
// part beyond 2 GiB moves to 4 GiB, leaving room for PCI.
const (
	q35LowmemLimit = 0xb0000000
	q35Lowmem      = 0x80000000
	fourGiB        = 1 << 32
)

// Map maps the guest RAM files (one per node, in node order) shared.
func Map(files []*os.File) (*Memory, error) {
	m := &Memory{}
	var total uint64
	for _, f := range files {
		fi, err := f.Stat()
		if err != nil {
			return nil, err
		}
		b, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("guestmem: map guest RAM: %w", err)
		}
		m.nodes = append(m.nodes, b)
		total += uint64(len(b))
	}
	m.lowmem = total
	if total >= q35LowmemLimit {
		m.lowmem = q35Lowmem
	}
	return m, nil
}

// Close unmaps the memory.
func (m *Memory) Close() error {
	for _, b := range m.nodes {
		_ = unix.Munmap(b)
	}
	m.nodes = nil
	return nil
}

// slice returns the n bytes at guest-physical address pa.
func (m *Memory) slice(pa uint64, n int) ([]byte, error) {
	lin := pa
	if pa >= fourGiB {
		lin = pa - fourGiB + m.lowmem
	} else if pa >= m.lowmem {
		return nil, fmt.Errorf("guestmem: address %#x is in the PCI hole", pa)
	}
	for _, b := range m.nodes {
		if lin+uint64(n) <= uint64(len(b)) {
			return b[lin : lin+uint64(n)], nil
		}
		if lin < uint64(len(b)) {
			return nil, fmt.Errorf("guestmem: %d bytes at %#x cross a node boundary", n, pa)
		}
		lin -= uint64(len(b))
	}
	return nil, fmt.Errorf("guestmem: address %#x is beyond guest RAM", pa)
}

// U64 reads the little-endian 64-bit word at guest-physical address pa.
func (m *Memory) U64(pa uint64) (uint64, error) {
	b, err := m.slice(pa, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// SetU64 writes v at guest-physical address pa. The write is a plain
// store of an aligned word, which the guest sees atomically.
func (m *Memory) SetU64(pa, v uint64) error {
	b, err := m.slice(pa, 8)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint64(b, v)
	return nil
}
