//go:build linux

package guest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/work"
)

// What a worker applies to itself before its loop. In Linux the scheduling
// policy, the CPU affinity, the nice level and the NUMA memory policy
// belong to a thread, not to a process, and a Go process has several
// threads: the one running the work loop (the worker locks its main
// goroutine to the main thread, so that is the one) and the runtime's
// others (sysmon, the thread that runs the stop goroutine while the loop
// thread sits in a system call, ...). Affinity and policy are therefore set
// on every thread in /proc/self/task, so that no thread of the worker
// escapes the CPUs the cpuset checks expect, and threads created later
// inherit them from whichever thread creates them. The memory policy can
// only be set by a thread on itself; it is set on the loop thread, which is
// the one that faults in every work buffer.

// Scheduling policy numbers (include/uapi/linux/sched.h).
const (
	schedOther = 0
	schedFIFO  = 1
	schedRR    = 2
	schedBatch = 3
	schedIdle  = 5
)

// policyNumber returns the kernel's number and priority for p.
func policyNumber(p work.Policy) (policy uint32, prio uint32, err error) {
	if err := p.Validate(); err != nil {
		return 0, 0, err
	}
	switch {
	case p.IsNormal():
		return schedOther, 0, nil
	case p.Class == work.ClassBatch:
		return schedBatch, 0, nil
	case p.Class == work.ClassIdle:
		return schedIdle, 0, nil
	case p.Class == work.ClassFIFO:
		return schedFIFO, uint32(p.Priority), nil
	}
	return schedRR, uint32(p.Priority), nil
}

// schedSetattr sets tid's policy (0 = the calling thread) without
// allocating.
func schedSetattr(tid int, attr *unix.SchedAttr) unix.Errno {
	attr.Size = unix.SizeofSchedAttr
	_, _, e := unix.RawSyscall(unix.SYS_SCHED_SETATTR, uintptr(tid), uintptr(unsafe.Pointer(attr)), 0)
	return e
}

// threads lists the thread ids of process pid ("self" for this one).
func threads(pid string) ([]int, error) {
	d, err := os.ReadDir("/proc/" + pid + "/task")
	if err != nil {
		return nil, err
	}
	var tids []int
	for _, e := range d {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

// forAllThreads applies f to every thread of this process.
func forAllThreads(f func(tid int) error) error { return forThreadsOf("self", f) }

// forThreadsOf applies f to every thread of process pid, repeating until a
// pass finds no thread it has not seen (a thread being created during a
// pass inherits from its creator, which may not have been done yet). A
// thread that exits meanwhile is skipped.
func forThreadsOf(pid string, f func(tid int) error) error {
	done := map[int]bool{}
	for range 10 {
		tids, err := threads(pid)
		if err != nil {
			return err
		}
		fresh := false
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			fresh = true
			if err := f(tid); err != nil {
				if err == unix.ESRCH { // the thread exited meanwhile
					continue
				}
				return fmt.Errorf("thread %d: %w", tid, err)
			}
			done[tid] = true
		}
		if !fresh {
			return nil
		}
	}
	return nil
}

// applyAffinity pins every thread of this process to cpus.
func applyAffinity(cpus []int) error { return pin("self", cpus) }

// PinProcess pins every thread of process pid to cpus. A process that is
// gone is left alone.
func PinProcess(pid int, cpus []int) error {
	err := pin(strconv.Itoa(pid), cpus)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func pin(pid string, cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		if c < 0 || c >= len(set)*64 {
			return fmt.Errorf("affinity: CPU %d out of range", c)
		}
		set.Set(c)
	}
	err := forThreadsOf(pid, func(tid int) error { return unix.SchedSetaffinity(tid, &set) })
	if err != nil {
		return fmt.Errorf("sched_setaffinity of process %s to CPUs %v: %w", pid, cpus, err)
	}
	return nil
}

// applyPolicy sets p on every thread of the process.
func applyPolicy(p work.Policy) error {
	if p.IsNormal() {
		return nil // what a fresh process has; nothing to do
	}
	num, prio, err := policyNumber(p)
	if err != nil {
		return err
	}
	err = forAllThreads(func(tid int) error {
		attr := unix.SchedAttr{Policy: num, Priority: prio}
		if e := schedSetattr(tid, &attr); e != 0 {
			return e
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sched_setattr %s: %w", p, err)
	}
	return nil
}

// Memory policy modes (include/uapi/linux/mempolicy.h).
const (
	mpolDefault    = 0
	mpolPreferred  = 1
	mpolBind       = 2
	mpolInterleave = 3
	mpolLocal      = 4
)

// applyMemPolicy sets m on the calling thread (set_mempolicy(2)).
func applyMemPolicy(m work.MemPolicy) error {
	if err := m.Validate(); err != nil {
		return err
	}
	var mode uintptr
	switch m.Mode {
	case work.MemModeDefault:
		return nil
	case work.MemModeLocal:
		mode = mpolLocal
	case work.MemModeBind:
		mode = mpolBind
	case work.MemModePreferred:
		mode = mpolPreferred
	case work.MemModeInterleave:
		mode = mpolInterleave
	}
	var mask [maxTrackedCPUs / 64]uint64
	maxNode := 0
	for _, n := range m.Nodes {
		mask[n/64] |= 1 << (n % 64)
		maxNode = max(maxNode, n+1)
	}
	var maskPtr, maxnode uintptr
	if len(m.Nodes) > 0 {
		// maxnode counts bits; the kernel reads maxnode-1 of them.
		maskPtr, maxnode = uintptr(unsafe.Pointer(&mask[0])), uintptr(maxNode+1)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SET_MEMPOLICY, mode, maskPtr, maxnode); e != 0 {
		return fmt.Errorf("set_mempolicy %s: %w", m, e)
	}
	return nil
}
