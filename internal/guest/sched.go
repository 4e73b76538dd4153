//go:build linux

package guest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/wire"
)

const scxDir = "/sys/kernel/sched_ext"

// SchedExtState returns /sys/kernel/sched_ext/state ("enabled", "disabled",
// ...) or "" when the kernel has no sched_ext.
func SchedExtState() string {
	b, err := os.ReadFile(scxDir + "/state")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func schedExtOps() string {
	b, err := os.ReadFile(scxDir + "/root/ops")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Scheduler is a running sched_ext scheduler process.
type Scheduler struct {
	spec wire.Scheduler
	cmd  *exec.Cmd
	// setter puts spec.Watchdog into the scheduler's ops; nil when none
	// was asked for or it could not be set up (setErr says why).
	setter  *opsTimeoutSetter
	setErr  error
	out     *tailBuffer
	exited  chan struct{}
	exitErr error
	report  wire.SchedulerReport
	// bpf follows its BPF programs (progstats.go) and maps holds its
	// BPF maps (schedmaps.go); nil until attached. maps is atomic: the
	// watching goroutine starts before the maps are found.
	bpf  *schedPrograms
	maps atomic.Pointer[schedMaps]

	mu       sync.Mutex
	left     string // first state other than "enabled" seen while watching
	leftAt   time.Time
	stopOnce sync.Once
	stopping bool
}

// StartScheduler starts the scheduler and waits until the kernel reports it
// enabled. On failure it returns a classified failure and leaves nothing
// running.
//
// A scheduler that exits before attaching is started once more, and the
// report says so (Retried): scx_qmap, healthy in every other start, once
// failed in CI to create a map (libbpf: -38, ENOSYS) and never again in
// dozens of starts. A scheduler that cannot load fails both times.
//
// The kernel counts BPF program runs from before the start until Stop,
// and once the scheduler has attached its BPF programs are found and the
// verifier's figures read (progstats.go); Stop adds their run counts.
func StartScheduler(spec wire.Scheduler) (*Scheduler, *wire.Failure) {
	progs, err := enableRunStats(spec.RunStats)
	s, f := startRetrying(spec)
	if f != nil {
		progs.close()
		return s, f
	}
	if err != nil {
		progs.note("%v", err)
	}
	s.bpf = progs
	s.bpf.open(s.PID())
	s.maps.Store(openSchedMaps(s.bpf))
	return s, nil
}

// startRetrying is StartScheduler without the BPF programs' figures.
func startRetrying(spec wire.Scheduler) (*Scheduler, *wire.Failure) {
	s, f, early := startScheduler(spec)
	if !early {
		return s, f
	}
	first := f.Message
	if out := strings.TrimSpace(s.report.Output); out != "" {
		first += " (" + out[strings.LastIndexByte(out, '\n')+1:] + ")"
	}
	fmt.Printf("ktstr: %s; starting it once more\n", first)
	s, f, early = startScheduler(spec)
	if early {
		return nil, f
	}
	if s != nil {
		s.report.Retried = first
	}
	return s, f
}

// startScheduler is one start of StartScheduler; early reports that the
// scheduler exited before attaching, and s (stopped) then holds its
// report and output.
func startScheduler(spec wire.Scheduler) (s *Scheduler, f *wire.Failure, early bool) {
	if SchedExtState() == "" {
		return nil, &wire.Failure{Kind: check.SchedulerNotAttached,
			Message: fmt.Sprintf("scheduler %s: this kernel has no sched_ext (%s missing); use a kernel built with CONFIG_SCHED_CLASS_EXT=y (ktstr kernel fetch gets one)", spec.Name, scxDir)}, false
	}
	enableSchedExtEvents()
	seq := enableSeq()
	s = &Scheduler{spec: spec, out: newTailBuffer(64 << 10), exited: make(chan struct{})}
	s.report.Name = spec.Name
	s.cmd = exec.Command(spec.Path, spec.Args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if len(spec.LibraryPath) > 0 {
		s.cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH="+strings.Join(spec.LibraryPath, ":"))
	}
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t0 := time.Now()
	if err := s.start(); err != nil {
		return nil, &wire.Failure{Kind: check.SchedulerNotAttached, Message: fmt.Sprintf("scheduler %s: start %s: %v", spec.Name, spec.Path, err)}, false
	}
	go func() {
		s.exitErr = s.cmd.Wait()
		close(s.exited)
	}()
	timeout := spec.AttachTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for {
		select {
		case <-s.exited:
			s.fill()
			s.stopSetter()
			if f := s.ejectedUnseen(seq); f != nil {
				return nil, f, false
			}
			return s, &wire.Failure{Kind: check.SchedulerNotAttached,
				Message: fmt.Sprintf("scheduler %s exited before attaching: %s", spec.Name, s.report.Exit),
				Detail:  "scheduler output:\n" + s.report.Output + kmsgDetail()}, true
		case <-deadline:
			state := SchedExtState()
			s.Stop()
			if f := s.ejectedUnseen(seq); f != nil {
				return nil, f, false
			}
			return nil, &wire.Failure{Kind: check.SchedulerNotAttached,
				Message: fmt.Sprintf("scheduler %s did not attach within %v (sched_ext state %q)", spec.Name, timeout, state),
				Detail:  "scheduler output:\n" + s.report.Output + kmsgDetail()}, false
		case <-tick.C:
		}
		if SchedExtState() != "enabled" {
			continue
		}
		ops := schedExtOps()
		if ops == "" || (spec.Ops != "" && ops != spec.Ops) {
			continue
		}
		s.report.Ops = ops
		s.report.AttachAfter = time.Since(t0)
		go s.watch()
		return s, nil, false
	}
}

// watch notes the first time sched_ext leaves "enabled".
func (s *Scheduler) watch() {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.exited:
		case <-tick.C:
		}
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			return
		}
		if st := SchedExtState(); st != "enabled" && s.left == "" {
			s.left, s.leftAt = st, time.Now()
		}
		left := s.left
		s.mu.Unlock()
		if left != "" {
			s.maps.Load().capture(fmt.Sprintf("when the harness saw sched_ext leave \"enabled\" (for %q)", left))
			return
		}
	}
}

// Check reports whether the scheduler died or was ejected so far.
func (s *Scheduler) Check() *wire.Failure {
	s.mu.Lock()
	left := s.left
	s.mu.Unlock()
	dead := false
	select {
	case <-s.exited:
		dead = true
	default:
	}
	if st := SchedExtState(); left == "" && st != "enabled" {
		left = st
	}
	if left == "" && !dead {
		return nil
	}
	reason := disableReason()
	for deadline := time.Now().Add(3 * time.Second); reason == "" && !dead && time.Now().Before(deadline); {
		// Caught in the middle of the kernel's disabling: the reason is
		// logged, and the process usually exits, once it is done.
		time.Sleep(20 * time.Millisecond)
		reason = disableReason()
		select {
		case <-s.exited:
			dead = true
		default:
		}
	}
	if reason != "" && !strings.Contains(reason, "unregistered from") {
		// The kernel threw it out; the process usually exits after that,
		// so this is the primary cause.
		s.fill()
		return &wire.Failure{Kind: check.SchedulerEjected,
			Message: fmt.Sprintf("scheduler %s was ejected by the kernel: %s", s.spec.Name, reason),
			Detail:  "scheduler output:\n" + s.report.Output + kmsgDetail() + traceDetail()}
	}
	if dead {
		s.fill()
		return &wire.Failure{Kind: check.SchedulerDied,
			Message: fmt.Sprintf("scheduler %s died during the test: %s", s.spec.Name, s.report.Exit),
			Detail:  "scheduler output:\n" + s.report.Output + kmsgDetail()}
	}
	return &wire.Failure{Kind: check.SchedulerEjected,
		Message: fmt.Sprintf("scheduler %s is no longer attached (sched_ext state %q) and the kernel gave no reason", s.spec.Name, SchedExtState()),
		Detail:  "scheduler output:\n" + s.report.Output + kmsgDetail()}
}

// Stop stops the scheduler: SIGINT, then SIGKILL after 5 s. It returns the
// report with its output and exit status.
func (s *Scheduler) Stop() wire.SchedulerReport {
	s.stopOnce.Do(func() {
		s.bpf.readRuns()
		s.mu.Lock()
		s.stopping = true
		s.mu.Unlock()
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			_ = unix.Kill(-s.cmd.Process.Pid, unix.SIGKILL)
			<-s.exited
		}
		s.stopSetter()
		// Wait for the kernel to finish disabling (up to 10 s: under
		// emulation, reverting every task to the fair class takes a
		// while).
		for range 500 {
			if st := SchedExtState(); st == "disabled" {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		s.report.FinalState = SchedExtState()
		s.maps.Load().close()
		s.report.Programs, s.report.ProgramNotes = s.bpf.close()
		s.fill()
	})
	return s.report
}

func (s *Scheduler) fill() {
	s.report.Output = s.out.String()
	select {
	case <-s.exited:
		if s.exitErr == nil {
			s.report.Exit = "exit status 0"
		} else {
			var ee *exec.ExitError
			if errors.As(s.exitErr, &ee) {
				s.report.Exit = ee.ProcessState.String()
			} else {
				s.report.Exit = s.exitErr.Error()
			}
		}
	default:
		s.report.Exit = "running"
	}
}

// disableReason returns the reason of the last "sched_ext: BPF scheduler
// ... disabled (REASON)" kernel message, or "".
func disableReason() string {
	lines := KernelLog()
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if j := strings.Index(l, "disabled ("); j >= 0 && strings.Contains(l, "sched_ext") {
			r := l[j+len("disabled ("):]
			if k := strings.LastIndex(r, ")"); k >= 0 {
				r = r[:k]
			}
			return r
		}
	}
	return ""
}

// kmsgDetail returns the kernel's sched_ext lines for a failure report.
func kmsgDetail() string {
	var keep []string
	for _, l := range KernelLog() {
		if strings.Contains(l, "sched_ext") || strings.Contains(l, "failed to run for") {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return ""
	}
	if len(keep) > 40 {
		keep = keep[len(keep)-40:]
	}
	return "\nkernel log (sched_ext):\n" + strings.Join(keep, "\n")
}

// KernelLog returns the kernel's log buffer, one message per line.
func KernelLog() []string {
	n, err := unix.Klogctl(unix.SYSLOG_ACTION_SIZE_BUFFER, nil)
	if err != nil || n <= 0 {
		n = 1 << 20
	}
	buf := make([]byte, n)
	n, err = unix.Klogctl(unix.SYSLOG_ACTION_READ_ALL, buf)
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(buf[:n]), "\n"), "\n")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// AttachAfter is how long the scheduler took to attach.
func (s *Scheduler) AttachAfter() time.Duration { return s.report.AttachAfter }

// Ops is the sched_ext ops name the kernel reported.
func (s *Scheduler) Ops() string { return s.report.Ops }

// PID is the scheduler's process id.
func (s *Scheduler) PID() int { return s.cmd.Process.Pid }

// SetWatchdog records which stall watchdog timeout is in force: what the
// host read from guest memory (nil if it could not) and how the guest
// knows it.
func (s *Scheduler) SetWatchdog(inForce *wire.Watchdog, text string) {
	s.report.WatchdogInForce, s.report.Watchdog = inForce, text
}

// Watchdog says which stall watchdog timeout is in force.
func (s *Scheduler) Watchdog() string { return s.report.Watchdog }

// start starts the process, with the stall watchdog timeout put into its
// ops when one was asked for. When that cannot be set up the scheduler
// starts with its own, and WatchdogSet says why.
func (s *Scheduler) start() error {
	if s.spec.Watchdog <= 0 {
		return s.cmd.Start()
	}
	setter, err := startWithOpsTimeout(s.cmd, s.spec.Watchdog)
	var se *startError
	switch {
	case err == nil:
		s.setter = setter
		return nil
	case errors.As(err, &se):
		return se.err
	}
	s.setErr = err
	return s.cmd.Start()
}

// stopSetter waits for the supervisor that set the watchdog timeout, once
// the scheduler has exited.
func (s *Scheduler) stopSetter() {
	if s.setter != nil {
		s.setter.stop()
	}
}

// WatchdogSet tells whether the stall watchdog timeout asked for
// (wire.Scheduler.Watchdog) went into the scheduler's ops, and what the
// ops had asked for before (0: nothing, the kernel's default). Call it once
// the scheduler has attached.
func (s *Scheduler) WatchdogSet() (asked time.Duration, err error) {
	switch {
	case s.spec.Watchdog <= 0:
		return 0, errors.New("no timeout was asked for")
	case s.setter == nil:
		return 0, s.setErr
	}
	return s.setter.outcome(5 * time.Second)
}

// enableSeq reads how many times a sched_ext scheduler has been enabled
// since boot.
func enableSeq() int {
	b, err := os.ReadFile(scxDir + "/enable_seq")
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return -1
	}
	return n
}

// ejectedUnseen explains a scheduler that the kernel enabled and then threw
// out before the harness saw it attached: a scheduler that stalls every
// task from its first moment stalls the harness too. seq is enableSeq from
// before the start. It returns nil when that is not what happened.
func (s *Scheduler) ejectedUnseen(seq int) *wire.Failure {
	if seq < 0 || enableSeq() <= seq {
		return nil
	}
	reason := disableReason()
	if reason == "" || strings.Contains(reason, "unregistered from") {
		return nil
	}
	s.fill()
	return &wire.Failure{Kind: check.SchedulerEjected,
		Message: fmt.Sprintf("scheduler %s was ejected by the kernel right after attaching, before the harness could see it attached: %s", s.spec.Name, reason),
		Detail:  "scheduler output:\n" + s.report.Output + kmsgDetail() + traceDetail()}
}
