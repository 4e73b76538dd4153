// Package faults holds, for each fault of ktstr's own scheduler
// (cmd/ktstr-sched, package ktstrsched), a ktstr test case that provokes it
// and the failure the harness must report for it: the failure class (the
// first failure's Kind) and text the failure's message or detail must
// contain.
//
// Every case fails its VM run on purpose, so a test runs it expecting
// that failure (Spec.Expect), and passes when the run fails that way:
//
//	bin, _ := faults.BuildScheduler(dir) // on the host only
//	for _, c := range faults.FaultCases() {
//		t.Run(c.Name, func(t *testing.T) {
//			spec := c.SpecFor(bin)
//			spec.Expect = &ktstr.Expectation{Kind: c.WantKind, Contains: c.WantText}
//			ktstr.Run(t, spec, c.Body)
//		})
//	}
//
// The package is apart from ktstrsched so that the scheduler binary does
// not link the harness.
package faults

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/check"
)

// CgroupDir is where a test body's cgroups are in the guest (the
// harness's parent cgroup): a body's cgroup "victim" is
// CgroupDir+"/victim", which is how the scheduler's flags name it.
const CgroupDir = "/sys/fs/cgroup" + ktstr.DefaultCgroupParent

// BinaryName is the scheduler binary's base name; the harness packs it
// into the guest under that name.
const BinaryName = "ktstr-sched"

// FaultCase is one fault and the failure it must produce.
type FaultCase struct {
	// Name names the case, e.g. "Stall".
	Name string
	// Args are ktstr-sched's flags that inject the fault.
	Args []string
	// Spec is the rest of the test's spec: topology, duration, watchdog,
	// checks. SpecFor adds the scheduler.
	Spec ktstr.Spec
	// Body is the test body; it runs in the guest.
	Body ktstr.Body
	// WantKind is the class of the run's first failure:
	// "scheduler-ejected", "scheduler-died", or a check's kind such as
	// "starved", "stuck" or the host monitor's "work-conservation", or
	// "body".
	WantKind check.Kind
	// WantText must each appear in the first failure's message or
	// detail.
	WantText []string
	// Note says what the case shows, for a person reading the result.
	Note string
}

// Scheduler returns ktstr-sched at path (the host's binary) with args.
func Scheduler(path string, args ...string) ktstr.Scheduler {
	return ktstr.Scheduler{Name: BinaryName, Path: path, Args: args, Ops: "ktstr"}
}

// SpecFor returns the case's spec running ktstr-sched from bin, the host
// path of the binary ([BuildScheduler]); in the guest any path with the
// right base name does.
func (c FaultCase) SpecFor(bin string) ktstr.Spec {
	s := c.Spec
	s.Scheduler = Scheduler(bin, c.Args...)
	return s
}

// BuildScheduler builds cmd/ktstr-sched, static (CGO_ENABLED=0), into dir
// and returns its path. It needs the go command and this module's sources,
// so call it on the host only (not in the guest, where there is neither).
func BuildScheduler(dir string) (string, error) {
	out := filepath.Join(dir, BinaryName)
	cmd := exec.Command("go", "build", "-o", out, "github.com/ktstr-go/ktstr/cmd/ktstr-sched")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", BinaryName, err, b)
	}
	return out, nil
}

// FaultCases returns one case per fault of the scheduler.
func FaultCases() []FaultCase {
	twoCPUs := ktstr.Topo(1, 1, 2, 1)
	fourCPUs := ktstr.Topo(1, 1, 4, 1)
	return []FaultCase{
		{
			Name: "Stall",
			Args: []string{"--stall-cgroup", CgroupDir + "/victim", "--timeout", "2s"},
			// Watchdog -1 keeps the scheduler's own timeout (ops.timeout_ms
			// from --timeout) instead of the harness's forced one.
			Spec:     ktstr.Spec{Topology: twoCPUs, Watchdog: -1},
			Body:     stallBody,
			WantKind: check.SchedulerEjected,
			WantText: []string{"runnable task stall", "failed to run for"},
			Note:     "the tasks of one cgroup are never dispatched; the kernel's watchdog (2 s, set by the scheduler) ejects it",
		},
		{
			Name:     "StopDispatch",
			Args:     []string{"--stop-after", "1s", "--timeout", "2s"},
			Spec:     ktstr.Spec{Topology: twoCPUs, Watchdog: -1},
			Body:     spinUntilGone("all", 3),
			WantKind: check.SchedulerEjected,
			WantText: []string{"runnable task stall"},
			Note:     "nothing is dispatched from 1 s on; the watchdog ejects the scheduler",
		},
		{
			Name:     "Escape",
			Args:     []string{"--escape-cgroup", CgroupDir + "/escapee"},
			Spec:     ktstr.Spec{Topology: twoCPUs},
			Body:     escapeBody,
			WantKind: check.SchedulerEjected,
			WantText: []string{"runtime error", "not allowed for"},
			Note: "the cgroup's tasks are dispatched to a CPU outside their cpuset; the kernel refuses the dispatch and ejects the scheduler. " +
				"No sched_ext scheduler can run a task outside its cpuset, so the harness's isolation check is never what catches this",
		},
		{
			Name:     "Pin",
			Args:     []string{"--pin-cgroup", CgroupDir + "/pinned"},
			Spec:     ktstr.Spec{Topology: twoCPUs},
			Body:     pinBody,
			WantKind: check.Body,
			WantText: []string{"pinned", "ran only on CPU"},
			Note: "the misplacement the kernel allows: a cgroup's tasks all on the first CPU of its cpuset. " +
				"No harness check flags it (the workers stay inside their cpuset and progress); the body measures it",
		},
		{
			Name: "OneCPU",
			Args: []string{"--one-cpu"},
			// Four CPUs, so that three sit idle beside CPU 0; 4 s, so that
			// after the monitor's warm-up (0.5 s) the idle CPUs exceed its
			// limit (MaxIdleWhileWaiting: 1 s, 2 s under TCG) by far.
			Spec:     ktstr.Spec{Topology: fourCPUs, Duration: 4 * time.Second},
			Body:     oneCPUBody,
			WantKind: check.WorkConservation,
			WantText: []string{"work not conserved"},
			Note: "every task runs on the first CPU it may use: one spinner per CPU, all allowed everywhere, share CPU 0 while CPUs 1-3 idle. " +
				"Nothing starves and the watchdog stays quiet (CPU 0 serves its queue round-robin); only the host monitor's work-conservation check sees it",
		},
		{
			Name: "Starve",
			Args: []string{"--starve-below-weight", "10"},
			// The starved workers wait for longer than the harness's
			// default 4 s watchdog: keep the scheduler's (30 s).
			Spec:     ktstr.Spec{Topology: twoCPUs, Watchdog: -1},
			Body:     starveBody,
			WantKind: check.Starved,
			WantText: []string{"cgroup low: worker", "starved"},
			Note:     "nice-19 workers (weight 1) run only on idle CPUs, and CPU hogs keep every CPU busy",
		},
		{
			Name:     "ErrorAfter",
			Args:     []string{"--error-after", "1s"},
			Spec:     ktstr.Spec{Topology: twoCPUs},
			Body:     spinUntilGone("all", 2),
			WantKind: check.SchedulerEjected,
			WantText: []string{"scx_bpf_error", "ktstr: injected error 1000 ms after loading"},
			Note:     "the BPF program calls scx_bpf_error() after 1 s; the kernel ejects the scheduler (exit kind 1025, reason \"scx_bpf_error\")",
		},
		{
			Name:     "ExitAfter",
			Args:     []string{"--exit-after", "1s"},
			Spec:     ktstr.Spec{Topology: twoCPUs},
			Body:     spinUntilGone("all", 2),
			WantKind: check.SchedulerDied,
			WantText: []string{"exit status 2", "injected exit"},
			Note:     "the BPF program calls scx_bpf_exit() after 1 s and the scheduler process exits 2: a scheduler death",
		},
		{
			Name: "SlowDispatch",
			Args: []string{"--slow-dispatch", "800ms", "--slow-cgroup", CgroupDir + "/slow"},
			// Two spinners sharing one CPU. Whenever one is put back in the
			// queue (another task took the CPU at the end of its slice) it
			// is held 800 ms; measured gaps were 1.6 s (both held in
			// turn). Under the default policy two spinners per CPU went at
			// most 100-250 ms unscheduled (TCG, 2-core host running other
			// VMs).
			Spec: ktstr.Spec{Topology: twoCPUs, Duration: 3 * time.Second,
				Assert: check.Assert{MaxGap: check.Set(500 * time.Millisecond)}},
			Body:     slowBody,
			WantKind: check.Stuck,
			WantText: []string{"stuck", "limit 500 ms"},
			Note: "one cgroup's tasks, when put back in the queue still runnable, wait 800 ms before being dispatched again; " +
				"a 500 ms gap limit catches it (the measured gaps were about 1.6 s)",
		},
	}
}

// waitGone waits up to limit for the scheduler to be disabled or to die,
// then a second more so that it can report and exit.
func waitGone(ctx *ktstr.Ctx, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if err := ctx.SchedulerAlive(); err != nil {
			ctx.Logf("scheduler gone at +%v: %v", ctx.Elapsed().Round(time.Millisecond), err)
			time.Sleep(time.Second)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the scheduler still runs after %v", limit)
}

// spinUntilGone spins n workers in cgroup cg until the scheduler is gone.
func spinUntilGone(cg string, n int) ktstr.Body {
	return func(ctx *ktstr.Ctx) error {
		if err := ctx.Cgroups.Create(cg); err != nil {
			return err
		}
		w, err := ctx.Spin(cg, n)
		if err != nil {
			return err
		}
		gone := waitGone(ctx, 20*time.Second)
		_, err = w.Stop()
		return errors.Join(gone, err)
	}
}

// settle gives the scheduler's loader time to see a new cgroup (it looks
// every 50 ms).
func settle() { time.Sleep(300 * time.Millisecond) }

func stallBody(ctx *ktstr.Ctx) error {
	for _, cg := range []string{"victim", "bystander"} {
		if err := ctx.Cgroups.Create(cg); err != nil {
			return err
		}
	}
	settle()
	victim, err := ctx.SpawnSpinners("victim", 2)
	if err != nil {
		return err
	}
	other, err := ctx.SpawnSpinners("bystander", 2)
	if err != nil {
		return err
	}
	for _, w := range []*ktstr.Workers{victim, other} {
		if err := w.Start(); err != nil {
			return err
		}
	}
	gone := waitGone(ctx, 20*time.Second)
	_, err1 := victim.Stop()
	_, err2 := other.Stop()
	return errors.Join(gone, err1, err2)
}

// escapeBody confines two spinners to the first CPU: the scheduler
// dispatches them to the other one.
func escapeBody(ctx *ktstr.Ctx) error {
	cpus := ctx.Topology.CPUs
	if len(cpus) < 2 {
		return fmt.Errorf("needs 2 CPUs, have %v", cpus)
	}
	if err := ctx.Cgroups.Create("escapee"); err != nil {
		return err
	}
	if err := ctx.Cgroups.SetCpuset("escapee", cpus[:1]); err != nil {
		return err
	}
	settle()
	w, err := ctx.Spin("escapee", 2)
	if err != nil {
		return err
	}
	gone := waitGone(ctx, 20*time.Second)
	_, err = w.Stop()
	return errors.Join(gone, err)
}

// pinBody runs one spinner per CPU of the cgroup's cpuset and checks that
// they spread over it; under --pin-cgroup they share its first CPU.
func pinBody(ctx *ktstr.Ctx) error {
	cpus := ctx.Topology.CPUs
	if err := ctx.Cgroups.Create("pinned"); err != nil {
		return err
	}
	if err := ctx.Cgroups.SetCpuset("pinned", cpus); err != nil {
		return err
	}
	settle()
	w, err := ctx.Spin("pinned", len(cpus))
	if err != nil {
		return err
	}
	ctx.Sleep(ctx.Duration)
	reports, err := w.Stop()
	if err != nil {
		return err
	}
	var used []int
	var share float64
	for _, r := range reports {
		ctx.Logf("%v", r)
		used = append(used, r.CPUs...)
		if r.WallTime > 0 {
			share += float64(r.CPUTime) / float64(r.WallTime)
		}
	}
	slices.Sort(used)
	used = slices.Compact(used)
	if len(used) < len(cpus) {
		return fmt.Errorf("pinned: %d spinners on a cpuset of %d CPUs ran only on CPU %v, %.2f CPUs' worth", len(reports), len(cpus), used, share)
	}
	return nil
}

// oneCPUBody runs one spinner per CPU, allowed on every CPU, for the
// duration: a work-conserving scheduler gives each a CPU; under
// --one-cpu they all wait their turn on CPU 0. The monitor judges the
// run; the body only logs where the workers ran.
func oneCPUBody(ctx *ktstr.Ctx) error {
	if err := ctx.Cgroups.Create("crowd"); err != nil {
		return err
	}
	return spinLogged(ctx, "crowd", len(ctx.Topology.CPUs))
}

// starveBody runs CPU hogs on every CPU and two nice-19 spinners beside
// them; the spinners are stopped first, while the hogs still run, and
// checked on their own.
func starveBody(ctx *ktstr.Ctx) error {
	n := len(ctx.Topology.CPUs)
	for _, cg := range []string{"hogs", "low"} {
		if err := ctx.Cgroups.Create(cg); err != nil {
			return err
		}
	}
	hogs, err := ctx.SpawnSpinners("hogs", n+1)
	if err != nil {
		return err
	}
	low, err := ctx.SpawnSpinners("low", 2)
	if err != nil {
		return err
	}
	for _, pid := range low.PIDs() {
		if err := niceAll(pid, 19); err != nil {
			return err
		}
	}
	for _, w := range []*ktstr.Workers{hogs, low} {
		if err := w.Start(); err != nil {
			return err
		}
	}
	ctx.Sleep(ctx.Duration)
	// The low-weight workers cannot answer the stop while the hogs run:
	// they are killed after the stop deadline, with no work done.
	lowReports, err := low.Stop()
	if err != nil {
		ctx.Logf("stopping the low-weight workers: %v", err)
	}
	res := ctx.Check(lowReports...)
	ctx.Logf("low-weight workers: %d check failures", len(res.Failures))
	if _, err := hogs.Stop(); err != nil {
		return err
	}
	return nil
}

// niceAll sets the nice value of every thread of process pid.
func niceAll(pid, nice int) error {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, nice); err != nil {
			return fmt.Errorf("nice %d for thread %d of %d: %w", nice, tid, pid, err)
		}
	}
	return nil
}

// slowBody runs two spinners on the first CPU for the duration; the
// end-of-body checks judge their gaps.
func slowBody(ctx *ktstr.Ctx) error {
	if err := ctx.Cgroups.Create("slow"); err != nil {
		return err
	}
	if err := ctx.Cgroups.SetCpuset("slow", ctx.Topology.CPUs[:1]); err != nil {
		return err
	}
	settle()
	return spinLogged(ctx, "slow", 2)
}

// spinLogged runs n spinners in cgroup cg for the duration and logs their
// reports.
func spinLogged(ctx *ktstr.Ctx, cg string, n int) error {
	w, err := ctx.Spin(cg, n)
	if err != nil {
		return err
	}
	ctx.Sleep(ctx.Duration)
	reports, err := w.Stop()
	for _, r := range reports {
		ctx.Logf("%v", r)
	}
	return err
}
