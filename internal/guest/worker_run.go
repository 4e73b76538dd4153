//go:build linux

package guest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/work"
)

// The worker process's side.
//
// Keeping the Go runtime's noise out of the measurement:
//   - The work loop runs on the process's main thread, locked to it (the
//     init below locks the main goroutine before main runs, RunWorker locks
//     it again). That thread is the measured one: getcpu, schedstat and the
//     thread-scoped calls (nice, affinity churn, policy churn, the memory
//     policy) all act on it.
//   - GOMAXPROCS(1): runtime work never runs in parallel with the loop on
//     another CPU of the cpuset; the only other goroutine is the one
//     waiting for the stop signal.
//   - The garbage collector is off (SetGCPercent(-1)) and the loops do not
//     allocate: buffers are mapped before the start and the loops use raw
//     system calls with arguments kept in the worker struct.
//   - Sleeps are clock_nanosleep and waits are futex or pipe reads of the
//     loop thread itself, not Go timers or channels, so a wake-up is the
//     kernel's and the scheduler's doing, not the Go scheduler's.
//   - Blocking calls go through the runtime's Syscall (so the stop goroutine
//     can run meanwhile); non-blocking ones (getcpu, sched_yield,
//     sched_setaffinity, setpriority, sched_setattr) are RawSyscall.
//   - Scheduling policy and affinity are applied to every thread of the
//     process (see worker_setup.go), so the runtime's threads stay on the
//     CPUs the loop thread may use.

func init() {
	if os.Getenv(WorkerEnv) != "" {
		// An init that locks the main goroutine keeps it on the main
		// thread through main: the work loop runs on the thread group
		// leader.
		runtime.LockOSThread()
	}
}

// parseWorkerEnv reads the configuration from WorkerEnv's value: JSON from
// the parent, or a bare kind name (the kind's defaults, one worker).
func parseWorkerEnv(env string) (workerConfig, error) {
	env = strings.TrimSpace(env)
	if strings.HasPrefix(env, "{") {
		var c workerConfig
		if err := json.Unmarshal([]byte(env), &c); err != nil {
			return c, fmt.Errorf("bad %s: %v", WorkerEnv, err)
		}
		if c.Type.Kind == "" {
			c.Type.Kind = work.SpinKind
		}
		c.Workers = max(c.Workers, 1)
		return c, nil
	}
	t, err := work.ParseType(env)
	if err != nil {
		return workerConfig{}, err
	}
	return workerConfig{Type: t, Workers: 1}, nil
}

// validFD reports whether fd is open.
func validFD(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}

// RunWorker is the worker process's main: it applies its settings, says it
// is ready, waits for the start byte, works until told to stop, writes its
// report and returns. env is WorkerEnv's value.
func RunWorker(env string) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(-1)
	if !validFD(fdStart) || !validFD(fdReport) {
		return errors.New("worker started without its pipes; workers are started by the harness")
	}
	start := os.NewFile(fdStart, "start")
	report := os.NewFile(fdReport, "report")
	cfg, err := parseWorkerEnv(env)
	var w *worker
	if err == nil {
		w, err = newWorker(cfg)
	}
	if err != nil {
		_, _ = report.Write(append([]byte{'E'}, err.Error()...))
		return err
	}
	if _, err := report.Write([]byte{'R'}); err != nil {
		return fmt.Errorf("worker: signalling ready: %w", err)
	}
	var b [1]byte
	if _, err := start.Read(b[:]); err != nil {
		// Stopped (or the parent gone) before the start.
		r := work.Report{PID: os.Getpid(), Kind: cfg.Type.Kind, Index: cfg.Index, Exit: "stopped before the start"}
		return json.NewEncoder(report).Encode(r)
	}
	pid := os.Getpid()
	go func() {
		// Any read, end of file in practice, means stop. The parent has
		// already set the group's stop flag and woken the group's futex
		// words; doing it here too covers a parent that died.
		var b [1]byte
		_, _ = start.Read(b[:])
		w.stopAt.CompareAndSwap(0, nanotime())
		w.stop.Store(true)
		if w.slot != nil {
			wakeSlot(w.slot)
		}
		// Interrupt a clock_nanosleep or timed futex wait of the loop
		// thread (they return EINTR to a signal with a handler). SIGURG is
		// the runtime's own preemption signal, which it ignores when it
		// did not ask for a preemption.
		_ = unix.Tgkill(pid, w.tid, unix.SIGURG)
	}()
	r := w.work()
	return json.NewEncoder(report).Encode(r)
}

// newWorker applies cfg's settings to the process and prepares the buffers
// and shared state of its work type.
func newWorker(cfg workerConfig) (*worker, error) {
	t := cfg.Type
	if err := t.Validate(cfg.Workers); err != nil {
		return nil, err
	}
	w := &worker{cfg: cfg, typ: t, tid: unix.Gettid(), in: -1, out: -1, ioFD: -1}
	w.stop, w.stopAt = &w.own, &w.ownStopAt
	w.rng = uint64(os.Getpid())*0x9e3779b97f4a7c15 ^ uint64(nanotime()) | 1
	w.waitTS = unix.NsecToTimespec(int64(waitBound))
	if err := applyPolicy(cfg.Policy); err != nil {
		return nil, err
	}
	if len(cfg.CPUs) > 0 {
		if err := applyAffinity(cfg.CPUs); err != nil {
			return nil, err
		}
	}
	// The memory policy before any buffer is faulted in: the loop thread
	// faults them all, so they follow it.
	if err := applyMemPolicy(cfg.MemPolicy); err != nil {
		return nil, err
	}
	if cfg.SharedFD > 0 {
		var st unix.Stat_t
		if err := unix.Fstat(cfg.SharedFD, &st); err != nil {
			return nil, fmt.Errorf("group memory: %w", err)
		}
		m, err := unix.Mmap(cfg.SharedFD, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return nil, fmt.Errorf("group memory: mmap: %w", err)
		}
		unix.Close(cfg.SharedFD)
		if len(m) < unix.Getpagesize() {
			return nil, fmt.Errorf("group memory: %d bytes, no control page", len(m))
		}
		w.shared, w.stop, w.stopAt = m, stopFlag(m), stopStamp(m)
		if slotKind(t.Kind) {
			if w.slot = slotAt(m, cfg.Index/t.GroupSize()); w.slot == nil {
				return nil, fmt.Errorf("group memory: %d bytes, no slot for worker %d", len(m), cfg.Index)
			}
		}
	}
	if cfg.PipeIn > 0 {
		w.in, w.out = cfg.PipeIn, cfg.PipeOut
	}
	anon := func(size int) ([]byte, error) {
		b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return nil, fmt.Errorf("mapping %d bytes: %w", size, err)
		}
		return b, nil
	}
	var err error
	switch t.Kind {
	case work.IOSyncKind, work.SequenceKind:
		if t.Kind == work.SequenceKind && !hasPhase(t, work.PhaseIO) {
			break
		}
		if w.ioFD, err = unix.MemfdCreate("ktstr-io-sync", unix.MFD_CLOEXEC); err != nil {
			return nil, fmt.Errorf("io-sync file: %w", err)
		}
		if w.buf, err = anon(ioBytes); err != nil {
			return nil, err
		}
		for i := range w.buf {
			w.buf[i] = byte(i)
		}
	case work.CachePressureKind, work.CacheYieldKind, work.CachePipeKind:
		if w.buf, err = anon(t.SizeKB << 10); err != nil {
			return nil, err
		}
		for i := range w.buf { // fault it in now: the loop measures the cache, not page faults
			w.buf[i] = byte(i)
		}
	case work.PageFaultChurnKind:
		page := os.Getpagesize()
		if w.buf, err = anon((t.SizeKB<<10 + page - 1) / page * page); err != nil {
			return nil, err
		}
		// Base pages only, so that every touch of a dropped page faults.
		_ = unix.Madvise(w.buf, unix.MADV_NOHUGEPAGE)
	case work.FanOutComputeKind:
		if !t.IsMessenger(cfg.Index) {
			n := 2
			for (n+1)*(n+1)*3*8 <= t.SizeKB<<10 {
				n++
			}
			w.matN = n
			for i := range w.mat {
				b, err := anon(n * n * 8)
				if err != nil {
					return nil, err
				}
				w.mat[i] = unsafeUint64s(b)
				for j := range w.mat[i] {
					w.mat[i][j] = w.rand()
				}
			}
		}
	case work.ForkExitKind:
		b, err := unix.Mmap(-1, 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
		if err != nil {
			return nil, fmt.Errorf("fork-exit stamp page: %w", err)
		}
		w.forkStamp, w.sigAll = b, ^uint64(0)
	case work.CustomKind:
		if _, err := work.Lookup(t.Name); err != nil {
			return nil, err
		}
	}
	w.t = newTracker(nanotime(), w.rand())
	w.t.units = &w.units
	return w, nil
}

func hasPhase(t work.Type, k work.PhaseKind) bool {
	for _, p := range t.Phases {
		if p.Kind == k {
			return true
		}
	}
	return false
}

// work runs the loop and builds the report.
func (w *worker) work() work.Report {
	r := work.Report{PID: os.Getpid(), Kind: w.typ.Kind, Index: w.cfg.Index, Messenger: w.typ.IsMessenger(w.cfg.Index)}
	ss0, haveSS := readSchedstat()
	cpu0 := processCPUTime()
	t0 := nanotime()
	w.t.begin(t0)

	w.run(&r)
	w.t.finish(w.stopAt.Load())

	wall := time.Duration(nanotime() - t0)
	cpu := processCPUTime() - cpu0
	ss1, haveSS1 := readSchedstat()
	w.closePipes()

	if w.typ.Kind == work.CustomKind {
		w.fillCustom(&r)
	} else {
		w.t.fill(&r)
		r.WorkUnits = w.units
	}
	r.WallTime, r.CPUTime = wall, cpu
	r.OffCPU = max(wall-cpu, 0)
	if haveSS && haveSS1 {
		r.RunDelay = time.Duration(ss1.runDelay - ss0.runDelay)
		r.Timeslices = ss1.timeslices - ss0.timeslices
	}
	if w.cfg.MemPolicy.Mode != work.MemModeDefault {
		r.NUMAPages = readNUMAPages()
	}
	if w.err != nil {
		r.Exit = "work failed: " + w.err.Error()
	}
	return r
}

// fillCustom completes a custom function's report: the CPUs the harness
// saw when the function started and returned are added to its CPUs.
// Checkpoints, Migrations and MaxGap stay the function's own: two
// checkpoints around the whole run would make MaxGap the run's length.
func (w *worker) fillCustom(r *work.Report) {
	var t work.Report
	w.t.fill(&t)
	for _, c := range t.CPUs {
		if !slices.Contains(r.CPUs, c) {
			r.CPUs = append(r.CPUs, c)
		}
	}
	slices.Sort(r.CPUs)
}

// unsafeUint64s views a page-aligned mapping as uint64s.
func unsafeUint64s(b []byte) []uint64 {
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
}
