//go:build linux

package bpfdump

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"
)

// Set is a program's BPF maps, opened by id and held open until Close: a
// map lives as long as something holds it, so a scheduler's maps can be
// read after its process has died or exited. It is safe for concurrent
// use.
type Set struct {
	// CgroupRoot is where cgroup storage maps' cgroups are looked for:
	// the cgroup v2 mount, /sys/fs/cgroup unless set.
	CgroupRoot string

	mu    sync.Mutex
	maps  []*held
	specs map[btf.ID]*btf.Spec
	notes []string
}

// held is one open map.
type held struct {
	m      *ebpf.Map
	info   mapInfo
	frozen bool
	// key and value are its BTF types once resolved (typed); typeErr
	// says why they could not be.
	typed      bool
	key, value btf.Type
	typeErr    string
}

// Open opens the maps ids (each once) and holds them. A map that cannot be
// opened (gone already) gets a note instead.
func Open(ids []uint32) *Set {
	s := &Set{specs: map[btf.ID]*btf.Spec{}}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		m, err := ebpf.NewMapFromID(ebpf.MapID(id))
		if err != nil {
			s.notef("map %d: %v", id, err)
			continue
		}
		h := &held{m: m}
		if err := objInfo(m.FD(), &h.info); err != nil {
			s.notef("map %d: reading its info: %v", id, err)
			_ = m.Close()
			continue
		}
		if mi, err := m.Info(); err == nil {
			h.frozen = mi.Frozen()
		}
		s.maps = append(s.maps, h)
	}
	return s
}

func (s *Set) notef(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

// Len is how many maps the set holds.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.maps)
}

// Close lets go of the maps.
func (s *Set) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.maps {
		_ = h.m.Close()
	}
	s.maps = nil
}

// Snapshot is the set's maps as read at one moment, their types not yet
// resolved.
type Snapshot struct {
	maps  []Map
	held  []*held
	notes []string
}

// Snapshot reads every map now. It makes a few system calls per entry
// and parses no BTF, so it is quick enough to take as a failure happens.
func (s *Set) Snapshot() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := &Snapshot{notes: slices.Clone(s.notes)}
	// Single-entry arrays (the global variables) first, storage maps
	// last: reading one of those looks up every task or cgroup in the
	// system.
	maps := slices.Clone(s.maps)
	slices.SortStableFunc(maps, func(a, b *held) int { return cmp.Compare(readOrder(a), readOrder(b)) })
	deadline := time.Now().Add(snapshotBudget)
	for _, h := range maps {
		m := Map{
			ID: h.info.ID, Name: unix.ByteSliceToString(h.info.Name[:]), Type: h.m.Type(),
			KeySize: h.info.KeySize, ValueSize: h.info.ValueSize, MaxEntries: h.info.MaxEntries, Frozen: h.frozen,
		}
		s.read(h.m, &m, deadline)
		snap.maps = append(snap.maps, m)
		snap.held = append(snap.held, h)
	}
	return snap
}

// readOrder ranks a map for reading: the sooner, the nearer the moment
// asked for.
func readOrder(h *held) int {
	switch t := h.m.Type(); {
	case t == ebpf.Array && h.info.MaxEntries == 1:
		return 0
	case t == ebpf.TaskStorage || t == ebpf.CgroupStorage:
		return 2
	}
	return 1
}

// Render formats the snapshot through the maps' BTF within lim, in the
// order [Order] gives.
func (s *Set) Render(snap *Snapshot, lim Limits) string {
	s.mu.Lock()
	maps := slices.Clone(snap.maps)
	for i := range maps {
		h := snap.held[i]
		s.resolve(h)
		maps[i].Key, maps[i].Value = h.key, h.value
		if h.typeErr != "" && maps[i].Skipped == "" {
			maps[i].Skipped = h.typeErr
		}
	}
	s.mu.Unlock()
	Order(maps)
	text := Render(maps, lim)
	if len(snap.notes) > 0 {
		text += "notes:\n  " + strings.Join(snap.notes, "\n  ") + "\n"
	}
	return text
}

// Dump is Snapshot and Render in one.
func (s *Set) Dump(lim Limits) string { return s.Render(s.Snapshot(), lim) }

// resolve finds h's key and value types in its BTF, once.
func (s *Set) resolve(h *held) {
	if h.typed {
		return
	}
	h.typed = true
	if h.info.BtfID == 0 {
		return
	}
	spec, ok := s.specs[btf.ID(h.info.BtfID)]
	if !ok {
		hd, err := btf.NewHandleFromID(btf.ID(h.info.BtfID))
		if err == nil {
			spec, err = hd.Spec(nil)
			_ = hd.Close()
		}
		if err != nil {
			h.typeErr = fmt.Sprintf("its BTF (id %d) could not be read: %v", h.info.BtfID, err)
			return
		}
		s.specs[btf.ID(h.info.BtfID)] = spec
	}
	var err error
	if id := h.info.BtfKeyTypeID; id != 0 {
		if h.key, err = spec.TypeByID(btf.TypeID(id)); err != nil {
			h.typeErr = fmt.Sprintf("its key type %d is not in its BTF: %v", id, err)
		}
	}
	if id := h.info.BtfValueTypeID; id != 0 {
		if h.value, err = spec.TypeByID(btf.TypeID(id)); err != nil {
			h.typeErr = fmt.Sprintf("its value type %d is not in its BTF: %v", id, err)
		}
	}
}

// Var finds the global variable name in the set's data section maps
// (.bss, .data, .rodata and their kin), through their BTF.
func (s *Set) Var(name string) (*Var, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var secs []dataSection
	for _, h := range s.maps {
		s.resolve(h)
		if ds, ok := h.value.(*btf.Datasec); ok {
			secs = append(secs, dataSection{ds: ds, frozen: h.frozen, sec: heldSection{h}})
		}
	}
	return findVar(secs, name)
}

// heldSection reads and writes a data section map.
type heldSection struct{ h *held }

func (hs heldSection) read() ([]byte, error) {
	b, err := hs.h.m.LookupBytes(uint32(0))
	if err == nil && b == nil {
		err = fmt.Errorf("map %d has no entry 0", hs.h.info.ID)
	}
	return b, err
}

// writeAt writes through a shared mapping of the map when it has one
// (libbpf and cilium/ebpf make data sections mmapable): the bytes written
// are the variable's alone, so counters the program bumps meanwhile in the
// same section are not set back, as a read-modify-write of the whole value
// would. Without one it reads, modifies and writes the value.
func (hs heldSection) writeAt(b []byte, off uint32) error {
	info := hs.h.info
	if info.MapFlags&unix.BPF_F_MMAPABLE != 0 {
		page := uint32(unix.Getpagesize())
		size := (align8(info.ValueSize)*info.MaxEntries + page - 1) / page * page
		mem, err := unix.Mmap(hs.h.m.FD(), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return fmt.Errorf("mapping map %d: %w", info.ID, err)
		}
		copy(mem[off:], b)
		return unix.Munmap(mem)
	}
	val, err := hs.read()
	if err != nil {
		return err
	}
	copy(val[off:], b)
	return hs.h.m.Update(uint32(0), val, ebpf.UpdateExist)
}

func align8(n uint32) uint32 { return (n + 7) &^ 7 }

// mapInfo is the kernel's struct bpf_map_info up to map_extra. cilium/ebpf
// does not give the BTF ids of a map's key and value, which rendering
// needs.
type mapInfo struct {
	Type, ID, KeySize, ValueSize, MaxEntries, MapFlags uint32
	Name                                               [16]byte
	Ifindex, BtfVmlinuxValueTypeID                     uint32
	NetnsDev, NetnsIno                                 uint64
	BtfID, BtfKeyTypeID, BtfValueTypeID, BtfVmlinuxID  uint32
	MapExtra                                           uint64
}

// objInfo reads the info of the map fd (BPF_OBJ_GET_INFO_BY_FD).
func objInfo(fd int, info *mapInfo) error {
	attr := struct {
		fd, len uint32
		info    unsafe.Pointer
	}{uint32(fd), uint32(unsafe.Sizeof(*info)), unsafe.Pointer(info)}
	_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_OBJ_GET_INFO_BY_FD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(info)
	if errno != 0 {
		return errno
	}
	return nil
}
