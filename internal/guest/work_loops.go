//go:build linux

package guest

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/work"
)

// The work loops. Each counts work units (what one unit is differs by work
// type, see below) and calls the tracker's checkpoint routine at a cadence
// that keeps its cost (a getcpu system call and a vDSO clock read, about
// 0.1-0.3 µs) a few percent at most while sampling often enough (tens of
// microseconds between checkpoints when spinning) to see scheduling gaps
// far below the millisecond:
//
//	kind              unit                                    checkpoint
//	spin              1024 spin iterations                    every 16 units
//	yield-heavy       one sched_yield                         every 64 units
//	mixed             1024 spin iterations + sched_yield      every 16 units
//	io-sync           64 KiB write + 100 µs sleep             every wake-up
//	bursty            1024 spin iterations while bursting     every 16 units, every wake-up
//	pipe-ping-pong    burst + one exchange                    before each wait, every wake-up
//	futex-ping-pong   spin + one hand-over                    before each wait, every wake-up
//	cache-pressure    one pass over the buffer                about every 16384 accesses
//	cache-yield       one pass + sched_yield                  every yield
//	cache-pipe        burst of accesses + one exchange        before each wait, every wake-up
//	futex-fan-out     a round sent (messenger), a wake-up     every round / wake-up
//	fan-out-compute   a round sent (messenger), a matrix      every wake-up, sleep and multiplication
//	                  multiplication (receiver)
//	fork-exit         one fork, exit and reap                 every reap
//	nice-sweep        512 spins + nice change + yield         every yield
//	affinity-churn    spin + re-pin + yield                   every yield
//	policy-churn      spin + policy change + yield            every yield
//	page-fault-churn  touches faults + MADV_DONTNEED + spin   every unit
//	mutex-contention  work + lock + hold + unlock             about every 16384 spins, every contended wake-up
//	sequence          per phase as the kinds above            as above
//	custom            what the function counts                when it starts and returns
//
// A spin iteration is one step of a 64-bit linear congruential generator
// (a dependent multiply-add, a few cycles): real arithmetic the compiler
// cannot drop, unlike an empty loop, and unlike the PAUSE instruction not
// dependent on the CPU model's pause latency or SMT sibling.
//
// Wake-up latencies are recorded, for the kinds that sleep or wait, as:
// sleep overshoot (actual end minus requested end; io-sync, bursty,
// sequence sleeps and io phases); the time from a partner's stamp, taken
// just before it wrote to the pipe, changed the futex word or released the
// lock, to this worker running again (pipe-ping-pong, cache-pipe,
// futex-ping-pong, fan-out receivers, mutex-contention after a contended
// wait); the time from the child's last instruction to the parent running
// after the reap (fork-exit); the time a sched_yield kept the worker off
// the CPU (cache-yield, nice-sweep, affinity-churn, policy-churn, sequence
// yield phases). yield-heavy, mixed, spin, cache-pressure and
// page-fault-churn record none.
//
// Nothing in a loop allocates (the worker runs with the garbage collector
// off): buffers are mapped before the start, system calls go through
// golang.org/x/sys/unix with their arguments in the worker struct.

const (
	spinChunk = 1024 // spin iterations per spin unit
	// checkSpins is the number of spin iterations (or cache accesses)
	// between two checkpoints of the spinning loops.
	checkSpins = 16384
	// ioBytes and ioSleep are the io-sync write size and sleep.
	ioBytes = 64 << 10
	ioSleep = 100 * time.Microsecond
	// ioFileSize is how far io-sync writes go before starting over.
	ioFileSize = 1 << 20
	// waitBound bounds every futex wait, so a worker whose partner is
	// gone still notices the stop flag.
	waitBound = 100 * time.Millisecond
	// niceSpins is nice-sweep's spin per iteration.
	niceSpins = 512
)

// worker is one worker process's state.
type worker struct {
	cfg  workerConfig
	typ  work.Type
	stop *atomic.Bool // the group's stop flag (in the shared control page)
	own  atomic.Bool  // the stop flag of a worker without a group mapping
	// stopAt is when the stop was signalled (0 before), in the group's
	// control page or in ownStopAt.
	stopAt    *atomic.Int64
	ownStopAt atomic.Int64
	t         *tracker
	units     uint64
	sink      uint64 // the spin loops' result, kept so they are not optimised away
	tid       int    // the loop thread
	rng       uint64

	every, left int // checkpoint cadence of tick, in units, and the countdown

	shared []byte // the group's shared mapping
	slot   *slot  // this worker's instance in it
	in     int    // pipe read end (pair kinds), -1 without
	out    int    // pipe write end
	msg    [8]byte

	waitTS  unix.Timespec // futex wait bound
	sleepTS unix.Timespec // absolute sleep target

	buf    []byte // cache buffer, fault region, io-sync data
	bufPos int    // next access in buf (cache-pipe)
	ioFD   int
	ioOff  int64

	mat  [3][]uint64 // fan-out-compute matrices
	matN int

	forkStamp []byte // fork-exit: the page children stamp into
	sigAll    uint64 // fork-exit: a full signal mask, and the saved one
	sigOld    uint64

	attr   unix.SchedAttr // policy-churn
	cpuset unix.CPUSet    // affinity-churn: the one-CPU mask
	cpus   []int          // affinity-churn: CPUs to pick from

	err error // why the loop ended early, if it did
}

// fail records the first error that ended the loop.
func (w *worker) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf(format, args...)
	}
}

func (w *worker) stopped() bool { return w.stop.Load() }

// spin does n spin iterations.
func (w *worker) spin(n int) {
	x := w.sink
	for range n {
		x = x*6364136223846793005 + 1442695040888963407
	}
	w.sink = x
}

// tick counts a unit and checkpoints every w.every units.
func (w *worker) tick() {
	w.units++
	w.left--
	if w.left <= 0 {
		w.left = w.every
		w.t.checkpoint()
	}
}

// setEvery sets tick's cadence to one checkpoint per about checkSpins
// iterations, a unit costing cost of them.
func (w *worker) setEvery(cost int) {
	w.every = max(1, checkSpins/max(cost, 1))
	w.left = w.every
}

// rand returns a pseudo-random number (xorshift64*).
func (w *worker) rand() uint64 {
	x := w.rng
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	w.rng = x
	return x * 2685821657736338717
}

// randn returns a pseudo-random number in [0, n).
func (w *worker) randn(n int) int {
	hi, _ := bits.Mul64(w.rand(), uint64(n))
	return int(hi)
}

// yield calls sched_yield.
func yield() { _, _, _ = unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }

// yieldSampled yields and records how long that kept the worker off the CPU
// as a wake-up latency.
func (w *worker) yieldSampled() {
	t0 := nanotime()
	yield()
	w.t.woke(t0, true)
}

// sleepUntil sleeps until the monotonic time target. It returns false when
// the stop signal interrupted it. The sleep is a clock_nanosleep of the
// loop thread itself, not a Go timer: the thread blocks in the kernel and
// the overshoot is the kernel's timer and scheduler latency, not the Go
// scheduler's.
func (w *worker) sleepUntil(target int64) bool {
	w.sleepTS = unix.NsecToTimespec(target)
	for {
		err := unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &w.sleepTS, nil)
		if err != unix.EINTR {
			return true
		}
		if w.stopped() {
			return false
		}
	}
}

// sleep sleeps for d; the overshoot is a wake-up latency when sample is
// set. It returns false if stopped meanwhile.
func (w *worker) sleep(d time.Duration, sample bool) bool {
	target := nanotime() + int64(d)
	w.t.wait(target)
	if !w.sleepUntil(target) {
		return false
	}
	w.t.woke(target, sample)
	return true
}

// run runs the work loop until stopped.
func (w *worker) run(r *work.Report) {
	switch w.typ.Kind {
	case work.SpinKind, "":
		w.runSpin()
	case work.YieldHeavyKind:
		w.every, w.left = 64, 64
		for !w.stopped() {
			yield()
			w.tick()
		}
	case work.MixedKind:
		w.every, w.left = 16, 16
		for !w.stopped() {
			w.spin(spinChunk)
			yield()
			w.tick()
		}
	case work.IOSyncKind:
		for !w.stopped() && w.ioCycle() {
		}
	case work.BurstyKind:
		w.runBursty()
	case work.PipePingPongKind:
		w.runPipe(func() { w.spin(w.typ.BurstIters) })
	case work.CachePipeKind:
		w.runPipe(func() { w.cacheBurst(w.typ.BurstIters) })
	case work.FutexPingPongKind:
		w.runFutexPingPong()
	case work.CachePressureKind:
		w.setEvery(len(w.buf) / w.typ.Stride)
		for !w.stopped() {
			w.cachePass()
			w.tick()
		}
	case work.CacheYieldKind:
		for !w.stopped() {
			w.cachePass()
			w.units++
			w.yieldSampled()
		}
	case work.FutexFanOutKind, work.FanOutComputeKind:
		if w.typ.IsMessenger(w.cfg.Index) {
			w.runMessenger()
		} else {
			w.runReceiver()
		}
	case work.ForkExitKind:
		w.runForkExit()
	case work.NiceSweepKind:
		w.runNiceSweep()
	case work.AffinityChurnKind:
		w.runAffinityChurn()
	case work.PolicyChurnKind:
		w.runPolicyChurn()
	case work.PageFaultChurnKind:
		w.runPageFaultChurn()
	case work.MutexContentionKind:
		w.runMutex()
	case work.SequenceKind:
		w.runSequence()
	case work.CustomKind:
		w.runCustom(r)
	default:
		w.fail("unknown work kind %q", w.typ.Kind)
	}
}

func (w *worker) runSpin() {
	w.every, w.left = 16, 16
	for !w.stopped() {
		w.spin(spinChunk)
		w.tick()
	}
}

// spinFor spins in units until d has passed (or stop).
func (w *worker) spinFor(d time.Duration) {
	end := nanotime() + int64(d)
	for !w.stopped() && nanotime() < end {
		w.spin(spinChunk)
		w.tick()
	}
}

func (w *worker) runBursty() {
	w.every, w.left = 16, 16
	for !w.stopped() {
		if w.typ.Burst > 0 {
			w.spinFor(w.typ.Burst)
		}
		if w.typ.Sleep > 0 && !w.sleep(w.typ.Sleep, true) {
			return
		}
	}
}

// ioCycle writes 64 KiB to the worker's tmpfs file (a memfd: shmem, the
// same write path as a tmpfs file, nothing left to clean up) and sleeps
// 100 µs. It is one io-sync unit.
func (w *worker) ioCycle() bool {
	if _, err := unix.Pwrite(w.ioFD, w.buf[:ioBytes], w.ioOff); err != nil {
		w.fail("io-sync write: %v", err)
		return false
	}
	w.ioOff = (w.ioOff + ioBytes) % ioFileSize
	w.units++
	return w.sleep(ioSleep, true)
}

// cachePass does a strided read-modify-write over the whole buffer.
func (w *worker) cachePass() {
	b, s := w.buf, w.typ.Stride
	for i := 0; i < len(b); i += s {
		b[i]++
	}
}

// cacheBurst does n cache-line read-modify-writes, continuing through the
// buffer where the last burst stopped.
func (w *worker) cacheBurst(n int) {
	b, s, p := w.buf, w.typ.Stride, w.bufPos
	for range n {
		b[p]++
		if p += s; p >= len(b) {
			p = 0
		}
	}
	w.bufPos = p
}

// runPipe is pipe-ping-pong and cache-pipe: the even worker of a pair
// bursts, sends, and waits for the answer; the odd one waits, bursts and
// answers. The message is the sender's nanotime stamp (8 bytes, one
// write), so the receiver measures its wake-up latency from it. A pair
// stops when either side does: the one that stops closes its pipe ends, the
// other's read then returns end of file.
func (w *worker) runPipe(burst func()) {
	defer w.closePipes()
	if w.cfg.Index%2 == 1 && !w.pipeRecv() {
		return
	}
	for !w.stopped() {
		burst()
		if !w.pipeSend() {
			return
		}
		w.units++
		if !w.pipeRecv() {
			return
		}
	}
}

func (w *worker) pipeSend() bool {
	binary.LittleEndian.PutUint64(w.msg[:], uint64(nanotime()))
	for {
		_, err := unix.Write(w.out, w.msg[:])
		if err == unix.EINTR {
			continue
		}
		return err == nil // EPIPE: the partner is gone
	}
}

func (w *worker) pipeRecv() bool {
	w.t.wait(0)
	got := 0
	for got < len(w.msg) {
		n, err := unix.Read(w.in, w.msg[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 { // end of file: the partner stopped
			return false
		}
		got += n
	}
	w.t.woke(int64(binary.LittleEndian.Uint64(w.msg[:])), true)
	return true
}

func (w *worker) closePipes() {
	if w.in >= 0 {
		unix.Close(w.in)
		w.in = -1
	}
	if w.out >= 0 {
		unix.Close(w.out)
		w.out = -1
	}
}

// runFutexPingPong: the slot's word says whose turn it is (0 or 1, the
// worker's index in its pair). On its turn a worker spins, stamps the
// time, hands the turn over and wakes the partner (a plain FUTEX_WAKE, not
// a synchronous wake-up hint), then waits for the turn to come back.
func (w *worker) runFutexPingPong() {
	s := w.slot
	me := uint32(w.cfg.Index % 2)
	for !w.stopped() {
		if s.loadWord() != me {
			w.t.wait(0)
			for s.loadWord() != me {
				if w.stopped() {
					return
				}
				futexWait(&s.word, 1-me, &w.waitTS)
			}
		}
		if st := s.loadStamp(); st != 0 {
			w.t.woke(st, true)
		}
		w.spin(w.typ.SpinIters)
		w.units++
		s.storeStamp(nanotime())
		s.storeWord(1 - me)
		futexWake(&s.word, 1)
	}
}

// runMessenger is a fan-out messenger. A round: (futex-fan-out: spin,)
// stamp the time, bump the round number in the slot's word, wake every
// receiver, and wait until all have acknowledged the round. Its waits are
// not wake-up latencies (the report marks it Messenger).
func (w *worker) runMessenger() {
	s := w.slot
	fan := uint32(w.typ.FanOut)
	for !w.stopped() {
		if w.typ.Kind == work.FutexFanOutKind {
			w.spin(w.typ.SpinIters)
		}
		s.storeAck(0)
		s.storeStamp(nanotime())
		atomic.AddUint32(&s.word, 1)
		futexWake(&s.word, math.MaxInt32)
		// A unit is a round sent, not completed: when the receivers'
		// rounds are long (fan-out-compute under emulation takes more than
		// a second) a messenger counting completed rounds would look
		// starved.
		w.units++
		w.t.wait(0)
		for {
			a := s.loadAck()
			if a >= fan {
				break
			}
			if w.stopped() {
				return
			}
			futexWait(&s.ack, a, &w.waitTS)
		}
		w.t.woke(s.loadAckStamp(), false)
	}
}

// runReceiver is a fan-out receiver: wait for the next round, record the
// latency from the messenger's stamp, (fan-out-compute: sleep, multiply
// matrices,) acknowledge.
func (w *worker) runReceiver() {
	s := w.slot
	fan := uint32(w.typ.FanOut)
	var seen uint32 // rounds start at 1, so a receiver starting late still sees round 1
	for !w.stopped() {
		if s.loadWord() == seen {
			w.t.wait(0)
			for s.loadWord() == seen {
				if w.stopped() {
					return
				}
				futexWait(&s.word, seen, &w.waitTS)
			}
		}
		seen = s.loadWord()
		w.t.woke(s.loadStamp(), true)
		if w.typ.Kind == work.FanOutComputeKind {
			if w.typ.Sleep > 0 && !w.sleep(w.typ.Sleep, false) {
				return
			}
			for range w.typ.Operations {
				if w.stopped() {
					return
				}
				w.matmul()
				w.units++
				w.t.checkpoint()
			}
			if w.typ.Operations == 0 {
				w.units++
			}
		} else {
			w.units++
		}
		s.storeAckStamp(nanotime())
		if atomic.AddUint32(&s.ack, 1) == fan {
			futexWake(&s.ack, 1)
		}
	}
}

// matmul multiplies the first two matrices into the third, naively.
func (w *worker) matmul() {
	n := w.matN
	a, b, c := w.mat[0][:n*n], w.mat[1][:n*n], w.mat[2][:n*n]
	for i := range n {
		row := a[i*n : i*n+n]
		for j := range n {
			var sum uint64
			for k, x := range row {
				sum += x * b[k*n+j]
			}
			c[i*n+j] = sum
		}
	}
	w.sink += c[n*n-1]
}

// runForkExit forks a child that stamps the time and exits at once, and
// reaps it. The child is created with clone(2) directly (a Go process
// cannot fork(2) through the runtime without exec), with no exit signal so
// that no SIGCHLD handler runs in the worker; wait4 with __WALL reaps it.
func (w *worker) runForkExit() {
	stamp := (*[2]int64)(unsafe.Pointer(&w.forkStamp[0]))
	for !w.stopped() {
		stamp[0], stamp[1] = 0, 0
		pid, e := forkExitChild(uintptr(unsafe.Pointer(stamp)), uintptr(unsafe.Pointer(&w.sigAll)), uintptr(unsafe.Pointer(&w.sigOld)))
		if e == unix.EAGAIN || e == unix.ENOMEM {
			w.sleep(time.Millisecond, false)
			continue
		}
		if e != 0 {
			w.fail("fork-exit: clone: %v", e)
			return
		}
		w.t.wait(0)
		for {
			_, err := unix.Wait4(pid, nil, unix.WALL, nil)
			if err != unix.EINTR {
				break
			}
		}
		w.units++
		if ns := stamp[0]*1e9 + stamp[1]; ns > 0 {
			w.t.woke(ns, true)
		} else {
			w.t.checkpoint()
		}
	}
}

// forkExitChild clones a child that writes CLOCK_MONOTONIC to the
// timespec at stamp and exits. It runs on the goroutine's stack and must
// not grow it or call into the runtime between the clone and the child's
// exit (the child is a copy of this one thread), hence nosplit and raw
// system calls only; signals are blocked around the clone so that no
// handler runs in the child. This is what syscall.forkExec does before its
// exec.
//
//go:nosplit
//go:norace
func forkExitChild(stamp, sigAll, sigOld uintptr) (int, syscall.Errno) {
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, sigAll, sigOld, 8, 0, 0)
	pid, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, 0, 0, 0, 0, 0, 0)
	if e == 0 && pid == 0 {
		syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC, stamp, 0)
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, sigOld, 0, 8, 0, 0)
	return int(pid), e
}

// runNiceSweep cycles the loop thread's nice level (setpriority on thread
// id 0 is the calling thread in Linux) from the lowest allowed to 19.
func (w *worker) runNiceSweep() {
	lo := -20
	if setNice(-20) != 0 {
		lo = 0 // no CAP_SYS_NICE
	}
	defer setNice(0)
	level := lo
	for !w.stopped() {
		w.spin(niceSpins)
		setNice(level)
		if level++; level > 19 {
			level = lo
		}
		w.units++
		w.yieldSampled()
	}
}

func setNice(n int) unix.Errno {
	_, _, e := unix.RawSyscall(unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, uintptr(n))
	return e
}

// runAffinityChurn re-pins the loop thread to a random CPU of those it was
// allowed at the start (its group affinity within its cpuset). Only the
// loop thread churns; the runtime's other threads keep the group affinity,
// a superset, so the cpuset checks still hold.
func (w *worker) runAffinityChurn() {
	var full unix.CPUSet
	if err := unix.SchedGetaffinity(0, &full); err != nil {
		w.fail("affinity-churn: sched_getaffinity: %v", err)
		return
	}
	for c := range len(full) * 64 {
		if full.IsSet(c) {
			w.cpus = append(w.cpus, c)
		}
	}
	defer unix.SchedSetaffinity(0, &full)
	for !w.stopped() {
		w.spin(w.typ.SpinIters)
		w.cpuset.Zero()
		w.cpuset.Set(w.cpus[w.randn(len(w.cpus))])
		_ = unix.SchedSetaffinity(0, &w.cpuset) // a CPU may go offline; carry on
		w.units++
		w.yieldSampled()
	}
}

// runPolicyChurn cycles the loop thread through normal, batch, idle and,
// when allowed (CAP_SYS_NICE), fifo and rr at priority 1; it restores the
// group's policy at the end.
func (w *worker) runPolicyChurn() {
	type pol struct{ policy, prio uint32 }
	policies := []pol{{schedOther, 0}, {schedBatch, 0}, {schedIdle, 0}}
	w.attr = unix.SchedAttr{Policy: schedFIFO, Priority: 1}
	if schedSetattr(0, &w.attr) == 0 {
		policies = append(policies, pol{schedFIFO, 1}, pol{schedRR, 1})
	}
	base, prio, _ := policyNumber(w.cfg.Policy)
	defer func() {
		w.attr = unix.SchedAttr{Policy: base, Priority: prio}
		schedSetattr(0, &w.attr)
	}()
	i := 0
	for !w.stopped() {
		w.spin(w.typ.SpinIters)
		p := policies[i]
		w.attr = unix.SchedAttr{Policy: p.policy, Priority: p.prio}
		schedSetattr(0, &w.attr)
		if i++; i == len(policies) {
			i = 0
		}
		w.units++
		w.yieldSampled()
	}
}

// runPageFaultChurn write-faults random pages of its region, drops them
// all with MADV_DONTNEED (so the next touches fault again) and spins.
func (w *worker) runPageFaultChurn() {
	page := os.Getpagesize()
	pages := len(w.buf) / page
	for !w.stopped() {
		for range w.typ.Touches {
			w.buf[w.randn(pages)*page] = byte(w.units) | 1
		}
		if err := unix.Madvise(w.buf, unix.MADV_DONTNEED); err != nil {
			w.fail("page-fault-churn: madvise: %v", err)
			return
		}
		w.spin(w.typ.SpinIters)
		w.units++
		w.t.checkpoint()
	}
}

// runMutex is mutex-contention: a futex lock in the slot's word (0 free, 1
// taken, 2 taken with waiters; Drepper's "Futexes are tricky" mutex 2).
// The releaser stamps the time before it wakes a waiter, so a worker that
// had to wait measures the hand-over latency.
func (w *worker) runMutex() {
	s := w.slot
	w.setEvery(w.typ.WorkIters + w.typ.HoldIters)
	for !w.stopped() {
		w.spin(w.typ.WorkIters)
		if !atomic.CompareAndSwapUint32(&s.word, 0, 1) {
			w.t.wait(0)
			for atomic.SwapUint32(&s.word, 2) != 0 {
				if w.stopped() {
					return // not holding it
				}
				futexWait(&s.word, 2, &w.waitTS)
			}
			w.t.woke(s.loadStamp(), true)
		}
		w.spin(w.typ.HoldIters)
		s.storeStamp(nanotime())
		if atomic.SwapUint32(&s.word, 0) == 2 {
			futexWake(&s.word, 1)
		}
		w.tick()
	}
}

// runSequence runs the phases in order, over and over.
func (w *worker) runSequence() {
	w.every, w.left = 16, 16
	for !w.stopped() {
		for _, p := range w.typ.Phases {
			if w.stopped() {
				return
			}
			switch p.Kind {
			case work.PhaseSpin:
				w.spinFor(p.Duration)
			case work.PhaseSleep:
				if !w.sleep(p.Duration, true) {
					return
				}
				w.units++
			case work.PhaseYield:
				end := nanotime() + int64(p.Duration)
				for !w.stopped() && nanotime() < end {
					w.units++
					w.yieldSampled()
				}
			case work.PhaseIO:
				end := nanotime() + int64(p.Duration)
				for !w.stopped() && nanotime() < end && w.ioCycle() {
				}
			}
		}
	}
}

// runCustom runs the registered function. The harness sees only its start
// and end; what the function puts in the report is kept, and the CPUs of
// those two checkpoints are added to its CPUs.
func (w *worker) runCustom(r *work.Report) {
	fn, err := work.Lookup(w.typ.Name)
	if err != nil {
		w.fail("%v", err)
		return
	}
	w.t.checkpoint()
	fn(w.stop, r)
	w.t.checkpoint()
}
