//go:build linux

package guest

import (
	"math"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/work"
)

// Every work group has a memfd the parent creates before spawning and maps
// too, and every worker maps MAP_SHARED. Its first page is the group's
// control page: the stop flag, which the parent sets at Collect, and the
// time it did (a worker the stop finds waiting counts its last gap from
// then). A loop checks that flag in memory, so it stops even when it never
// leaves the CPU (a SCHED_FIFO spinner alone on its CPU starves every other
// thread of its process, including the one that would run a stop
// goroutine). The pages
// after it hold one slot per instance (a pair, a fan-out, a lock's
// contenders) of the grouped types that share state through memory:
// futex-ping-pong, futex-fan-out, fan-out-compute, mutex-contention.
// pipe-ping-pong and cache-pipe pairs get two pipes per pair instead, each
// worker holding the read end of one and the write end of the other.
//
// The futex calls are the shared (not FUTEX_PRIVATE) variants, since the
// words are shared between processes.

// slotSize is the size of one instance's slot in the shared memfd: room for
// its words on separate cache lines.
const slotSize = 256

// slot is one instance's shared state. Offsets are fixed; the 64-bit stamps
// are 8-byte aligned (the mapping is page aligned, slots 256 bytes apart).
type slot struct {
	// word is the futex word: whose turn it is (futex-ping-pong), the round
	// number (fan-outs), the lock (mutex-contention: 0 free, 1 taken, 2
	// taken with waiters).
	word uint32
	_    uint32
	// stamp is the nanotime at which the last waker made word change:
	// wake-up latencies are measured from it.
	stamp int64
	_     [48]byte
	// ack counts fan-out receivers done with the current round; the
	// messenger waits on it.
	ack uint32
	_   uint32
	// ackStamp is when a receiver last acknowledged.
	ackStamp int64
	_        [slotSize - 80]byte
}

// slotKind reports whether k's instances share a slot of the memfd.
func slotKind(k work.Kind) bool {
	switch k {
	case work.FutexPingPongKind, work.FutexFanOutKind, work.FanOutComputeKind, work.MutexContentionKind:
		return true
	}
	return false
}

// pipeKind reports whether k's pairs talk over pipes.
func pipeKind(k work.Kind) bool {
	return k == work.PipePingPongKind || k == work.CachePipeKind
}

// sharedSize is the memfd size for n workers of t: the control page, then
// a slot per instance, rounded up to pages.
func sharedSize(t work.Type, n int) int {
	page := unix.Getpagesize()
	size := page
	if slotKind(t.Kind) {
		size += (max(n/t.GroupSize(), 1)*slotSize + page - 1) / page * page
	}
	return size
}

// stopFlag returns the group's stop flag in the shared mapping m (an
// atomic.Bool is a uint32 the sync/atomic functions update; the mapping is
// page aligned).
func stopFlag(m []byte) *atomic.Bool {
	return (*atomic.Bool)(unsafe.Pointer(&m[0]))
}

// stopStamp returns the nanotime at which the group's stop was signalled,
// in the shared mapping m (8 bytes after the stop flag, so aligned).
func stopStamp(m []byte) *atomic.Int64 {
	return (*atomic.Int64)(unsafe.Pointer(&m[8]))
}

// Linux futex operations (shared, not private: the word is in a MAP_SHARED
// mapping used by several processes).
const (
	futexWaitOp = 0
	futexWakeOp = 1
)

// futexWait sleeps while *addr == val, at most for timeout (a relative
// time). It enters the system call through the Go runtime (Syscall, not
// RawSyscall), so that the runtime can run the stop goroutine meanwhile.
func futexWait(addr *uint32, val uint32, timeout *unix.Timespec) syscall.Errno {
	_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWaitOp, uintptr(val),
		uintptr(unsafe.Pointer(timeout)), 0, 0)
	return e
}

// futexWake wakes up to n waiters on addr.
func futexWake(addr *uint32, n int) {
	_, _, _ = unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWakeOp, uintptr(n), 0, 0, 0)
}

// wakeSlot wakes everything waiting on s's words (on stop).
func wakeSlot(s *slot) {
	futexWake(&s.word, math.MaxInt32)
	futexWake(&s.ack, math.MaxInt32)
}

// slotAt returns the slot of instance i in the shared mapping m, or nil if
// m has none.
func slotAt(m []byte, i int) *slot {
	off := unix.Getpagesize() + i*slotSize
	if off+slotSize > len(m) {
		return nil
	}
	return (*slot)(unsafe.Pointer(&m[off]))
}

// wakeGroup wakes every waiter on any slot of the shared mapping m.
func wakeGroup(m []byte) {
	for i := 0; ; i++ {
		s := slotAt(m, i)
		if s == nil {
			return
		}
		wakeSlot(s)
	}
}

// Compile-time checks of the slot layout.
var (
	_ = [1]struct{}{}[unsafe.Sizeof(slot{})-slotSize]
	_ = [1]struct{}{}[unsafe.Offsetof(slot{}.stamp)-8]
	_ = [1]struct{}{}[unsafe.Offsetof(slot{}.ack)-64]
	_ = [1]struct{}{}[unsafe.Sizeof(atomic.Bool{})-4]
)

// loadStamp and friends name the atomic accesses of the slot's fields.
func (s *slot) loadWord() uint32      { return atomic.LoadUint32(&s.word) }
func (s *slot) storeWord(v uint32)    { atomic.StoreUint32(&s.word, v) }
func (s *slot) loadStamp() int64      { return atomic.LoadInt64(&s.stamp) }
func (s *slot) storeStamp(v int64)    { atomic.StoreInt64(&s.stamp, v) }
func (s *slot) loadAck() uint32       { return atomic.LoadUint32(&s.ack) }
func (s *slot) storeAck(v uint32)     { atomic.StoreUint32(&s.ack, v) }
func (s *slot) loadAckStamp() int64   { return atomic.LoadInt64(&s.ackStamp) }
func (s *slot) storeAckStamp(v int64) { atomic.StoreInt64(&s.ackStamp, v) }
