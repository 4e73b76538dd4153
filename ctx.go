package ktstr

import (
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/ktstr-go/ktstr/internal/cpuset"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// Ctx is what a test body gets inside the guest.
type Ctx struct {
	// Topology is the CPU topology as the guest kernel reports it.
	Topology *CPUTopology
	// Cgroups creates and removes cgroups under the harness's own cgroup
	// parent; whatever the body leaves is removed after it.
	Cgroups *Cgroups
	// Duration is the scenario duration from the Spec.
	Duration time.Duration
	// Scheduler names the scheduler under test ("eevdf" without sched_ext).
	Scheduler string
	// SchedulerPID is the sched_ext scheduler's process id, 0 under EEVDF.
	SchedulerPID int

	workers []*Workers
	reports []wire.WorkerReport
}

// Logf prints to the test's log. Inside the guest this reaches the host's
// test output (shown with -v or on failure).
func (c *Ctx) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

// Sleep waits for d.
func (c *Ctx) Sleep(d time.Duration) { time.Sleep(d) }

// CPUTopology is the CPU topology as the guest kernel reports it in sysfs.
type CPUTopology struct {
	// CPUs lists the online CPUs.
	CPUs []int
	// LLCs lists the CPUs of each last-level cache, ordered by lowest CPU.
	LLCs [][]int
	// Nodes lists the CPUs of each NUMA node, by node id.
	Nodes [][]int
	// Distances is the NUMA distance matrix, by node id.
	Distances [][]int
	// Siblings lists each CPU's SMT siblings, itself included, by CPU id.
	Siblings [][]int
}

func newCPUTopology(g *wire.GuestTopology) *CPUTopology {
	return &CPUTopology{CPUs: g.CPUs, LLCs: g.LLCs, Nodes: g.Nodes, Distances: g.Distances, Siblings: g.Siblings}
}

// LLCOf returns the index of the LLC holding cpu, or -1.
func (t *CPUTopology) LLCOf(cpu int) int {
	for i, l := range t.LLCs {
		if slices.Contains(l, cpu) {
			return i
		}
	}
	return -1
}

// Cgroups manages cgroup v2 groups under the harness's parent cgroup
// (/sys/fs/cgroup/ktstr). Names are relative: "cg0", or "a/b" for nesting.
type Cgroups struct {
	m *guest.Cgroups
}

// Create creates the cgroup name and any missing parents.
func (c *Cgroups) Create(name string) error {
	_, err := c.m.Create(name)
	return err
}

// SetCpuset restricts the cgroup to cpus; nil or empty clears it.
func (c *Cgroups) SetCpuset(name string, cpus []int) error { return c.m.SetCpuset(name, cpus) }

// Move moves process pid into the cgroup.
func (c *Cgroups) Move(name string, pid int) error { return c.m.Move(name, pid) }

// Procs lists the processes in the cgroup.
func (c *Cgroups) Procs(name string) ([]int, error) { return c.m.Procs(name) }

// Remove removes the cgroup and its children, moving their tasks to the
// parent first.
func (c *Cgroups) Remove(name string) error { return c.m.Remove(name) }

// Path returns the cgroup's directory in the cgroup file system.
func (c *Cgroups) Path(name string) string { return c.m.Path(name) }

// Workers is a group of worker processes in one cgroup, started together.
type Workers struct {
	ctx     *Ctx
	w       *guest.Workers
	stopped bool
}

// WorkerReport is what one worker process measured.
type WorkerReport struct {
	// Cgroup is the cgroup the worker ran in.
	Cgroup string
	// PID is the worker's process id.
	PID int
	// WorkUnits counts fixed-size units of work done.
	WorkUnits uint64
	// CPUTime is the CPU time the worker used; WallTime how long it ran.
	CPUTime, WallTime time.Duration
	// CPUs lists the CPUs the worker was seen running on.
	CPUs []int
	// Migrations counts the CPU changes seen.
	Migrations uint64
}

// String summarises the report.
func (r WorkerReport) String() string {
	return fmt.Sprintf("worker %d in %s: %d units, cpu %v of %v wall, CPUs %s, %d migrations",
		r.PID, r.Cgroup, r.WorkUnits, r.CPUTime.Round(time.Millisecond), r.WallTime.Round(time.Millisecond),
		cpuset.Format(r.CPUs), r.Migrations)
}

// Spin starts n CPU-spinning worker processes inside cgroup (which must
// exist). They are created in the cgroup, then started together, so no work
// happens outside it.
func (c *Ctx) Spin(cgroup string, n int) (*Workers, error) {
	w, err := c.SpawnSpinners(cgroup, n)
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
// them; call [Workers.Start]. Use it to place several groups before any
// starts.
func (c *Ctx) SpawnSpinners(cgroup string, n int) (*Workers, error) {
	var out io.Writer = os.Stderr
	gw, err := guest.SpawnWorkers(c.Cgroups.Path(cgroup), cgroup, guest.WorkSpin, n, out)
	if err != nil {
		return nil, err
	}
	w := &Workers{ctx: c, w: gw}
	c.workers = append(c.workers, w)
	return w, nil
}

// PIDs returns the workers' process ids.
func (w *Workers) PIDs() []int { return w.w.PIDs() }

// Start lets the workers begin.
func (w *Workers) Start() error { return w.w.Start() }

// Stop stops the workers and returns their reports. Workers that do not stop
// within 5 s are killed and the error says so.
func (w *Workers) Stop() ([]WorkerReport, error) {
	if w.stopped {
		return nil, fmt.Errorf("workers already stopped")
	}
	w.stopped = true
	rs, err := w.w.Stop(5 * time.Second)
	w.ctx.reports = append(w.ctx.reports, rs...)
	out := make([]WorkerReport, len(rs))
	for i, r := range rs {
		out[i] = WorkerReport{Cgroup: r.Cgroup, PID: r.PID, WorkUnits: r.WorkUnits, CPUTime: r.CPUTime,
			WallTime: r.WallTime, CPUs: r.CPUs, Migrations: r.Migrations}
	}
	return out, err
}

// cleanup stops workers the body left running and removes its cgroups. It
// returns what it had to clean.
func (c *Ctx) cleanup() ([]string, error) {
	var left []string
	for _, w := range c.workers {
		if !w.stopped {
			left = append(left, fmt.Sprintf("%d running workers in %s", len(w.PIDs()), w.w.Cgroup()))
			w.stopped = true
			w.w.Kill()
		}
	}
	cgs, err := c.Cgroups.m.Cleanup()
	for _, cg := range cgs {
		left = append(left, "cgroup "+cg)
	}
	return left, err
}
