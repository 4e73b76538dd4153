package ktstr

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/cpuset"
	"github.com/ktstr-go/ktstr/internal/cputopo"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/work"
)

// Ctx is what a test body gets inside the guest.
type Ctx struct {
	// Topology is the CPU topology as the guest kernel reports it.
	Topology *CPUTopology
	// Cgroups creates and removes cgroups under the harness's own cgroup
	// parent (Scheduler.CgroupParent); whatever the body leaves is removed
	// after it.
	Cgroups *Cgroups
	// Duration is the scenario duration from the Spec.
	Duration time.Duration
	// Scheduler names the scheduler under test ("eevdf" without sched_ext).
	Scheduler string
	// SchedulerPID is the sched_ext scheduler's process id, 0 under EEVDF.
	SchedulerPID int
	// Assert is the check configuration in force: the defaults for the
	// accelerator, then the scheduler's layer, then the test's.
	Assert check.Assert

	sched *guest.Scheduler
	// start is the guest's CLOCK_MONOTONIC when the body started
	// (guest.Monotonic): Elapsed and the timeline count from it, and the
	// result carries it as BodyStart.
	start   time.Duration
	mu      sync.Mutex
	workers []*Workers
	// reports holds the reports of stopped workers not yet checked.
	reports  []work.Report
	all      []work.Report
	checks   *check.Result
	timeline []wire.Phase
	// payloads are the payload runs of the body.
	payloads payloadRuns
}

// Logf prints to the test's log. Inside the guest this reaches the host's
// test output (shown with -v or on failure).
func (c *Ctx) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

// Sleep waits for d.
func (c *Ctx) Sleep(d time.Duration) { time.Sleep(d) }

// Elapsed is the time since the body started.
func (c *Ctx) Elapsed() time.Duration { return guest.Monotonic() - c.start }

// Phase marks the start of a named phase of the body (a scenario step); the
// timeline in the result shows when each began and ended.
func (c *Ctx) Phase(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.Elapsed()
	if n := len(c.timeline); n > 0 && c.timeline[n-1].End == 0 {
		c.timeline[n-1].End = now
	}
	c.timeline = append(c.timeline, wire.Phase{Name: name, At: now})
}

// SchedulerAlive returns an error when the sched_ext scheduler under test
// has died or the kernel has ejected it; nil under EEVDF.
func (c *Ctx) SchedulerAlive() error {
	if c.sched == nil {
		return nil
	}
	if f := c.sched.Check(); f != nil {
		return fmt.Errorf("%s", f.Message)
	}
	return nil
}

// CPUTopology is the CPU topology as the guest kernel reports it in sysfs:
// CPUs, LLCs, Nodes, Distances and Siblings, with LLCOf and NodeOf to
// find a CPU's LLC and node. It is an alias so that package scenario's
// planner, which the ktstr command links, can take it without importing
// this package and the guest runtime behind it.
type CPUTopology = cputopo.Topology

func newCPUTopology(g *wire.GuestTopology) *CPUTopology {
	return &CPUTopology{CPUs: g.CPUs, LLCs: g.LLCs, Nodes: g.Nodes, Distances: g.Distances, Siblings: g.Siblings}
}

// Cgroups manages cgroup v2 groups under the harness's parent cgroup:
// /sys/fs/cgroup/ktstr, or the scheduler's [Scheduler.CgroupParent].
// Names are relative: "cg0", or "a/b" for nesting.
type Cgroups struct {
	m   *guest.Cgroups
	ctx *Ctx
}

// Create creates the cgroup name and any missing parents.
func (c *Cgroups) Create(name string) error {
	_, err := c.m.Create(name)
	return err
}

// SetCpuset restricts the cgroup to cpus; nil or empty clears it. Workers
// already running in the cgroup may from now on use these CPUs too, as far
// as isolation checks are concerned.
func (c *Cgroups) SetCpuset(name string, cpus []int) error {
	if err := c.m.SetCpuset(name, cpus); err != nil {
		return err
	}
	c.ctx.allowCPUs(name, cpus)
	return nil
}

// Cpuset returns the CPUs the cgroup may use (cpuset.cpus.effective).
func (c *Cgroups) Cpuset(name string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(c.m.Path(name), "cpuset.cpus.effective"))
	if err != nil {
		return nil, fmt.Errorf("cpuset of cgroup %s: %w", name, err)
	}
	return cpuset.Parse(strings.TrimSpace(string(b)))
}

// Move moves process pid into the cgroup.
func (c *Cgroups) Move(name string, pid int) error { return c.m.Move(name, pid) }

// Procs lists the processes in the cgroup.
func (c *Cgroups) Procs(name string) ([]int, error) { return c.m.Procs(name) }

// Remove removes the cgroup and its children, moving their tasks to the
// parent first.
func (c *Cgroups) Remove(name string) error { return c.m.Remove(name) }

// Path returns the cgroup's directory in the cgroup file system.
func (c *Cgroups) Path(name string) string { return c.m.Path(name) }

// Workers is a work group's worker processes in one cgroup, started
// together.
type Workers struct {
	ctx     *Ctx
	w       *guest.Workers
	stopped bool
}

// Spawn creates the workers of g inside cgroup (which must exist; "" is the
// guest's root cgroup, for host contention) without starting them: call
// [Workers.Start], after placing every group that should start together.
// The affinity intent of g is resolved against the cgroup's cpuset and the
// guest topology.
func (c *Ctx) Spawn(cgroup string, g work.Group) (*Workers, error) {
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("spawn in %s: %w", cgroupLabel(cgroup), err)
	}
	// cgroup v2 lets no process join a cgroup that hands controllers to
	// its children, as the harness's parent does; "the parent" is
	// therefore the guest's root cgroup, which is exempt.
	dir := guest.CgroupMount
	var cpus []int
	if cgroup != "" {
		dir = c.Cgroups.Path(cgroup)
		var err error
		if cpus, err = c.Cgroups.Cpuset(cgroup); err != nil {
			return nil, err
		}
	}
	aff, err := guest.ResolveAffinity(g.Affinity, g.WorkerCount(), cpus, c.Topology.CPUs, c.Topology.LLCs, uint64(time.Now().UnixNano()))
	if err != nil {
		return nil, fmt.Errorf("spawn in %s: %w", cgroupLabel(cgroup), err)
	}
	gw, err := guest.SpawnGroup(dir, cgroup, g, aff, cpus, os.Stderr)
	if err != nil {
		return nil, err
	}
	w := &Workers{ctx: c, w: gw}
	c.mu.Lock()
	c.workers = append(c.workers, w)
	c.mu.Unlock()
	return w, nil
}

// Run spawns the workers of g in cgroup and starts them.
func (c *Ctx) Run(cgroup string, g work.Group) (*Workers, error) {
	w, err := c.Spawn(cgroup, g)
	if err != nil {
		return nil, err
	}
	if err := w.Start(); err != nil {
		w.w.Kill()
		return nil, err
	}
	return w, nil
}

// SpawnSpinners creates n CPU-spinning workers in cgroup without starting
// them.
func (c *Ctx) SpawnSpinners(cgroup string, n int) (*Workers, error) {
	return c.Spawn(cgroup, work.Group{Type: work.Spin(), Workers: n})
}

// Spin starts n CPU-spinning workers in cgroup.
func (c *Ctx) Spin(cgroup string, n int) (*Workers, error) {
	return c.Run(cgroup, work.Group{Type: work.Spin(), Workers: n})
}

// PIDs returns the workers' process ids.
func (w *Workers) PIDs() []int { return w.w.PIDs() }

// Cgroup returns the workers' cgroup.
func (w *Workers) Cgroup() string { return w.w.Cgroup() }

// Start lets the workers begin.
func (w *Workers) Start() error { return w.w.Start() }

// Stop stops the workers and returns their reports. Workers that do not stop
// within 5 s are killed and the error says so. Reports not checked by the
// body ([Ctx.Check]) are checked against Ctx.Assert when the body ends.
func (w *Workers) Stop() ([]work.Report, error) {
	if w.stopped {
		return nil, fmt.Errorf("workers in %s already stopped", cgroupLabel(w.Cgroup()))
	}
	w.stopped = true
	rs, err := w.w.Collect(5 * time.Second)
	w.ctx.mu.Lock()
	w.ctx.reports = append(w.ctx.reports, rs...)
	w.ctx.all = append(w.ctx.all, rs...)
	w.ctx.mu.Unlock()
	return rs, err
}

// allowCPUs widens the expected CPUs of the running workers of cgroup.
func (c *Ctx) allowCPUs(cgroup string, cpus []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.workers {
		if !w.stopped && w.Cgroup() == cgroup {
			w.w.AllowCPUs(cpus)
		}
	}
}

// Check evaluates reports against Ctx.Assert, grouped by cgroup, records
// the result in the test's result (failures fail the test) and returns it.
// Reports passed here are not checked again when the body ends.
func (c *Ctx) Check(reports ...work.Report) check.Result {
	return c.CheckGroups(check.ByCgroup(reports...)...)
}

// CheckGroupsWith is CheckGroups with extra layers of check configuration
// merged over Ctx.Assert (a scenario's own, say); the last set wins.
func (c *Ctx) CheckGroupsWith(layers []check.Assert, groups ...check.Group) check.Result {
	saved := c.Assert
	c.Assert = check.Merge(append([]check.Assert{saved}, layers...)...)
	defer func() { c.Assert = saved }()
	return c.CheckGroups(groups...)
}

// EndPhase ends the current phase without starting another.
func (c *Ctx) EndPhase() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.timeline); n > 0 && c.timeline[n-1].End == 0 {
		c.timeline[n-1].End = c.Elapsed()
	}
}

// CheckGroups is Check with the groups given: their cpusets and memory
// policy nodes, when the body knows better than the reports.
func (c *Ctx) CheckGroups(groups ...check.Group) check.Result {
	res := check.Evaluate(c.Assert, groups...)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, g := range groups {
		for _, r := range g.Reports {
			c.reports = slices.DeleteFunc(c.reports, func(x work.Report) bool { return x.PID == r.PID })
		}
	}
	if c.checks == nil {
		c.checks = &res
	} else {
		m := c.checks.Merge(res)
		c.checks = &m
	}
	return res
}

// finish checks what the body left unchecked and stops what it left
// running. It returns what it had to clean.
func (c *Ctx) finish() ([]string, error) {
	var left []string
	for _, w := range c.workers {
		if !w.stopped {
			left = append(left, fmt.Sprintf("%d running workers in %s", len(w.PIDs()), cgroupLabel(w.Cgroup())))
			w.stopped = true
			w.w.Kill()
		}
	}
	if len(c.reports) > 0 {
		c.Check(c.reports...)
	}
	c.mu.Lock()
	if n := len(c.timeline); n > 0 && c.timeline[n-1].End == 0 {
		c.timeline[n-1].End = c.Elapsed()
	}
	c.mu.Unlock()
	cgs, err := c.Cgroups.m.Cleanup()
	for _, cg := range cgs {
		left = append(left, "cgroup "+cg)
	}
	return left, err
}

func cgroupLabel(name string) string {
	if name == "" {
		return "the parent cgroup"
	}
	return "cgroup " + name
}
