// Package ktstrsched loads ktstr's own sched_ext scheduler: a small BPF
// scheduler (bpf/ktstr.bpf.c, ops name "ktstr") whose default policy is a
// weighted virtual-time queue shared by all CPUs, and which misbehaves on
// command so that tests can show that the harness catches each kind of
// scheduler bug.
//
//	s, err := ktstrsched.Load(ktstrsched.Config{StallCgroup: "/sys/fs/cgroup/ktstr/victim", Timeout: 2 * time.Second})
//	...
//	if err := s.Attach(); err != nil { ... }
//	exit, err := s.Wait(ctx) // until the kernel disables it or ctx ends
//	s.Close()                // detaches; s.Exit() then says how it ended
//
// The faults ([Config]):
//
//   - StallCgroup: the cgroup's tasks are queued and never dispatched. The
//     kernel's stall watchdog ejects the scheduler ("runnable task stall").
//   - StopAfter: after this long nothing is dispatched any more; the
//     watchdog ejects the scheduler.
//   - EscapeCgroup: the cgroup's tasks are dispatched to a CPU outside their
//     allowed CPUs (their cpuset). The kernel checks every dispatch against
//     the task's cpumask, refuses this one and ejects the scheduler
//     ("SCX_DSQ_LOCAL[_ON] target CPU N not allowed for COMM[PID]"): a
//     sched_ext scheduler cannot make a task run outside its cpuset.
//   - PinCgroup: the cgroup's tasks all run on the first CPU they may use,
//     the rest of their cpuset left idle: the misplacement the kernel does
//     allow. The workers keep their cpuset and make progress, only less.
//   - OneCPU: every task runs on the first CPU it may use: on wake-up and
//     when its slice ends it goes to that CPU's local queue, never to the
//     shared one. Per-CPU kernel threads keep their CPU; everything allowed
//     on CPU 0 piles up there, round-robin with the default slice, while
//     the other CPUs idle (as under the kernel's scx_cpu0, here by a flag).
//     Nothing starves and the stall watchdog does not fire; only a check of
//     work conservation (CPUs idle while tasks allowed on them wait) sees
//     it. Tasks that the cgroup and weight faults divert are left to them.
//   - StarveBelowWeight: tasks of a lower weight (nice 19 is weight 1, nice
//     0 is 100) run only on a CPU with nothing else to run, so they starve
//     while other tasks are runnable. Tasks with SIGKILL pending are let
//     through so that they can exit.
//   - ErrorAfter: the BPF program calls scx_bpf_error() this long after
//     loading; the kernel ejects the scheduler ("runtime error").
//   - ExitAfter: the BPF program calls scx_bpf_exit() this long after
//     loading: the scheduler unregisters itself, as a crashing scheduler
//     would, and the loader's command exits with an error.
//   - SlowDispatch: a task put back in the queue while still runnable (its
//     slice ran out, or it was preempted) waits at least this long before
//     it is dispatched again; every task, or with SlowCgroup that cgroup's.
//     Wake-ups are not held: a Go program, whose threads hand work to each
//     other through wake-ups, hardly starts when each of them waits.
//
// Timeout sets ops.timeout_ms, the stall watchdog's limit (the kernel's
// default and maximum is 30 s).
//
// The cgroups are paths in the cgroup2 file system, absolute or relative
// to /sys/fs/cgroup. They need not exist when the scheduler is loaded: the
// loader looks for them every 50 ms and passes their ids to the BPF
// program as they appear (a test creates its cgroups after the scheduler
// has attached). A task is in a cgroup when it is in it or below it.
package ktstrsched

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
)

// OpsName is the scheduler's sched_ext ops name, as
// /sys/kernel/sched_ext/root/ops shows it.
const OpsName = "ktstr"

// CgroupRoot is where relative cgroup paths start.
const CgroupRoot = "/sys/fs/cgroup"

// MaxTimeout is the longest stall watchdog timeout the kernel accepts.
const MaxTimeout = 30 * time.Second

// Config chooses the faults the scheduler injects; the zero Config is the
// well-behaved default policy.
type Config struct {
	// StallCgroup: never dispatch the tasks of this cgroup.
	StallCgroup string
	// StopAfter: stop dispatching altogether this long after loading.
	StopAfter time.Duration
	// EscapeCgroup: dispatch this cgroup's tasks to a CPU outside their
	// cpuset (the kernel ejects the scheduler for it).
	EscapeCgroup string
	// PinCgroup: run all of this cgroup's tasks on the first CPU of their
	// cpuset.
	PinCgroup string
	// OneCPU: run every task on the first CPU it is allowed on.
	OneCPU bool
	// StarveBelowWeight: run tasks of a lower sched_ext weight (1 to
	// 10000; nice 0 is 100, nice 19 is 1) only on otherwise idle CPUs.
	StarveBelowWeight uint32
	// ErrorAfter: scx_bpf_error() this long after loading.
	ErrorAfter time.Duration
	// ExitAfter: scx_bpf_exit() this long after loading.
	ExitAfter time.Duration
	// SlowDispatch: hold every task that is put back in the queue still
	// runnable this long before dispatching it again.
	SlowDispatch time.Duration
	// SlowCgroup limits SlowDispatch to this cgroup's tasks.
	SlowCgroup string
	// Timeout is ops.timeout_ms, the stall watchdog's limit; 0 keeps the
	// kernel's default (30 s). Whole milliseconds, at most MaxTimeout.
	Timeout time.Duration
	// Logf, if set, receives notes on what the loader does (cgroups
	// resolved, for instance).
	Logf func(format string, args ...any)
}

func (c Config) validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"StopAfter", c.StopAfter}, {"ErrorAfter", c.ErrorAfter}, {"ExitAfter", c.ExitAfter}, {"SlowDispatch", c.SlowDispatch}, {"Timeout", c.Timeout}} {
		if d.d < 0 {
			errs = append(errs, fmt.Errorf("%s is negative (%v)", d.name, d.d))
		}
	}
	if c.Timeout > MaxTimeout {
		errs = append(errs, fmt.Errorf("watchdog timeout %v is longer than the kernel's maximum %v", c.Timeout, MaxTimeout))
	}
	if c.Timeout > 0 && c.Timeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("watchdog timeout %v is shorter than 1 ms", c.Timeout))
	}
	if c.SlowCgroup != "" && c.SlowDispatch == 0 {
		errs = append(errs, errors.New("SlowCgroup without SlowDispatch"))
	}
	// Both would take every task; held tasks rejoin the shared queue that
	// OneCPU leaves unused (SlowCgroup narrows SlowDispatch, which is fine).
	if c.OneCPU && c.SlowDispatch > 0 && c.SlowCgroup == "" {
		errs = append(errs, errors.New("OneCPU with SlowDispatch for every task (set SlowCgroup)"))
	}
	if c.StarveBelowWeight > 10000 {
		errs = append(errs, fmt.Errorf("StarveBelowWeight %d is above the highest weight, 10000", c.StarveBelowWeight))
	}
	return errors.Join(errs...)
}

// Faults lists the faults c injects, as flag-like words, or "none".
func (c Config) Faults() string {
	var f []string
	add := func(on bool, s string, args ...any) {
		if on {
			f = append(f, fmt.Sprintf(s, args...))
		}
	}
	add(c.StallCgroup != "", "stall-cgroup=%s", c.StallCgroup)
	add(c.StopAfter > 0, "stop-after=%v", c.StopAfter)
	add(c.EscapeCgroup != "", "escape-cgroup=%s", c.EscapeCgroup)
	add(c.PinCgroup != "", "pin-cgroup=%s", c.PinCgroup)
	add(c.OneCPU, "one-cpu")
	add(c.StarveBelowWeight > 0, "starve-below-weight=%d", c.StarveBelowWeight)
	add(c.ErrorAfter > 0, "error-after=%v", c.ErrorAfter)
	add(c.ExitAfter > 0, "exit-after=%v", c.ExitAfter)
	add(c.SlowDispatch > 0, "slow-dispatch=%v", c.SlowDispatch)
	add(c.SlowCgroup != "", "slow-cgroup=%s", c.SlowCgroup)
	if len(f) == 0 {
		return "none"
	}
	return strings.Join(f, " ")
}

// ExitKind is the kernel's enum scx_exit_kind: why a scheduler stopped.
type ExitKind int32

// The exit kinds of 7.3. Kinds from ExitError on are errors: the kernel
// ejected the scheduler.
const (
	ExitNone        ExitKind = 0
	ExitDone        ExitKind = 1
	ExitUnreg       ExitKind = 64 // user space detached it
	ExitUnregBPF    ExitKind = 65 // the BPF program called scx_bpf_exit()
	ExitUnregKern   ExitKind = 66
	ExitSysRq       ExitKind = 67 // SysRq-S
	ExitParent      ExitKind = 68
	ExitParentKill  ExitKind = 69
	ExitError       ExitKind = 1024 // a runtime error, e.g. scx_bpf_error() or an invalid dispatch
	ExitErrorBPF    ExitKind = 1025
	ExitErrorStall  ExitKind = 1026 // the stall watchdog fired
	ExitErrorReenq  ExitKind = 1027
	ExitErrorRescue ExitKind = 1028
)

var exitKindNames = map[ExitKind]string{
	ExitNone: "none", ExitDone: "done", ExitUnreg: "unregistered", ExitUnregBPF: "unregistered-bpf",
	ExitUnregKern: "unregistered-kernel", ExitSysRq: "sysrq", ExitParent: "parent", ExitParentKill: "parent-kill",
	ExitError: "error", ExitErrorBPF: "error-bpf", ExitErrorStall: "error-stall", ExitErrorReenq: "error-reenq",
	ExitErrorRescue: "error-rescue",
}

// String names the kind, e.g. "error-stall".
func (k ExitKind) String() string {
	if s, ok := exitKindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind-%d", int32(k))
}

// IsError reports whether the kind is an error (the kernel ejected the
// scheduler).
func (k ExitKind) IsError() bool { return k >= ExitError }

// ExitInfo is what the kernel told the scheduler's ops.exit().
type ExitInfo struct {
	Kind ExitKind
	// Code is the exit code (scx_bpf_exit()'s argument).
	Code int64
	// CPU is the CPU the exit was raised on, when the kernel knows it.
	CPU int
	// Reason is the kernel's reason, e.g. "runnable task stall".
	Reason string
	// Message is the detail, e.g. "NAME[PID] failed to run for 2.1s".
	Message string
	// Dump is the kernel's debug dump, taken on an error exit.
	Dump string
}

// Detached reports whether the scheduler ended because user space
// detached it: a clean end.
func (e *ExitInfo) Detached() bool { return e.Kind == ExitUnreg || e.Kind == ExitDone }

// String is one line: kind, reason and message.
func (e *ExitInfo) String() string {
	s := fmt.Sprintf("%s (kind %d", e.Kind, int32(e.Kind))
	if e.Code != 0 {
		s += fmt.Sprintf(", code %d", e.Code)
	}
	s += ")"
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Stats are the BPF program's counters.
type Stats struct {
	// Enqueued counts ops.enqueue calls; Direct, tasks dispatched straight
	// to an idle CPU on wake-up; Dispatched, tasks ops.dispatch moved to a
	// CPU.
	Enqueued, Direct, Dispatched uint64
	// Stalled, Escaped, Pinned and Starved count enqueues diverted by the
	// cgroup and weight faults; Released, low-weight tasks let through
	// to die.
	Stalled, Escaped, Pinned, Starved, Released uint64
	// OneCPU counts enqueues that OneCPU sent to the first allowed CPU.
	OneCPU uint64
	// Held counts dispatches that left tasks held (SlowDispatch);
	// Unheld, held tasks moved back to the shared queue once due; Kicks,
	// the hold timer's kicks of idle CPUs; TimerErrors, timers that could
	// not be set up or started.
	Held, Unheld, Kicks, TimerErrors uint64
}

// Scheduler is the loaded scheduler.
type Scheduler struct {
	cfg  Config
	objs ktstrObjects
	link link.Link

	cgroups []*cgroupFault

	stop     chan struct{}
	stopOnce sync.Once
	watching sync.WaitGroup
	exited   chan struct{}

	mu     sync.Mutex
	exit   *ExitInfo
	closed bool
}

type cgroupFault struct {
	what string
	path string
	v    *ebpf.Variable
	id   uint64
}

// Load verifies and loads the BPF program configured by cfg, without
// attaching it.
func Load(cfg Config) (*Scheduler, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("ktstr scheduler: %w", err)
	}
	if _, err := os.Stat("/sys/kernel/sched_ext"); err != nil {
		return nil, fmt.Errorf("ktstr scheduler: this kernel has no sched_ext (/sys/kernel/sched_ext missing)")
	}
	spec, err := loadKtstr()
	if err != nil {
		return nil, err
	}
	ns := func(d time.Duration) uint64 { return uint64(d.Nanoseconds()) }
	consts := []struct {
		name string
		v    any
	}{
		{"stop_after_ns", ns(cfg.StopAfter)},
		{"error_after_ns", ns(cfg.ErrorAfter)},
		{"exit_after_ns", ns(cfg.ExitAfter)},
		{"slow_ns", ns(cfg.SlowDispatch)},
		{"starve_below_weight", cfg.StarveBelowWeight},
		{"cgroup_faults", cfg.StallCgroup != "" || cfg.EscapeCgroup != "" || cfg.PinCgroup != "" || cfg.SlowCgroup != ""},
		{"slow_by_cgroup", cfg.SlowCgroup != ""},
		{"one_cpu", cfg.OneCPU},
	}
	for _, c := range consts {
		vs, ok := spec.Variables[c.name]
		if !ok {
			return nil, fmt.Errorf("ktstr scheduler: BPF object lacks variable %s", c.name)
		}
		if err := vs.Set(c.v); err != nil {
			return nil, fmt.Errorf("ktstr scheduler: setting %s: %w", c.name, err)
		}
	}
	if cfg.Timeout > 0 {
		if err := setOpsU32(spec.Maps[ktstrMapKtstrOps], "timeout_ms", uint32(cfg.Timeout.Milliseconds())); err != nil {
			return nil, fmt.Errorf("ktstr scheduler: %w", err)
		}
	}
	s := &Scheduler{cfg: cfg, stop: make(chan struct{}), exited: make(chan struct{})}
	if err := spec.LoadAndAssign(&s.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("ktstr scheduler: the kernel rejected the BPF program: %-40v", ve)
		}
		return nil, fmt.Errorf("ktstr scheduler: loading the BPF program: %w", err)
	}
	for _, c := range []struct{ what, path string }{
		{"stall", cfg.StallCgroup}, {"escape", cfg.EscapeCgroup}, {"pin", cfg.PinCgroup}, {"slow", cfg.SlowCgroup},
	} {
		if c.path == "" {
			continue
		}
		v := map[string]*ebpf.Variable{"stall": s.objs.StallCgid, "escape": s.objs.EscapeCgid, "pin": s.objs.PinCgid, "slow": s.objs.SlowCgid}[c.what]
		s.cgroups = append(s.cgroups, &cgroupFault{what: c.what, path: cgroupPath(c.path), v: v})
	}
	s.resolveCgroups()
	return s, nil
}

// setOpsU32 sets a u32 member of the struct_ops map's initial value.
func setOpsU32(ms *ebpf.MapSpec, member string, v uint32) error {
	if ms == nil || len(ms.Contents) != 1 {
		return fmt.Errorf("struct_ops map not found in the BPF object")
	}
	st, ok := ms.Value.(*btf.Struct)
	if !ok {
		return fmt.Errorf("struct_ops map %s: value is %T, not a struct", ms.Name, ms.Value)
	}
	buf, ok := ms.Contents[0].Value.([]byte)
	if !ok {
		return fmt.Errorf("struct_ops map %s: contents are %T", ms.Name, ms.Contents[0].Value)
	}
	for _, m := range st.Members {
		if m.Name != member {
			continue
		}
		off := int(m.Offset.Bytes())
		if off+4 > len(buf) {
			return fmt.Errorf("struct_ops %s.%s: offset %d beyond the value", st.Name, member, off)
		}
		binary.NativeEndian.PutUint32(buf[off:], v)
		return nil
	}
	return fmt.Errorf("struct %s has no member %s", st.Name, member)
}

func cgroupPath(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(CgroupRoot, p)
}

func (s *Scheduler) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// resolveCgroups passes to the BPF program the ids of the fault cgroups
// that exist now (the inode number of a cgroup2 directory is its id).
func (s *Scheduler) resolveCgroups() {
	for _, c := range s.cgroups {
		var id uint64
		var st syscall.Stat_t
		if err := syscall.Stat(c.path, &st); err == nil {
			id = st.Ino
		}
		if id == c.id {
			continue
		}
		if err := c.v.Set(id); err != nil {
			s.logf("setting the %s cgroup's id: %v", c.what, err)
			continue
		}
		if id == 0 {
			s.logf("%s cgroup %s is gone", c.what, c.path)
		} else {
			s.logf("%s cgroup %s has id %d", c.what, c.path, id)
		}
		c.id = id
	}
}

// Attach attaches the scheduler: from now on the kernel schedules every
// normal task through it. It fails when another sched_ext scheduler is
// attached.
func (s *Scheduler) Attach() error {
	if s.link != nil {
		return errors.New("ktstr scheduler: already attached")
	}
	l, err := link.AttachStructOps(link.StructOpsOptions{Map: s.objs.KtstrOps})
	if err != nil {
		if errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("ktstr scheduler: another sched_ext scheduler is attached: %w", err)
		}
		return fmt.Errorf("ktstr scheduler: attach: %w", err)
	}
	s.link = l
	s.watching.Add(1)
	go s.watch()
	return nil
}

// watch follows the fault cgroups and notices the kernel disabling the
// scheduler.
func (s *Scheduler) watch() {
	defer s.watching.Done()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		s.resolveCgroups()
		if e := s.readExit(); e != nil {
			s.setExit(e)
			return
		}
	}
}

// readExit returns the exit info ops.exit() recorded, nil before.
func (s *Scheduler) readExit() *ExitInfo {
	var u ktstrKtstrExitInfo
	if err := s.objs.Uei.Get(&u); err != nil || u.Kind == 0 {
		return nil
	}
	return &ExitInfo{
		Kind:    ExitKind(u.Kind),
		Code:    u.ExitCode,
		CPU:     int(u.ExitCpu),
		Reason:  cString(u.Reason[:]),
		Message: cString(u.Msg[:]),
		Dump:    cString(u.Dump[:]),
	}
}

func (s *Scheduler) setExit(e *ExitInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exit == nil {
		s.exit = e
		close(s.exited)
	}
}

func cString(b []int8) string {
	buf := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		buf = append(buf, byte(c))
	}
	return strings.TrimRight(string(buf), "\n")
}

// Wait blocks until the kernel disables the scheduler, and returns why, or
// until ctx ends (nil, ctx.Err()).
func (s *Scheduler) Wait(ctx context.Context) (*ExitInfo, error) {
	if s.link == nil {
		return nil, errors.New("ktstr scheduler: not attached")
	}
	select {
	case <-s.exited:
		return s.Exit(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Exit returns why the scheduler stopped, nil while it runs (or if it was
// never attached).
func (s *Scheduler) Exit() *ExitInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exit
}

// Stats reads the BPF program's counters.
func (s *Scheduler) Stats() (Stats, error) {
	var st ktstrKtstrStats
	if err := s.objs.Stats.Get(&st); err != nil {
		return Stats{}, err
	}
	return Stats{
		Enqueued: st.Enqueued, Direct: st.Direct, Dispatched: st.Dispatched,
		Stalled: st.Stalled, Escaped: st.Escaped, Pinned: st.Pinned, Starved: st.Starved,
		Released: st.Released, OneCPU: st.OneCpu, Held: st.Held, Unheld: st.Unheld, Kicks: st.Kicks, TimerErrors: st.TimerErrors,
	}, nil
}

// Close detaches the scheduler (the kernel goes back to its own fair
// scheduler), waits up to 2 s for the exit info and frees the BPF objects.
// Exit reports how the scheduler ended also after Close.
func (s *Scheduler) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	var errs []error
	if s.link != nil {
		if err := s.link.Close(); err != nil {
			errs = append(errs, fmt.Errorf("detach: %w", err))
		}
		deadline := time.Now().Add(2 * time.Second)
		for s.Exit() == nil && time.Now().Before(deadline) {
			if e := s.readExit(); e != nil {
				s.setExit(e)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	s.stopOnce.Do(func() { close(s.stop) })
	s.watching.Wait()
	if err := s.objs.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ktstr scheduler: %w", err)
	}
	return nil
}
