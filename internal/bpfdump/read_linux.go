//go:build linux

package bpfdump

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

const (
	// maxArrayRead bounds the array entries read: runs of equal entries
	// print as one, and a run is known only once read.
	maxArrayRead = 4096
	// maxKeysCounted bounds the keys of a hash map counted beyond those
	// read.
	maxKeysCounted = 1 << 16
)

// snapshotBudget bounds the time a snapshot spends reading: a failing
// scheduler can leave the reader waiting for a CPU, and what it read late
// is no longer the state at the failure.
const snapshotBudget = time.Second

// read fills out's entries from m, or says why they are not shown; it
// stops reading at deadline.
func (s *Set) read(m *ebpf.Map, out *Map, deadline time.Time) {
	if time.Now().After(deadline) {
		out.Skipped = fmt.Sprintf("not read: the maps before it took the copy's %v", snapshotBudget)
		return
	}
	keep := DefaultLimits.Entries
	var err error
	switch t := m.Type(); t {
	case ebpf.Array, ebpf.PerCPUArray:
		err = readArray(m, out, deadline)
	case ebpf.Hash, ebpf.PerCPUHash, ebpf.LRUHash, ebpf.LRUCPUHash, ebpf.LPMTrie, ebpf.CGroupStorage, ebpf.PerCPUCGroupStorage:
		err = readHash(m, out, keep, deadline)
	case ebpf.TaskStorage:
		err = readTaskStorage(m, out, keep, deadline)
	case ebpf.CgroupStorage:
		root := s.CgroupRoot
		if root == "" {
			root = "/sys/fs/cgroup"
		}
		err = readCgroupStorage(m, out, root, keep, deadline)
	default:
		out.Skipped = unreadable(t)
	}
	if err != nil {
		out.Skipped = "reading it failed: " + err.Error()
	}
}

// unreadable says why a map of kind t is not shown.
func unreadable(t ebpf.MapType) string {
	switch t {
	case ebpf.StructOpsMap:
		return "the scheduler's callbacks (its BPF programs are listed apart)"
	case ebpf.RingBuf, ebpf.UserRingbuf:
		return "a ring buffer: its records are its consumer's to take, not key → value"
	case ebpf.Arena:
		return "an arena: pages of memory the program shares with its process, not key → value"
	case ebpf.Queue, ebpf.Stack:
		return "its values can only be read by taking them out"
	case ebpf.BloomFilter:
		return "a bloom filter can be asked about a value, not listed"
	case ebpf.InodeStorage, ebpf.SkStorage:
		return "its values hang off inodes or sockets, which cannot be listed"
	case ebpf.ProgramArray, ebpf.ArrayOfMaps, ebpf.HashOfMaps, ebpf.PerfEventArray, ebpf.StackTrace, ebpf.CGroupArray,
		ebpf.DevMap, ebpf.DevMapHash, ebpf.SockMap, ebpf.SockHash, ebpf.XSKMap, ebpf.CPUMap, ebpf.ReusePortSockArray:
		return "it holds kernel objects (programs, maps, sockets, devices, CPUs), not data"
	}
	return "the dump does not read this kind of map"
}

// values looks key up in m: its value, or one per possible CPU; nil when
// the key has no value.
func values(m *ebpf.Map, key any) ([][]byte, error) {
	if perCPU(m.Type()) {
		var vs [][]byte
		err := m.Lookup(key, &vs)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil, nil
		}
		return vs, err
	}
	v, err := m.LookupBytes(key)
	if v == nil || err != nil {
		return nil, err
	}
	return [][]byte{v}, nil
}

// readArray reads an array's first entries, up to maxArrayRead, in batches
// when the kernel can (BPF_MAP_LOOKUP_BATCH, Linux 5.6), one by one when
// not, until the deadline; the note says when it stopped early. Under TCG
// one lookup costs about half a millisecond, and a 1024-entry array read
// one by one took half a second; read in one batch it took 2-12 ms, and
// once, while the scheduler failed, 7 s.
func readArray(m *ebpf.Map, out *Map, deadline time.Time) error {
	n := min(m.MaxEntries(), maxArrayRead)
	out.Total = int(m.MaxEntries())
	for i := uint32(0); i < n; {
		if time.Now().After(deadline) {
			out.Note = fmt.Sprintf("read in part: %d of its entries before the copy's %v were up", i, snapshotBudget)
			return nil
		}
		got, err := readArrayBatch(m, out, i, min(arrayBatch, n-i))
		if err != nil {
			return err
		}
		if got == 0 { // no batches in this kernel
			vs, err := values(m, putUint(uint64(i), 4))
			if err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			out.Entries = append(out.Entries, Entry{Key: putUint(uint64(i), 4), Values: vs})
			got = 1
		}
		i += got
	}
	return nil
}

// arrayBatch is how many array entries one system call reads.
const arrayBatch = 128

// readArrayBatch reads n entries of an array from index from in one system
// call and returns how many it read: 0 when the kernel cannot.
func readArrayBatch(m *ebpf.Map, out *Map, from, n uint32) (uint32, error) {
	stride, ncpu := m.ValueSize(), 1
	if perCPU(m.Type()) {
		var err error
		if ncpu, err = ebpf.PossibleCPU(); err != nil {
			return 0, err
		}
		stride = align8(stride) * uint32(ncpu)
	}
	keys := make([]byte, n*4)
	vals := make([]byte, n*stride)
	// The cursor of an array's batch is the index to start at.
	in, cursor := putUint(uint64(from), 4), make([]byte, 4)
	attr := struct {
		inBatch, outBatch, keys, values unsafe.Pointer
		count, fd                       uint32
		elemFlags, flags                uint64
	}{outBatch: unsafe.Pointer(&cursor[0]), keys: unsafe.Pointer(&keys[0]), values: unsafe.Pointer(&vals[0]), count: n, fd: uint32(m.FD())}
	if from > 0 {
		attr.inBatch = unsafe.Pointer(&in[0])
	}
	_, _, errno := unix.Syscall(unix.SYS_BPF, bpfMapLookupBatch, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
	runtime.KeepAlive(in)
	runtime.KeepAlive(cursor)
	runtime.KeepAlive(keys)
	runtime.KeepAlive(vals)
	if errno != 0 && errno != unix.ENOENT {
		return 0, nil
	}
	step := align8(m.ValueSize())
	for i := range attr.count {
		e := Entry{Key: keys[i*4 : i*4+4]}
		v := vals[i*stride : (i+1)*stride]
		for c := range uint32(ncpu) {
			e.Values = append(e.Values, v[c*step:c*step+m.ValueSize()])
		}
		out.Entries = append(out.Entries, e)
	}
	return attr.count, nil
}

// bpfMapLookupBatch is the bpf(2) command BPF_MAP_LOOKUP_BATCH.
const bpfMapLookupBatch = 24

// readHash reads the first keep entries of a map listed by its keys, in
// key order, and counts the rest (up to maxKeysCounted).
func readHash(m *ebpf.Map, out *Map, keep int, deadline time.Time) error {
	var prev any // nil: the first key
	for out.Total < maxKeysCounted {
		if time.Now().After(deadline) {
			out.Note = fmt.Sprintf("read in part: %d keys counted before the copy's %v were up", out.Total, snapshotBudget)
			break
		}
		key, err := m.NextKeyBytes(prev)
		if err != nil {
			return err
		}
		if key == nil {
			break
		}
		prev = key
		out.Total++
		if len(out.Entries) == keep {
			continue
		}
		vs, err := values(m, key)
		if err != nil {
			return err
		}
		if vs != nil { // deleted since it was listed
			out.Entries = append(out.Entries, Entry{Key: key, Values: vs})
		}
	}
	slices.SortFunc(out.Entries, func(a, b Entry) int { return compareKeys(a.Key, b.Key) })
	return nil
}

// compareKeys orders keys of up to 8 bytes as little-endian numbers, longer
// ones byte by byte.
func compareKeys(a, b []byte) int {
	if len(a) <= 8 && len(b) <= 8 {
		return cmp.Compare(readUint(a, len(a)), readUint(b, len(b)))
	}
	return bytes.Compare(a, b)
}

// pidfdThread is PIDFD_THREAD (O_EXCL): a pidfd of one thread rather than
// of a thread group, which task storage is keyed by.
const pidfdThread = unix.O_EXCL

// readTaskStorage reads a task storage map, whose key is a pidfd: the
// value of every task in the system that has one, at most keep of them.
func readTaskStorage(m *ebpf.Map, out *Map, keep int, deadline time.Time) error {
	tasks, err := filepath.Glob("/proc/[0-9]*/task/[0-9]*")
	if err != nil {
		return err
	}
	for i, dir := range tasks {
		if time.Now().After(deadline) {
			out.Note = fmt.Sprintf("read in part: %d of %d tasks looked up before the copy's %v were up", i, len(tasks), snapshotBudget)
			break
		}
		tid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		fd, err := unix.PidfdOpen(tid, pidfdThread)
		if err != nil {
			continue // gone since the listing
		}
		vs, err := values(m, int32(fd))
		unix.Close(fd)
		if err != nil || vs == nil {
			continue
		}
		out.Total++
		if len(out.Entries) < keep {
			comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
			label := fmt.Sprintf("tid %d (%s)", tid, strings.TrimSpace(string(comm)))
			out.Entries = append(out.Entries, Entry{Label: label, Values: vs, Key: putUint(uint64(tid), 4)})
		}
	}
	slices.SortFunc(out.Entries, func(a, b Entry) int { return compareKeys(a.Key, b.Key) })
	return nil
}

// readCgroupStorage reads a cgroup storage map, whose key is a cgroup's
// directory fd: the value of every cgroup under root that has one, at most
// keep of them.
func readCgroupStorage(m *ebpf.Map, out *Map, root string, keep int, deadline time.Time) error {
	seen := 0
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if time.Now().After(deadline) {
			out.Note = fmt.Sprintf("read in part: %d cgroups looked up before the copy's %v were up", seen, snapshotBudget)
			return filepath.SkipAll
		}
		if seen++; seen > maxArrayRead {
			return filepath.SkipAll
		}
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil
		}
		vs, err := values(m, int32(fd))
		unix.Close(fd)
		if err != nil || vs == nil {
			return nil
		}
		out.Total++
		if len(out.Entries) < keep {
			rel := strings.TrimPrefix(path, root)
			out.Entries = append(out.Entries, Entry{Label: "cgroup " + cmp.Or(rel, "/"), Values: vs})
		}
		return nil
	})
}
