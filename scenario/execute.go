package scenario

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/plan"
	"github.com/ktstr-go/ktstr/work"
)

// schedulerPoll is how often a hold checks that the scheduler is alive.
const schedulerPoll = 250 * time.Millisecond

// runner carries a plan out inside the guest.
type runner struct {
	ctx     *ktstr.Ctx
	plan    *Plan
	live    map[string]*liveCgroup
	sets    []*workerSet // every work group spawned, in order
	pending []*workerSet // spawned, not started yet
	errs    []error      // problems that did not stop the scenario
}

// liveCgroup is a cgroup the scenario made and has not removed.
type liveCgroup struct {
	cpus  []int // its cpuset; nil: none
	scope plan.Scope
}

// workerSet is one spawned work group.
type workerSet struct {
	w      *ktstr.Workers
	group  work.Group
	origin string // the cgroup it was spawned in
	in     string // the cgroup it is in now
	// expected is the union of the cpusets in force where the workers
	// were while they ran; free is set when they were somewhere without
	// one, and then nothing is expected.
	expected []int
	free     bool
	started  bool
	stopped  bool
	reports  []work.Report
}

// Execute carries the plan out inside the guest: per step it marks a
// phase in the timeline (ctx.Phase), runs the step's operations, sets up
// its Defs, starts every worker spawned and not yet started together,
// holds (checking that the scheduler lives), and tears the Defs down;
// then it tears down what is left and the backdrop.
//
// It returns one check.Group per cgroup that ran workers, in the order
// they were first spawned, holding the workers' reports; the isolation
// check expects of each worker the union of the cpusets in force where it
// was while it ran (none when it ran unrestricted at some point), and the
// group's CPUs are the union over its workers. The groups are not checked:
// pass them to [Check], which records the verdict, or [Evaluate], which
// does not.
//
// An error means the scenario could not be carried out as planned (a
// cgroup or worker operation failed, the scheduler died, workers had to be
// killed); everything is torn down then, and the groups hold the reports
// collected.
func (p *Plan) Execute(ctx *ktstr.Ctx) ([]check.Group, error) {
	r := &runner{ctx: ctx, plan: p, live: map[string]*liveCgroup{}}
	ctx.Logf("scenario: %d %s, %v:\n%s", p.Steps(), plural(p.Steps(), "step"), p.Duration().Round(time.Millisecond), strings.TrimRight(p.String(), "\n"))
	err := r.run()
	if err != nil {
		r.teardown(true)
	}
	if len(r.errs) > 0 {
		err = errors.Join(append([]error{err}, r.errs...)...)
	}
	return r.groups(), err
}

func (r *runner) run() error {
	b := r.plan.p.Backdrop
	r.phase("setup")
	if err := r.setup(b.Defs, plan.ScopeBackdrop); err != nil {
		return fmt.Errorf("backdrop: %w", err)
	}
	if err := r.ops(b, plan.ScopeBackdrop, false); err != nil {
		return err
	}
	steps := r.plan.p.Steps
	for i, st := range steps {
		if err := r.ctx.SchedulerAlive(); err != nil {
			return fmt.Errorf("before %s: the scheduler failed: %w", st.Label, err)
		}
		r.phase(st.Phase)
		if err := r.ops(st, plan.ScopeOp, false); err != nil {
			return err
		}
		if err := r.setup(st.Defs, plan.ScopeStep); err != nil {
			return fmt.Errorf("%s: %w", st.Label, err)
		}
		start, err := r.start()
		if err != nil {
			return fmt.Errorf("%s: %w", st.Label, err)
		}
		if err := r.hold(st, start); err != nil {
			return err
		}
		if i < len(steps)-1 {
			r.teardown(false)
		}
	}
	// Tear-down is a phase of its own: starting it ends the last step, and
	// its time shows in the timeline, as it would not if the last step were
	// closed with Ctx.EndPhase. It stays open past Execute, until the next
	// phase (the next scenario of a catalogue) or the end of the body.
	r.phase("teardown")
	r.teardown(true)
	return nil
}

// phase starts a phase of the timeline, named after the plan when it has
// a name ("cpuset/swap: step 2").
func (r *runner) phase(name string) {
	if r.plan.name != "" {
		name = r.plan.name + ": " + name
	}
	r.ctx.Phase(name)
}

// setup creates the cgroups of defs, sets their cpusets and spawns their
// workers, without starting them.
func (r *runner) setup(defs []plan.ResolvedDef, sc plan.Scope) error {
	for _, d := range defs {
		if err := r.create(d.Name, sc); err != nil {
			return err
		}
		if d.CPUs != nil {
			if err := r.setCpuset(d.Name, d.CPUs); err != nil {
				return err
			}
		}
	}
	for _, d := range defs {
		for _, g := range d.Groups {
			if _, err := r.spawn(d.Name, g); err != nil {
				return err
			}
		}
	}
	return nil
}

// start starts every pending work group and returns when.
func (r *runner) start() (time.Time, error) {
	pending := r.pending
	r.pending = nil
	for _, ws := range pending {
		if err := ws.w.Start(); err != nil {
			return time.Now(), fmt.Errorf("start workers in %s: %w", label(ws.in), err)
		}
		ws.started = true
	}
	return time.Now(), nil
}

// hold waits out the step's hold, repeating its operations at the
// interval of an Every hold, and checks the scheduler on the way.
func (r *runner) hold(st plan.ResolvedStep, start time.Time) error {
	end := start.Add(st.Duration)
	every := st.Hold.Interval()
	next := start.Add(every)
	for {
		now := time.Now()
		if !now.Before(end) {
			break
		}
		wake := now.Add(schedulerPoll)
		if end.Before(wake) {
			wake = end
		}
		if st.Hold.Repeats() && next.Before(wake) {
			wake = next
		}
		time.Sleep(time.Until(wake))
		if err := r.ctx.SchedulerAlive(); err != nil {
			return fmt.Errorf("%s: the scheduler failed at +%v into the step: %w", st.Label, time.Since(start).Round(time.Millisecond), err)
		}
		if st.Hold.Repeats() && !time.Now().Before(next) && next.Before(end) {
			if err := r.ops(st, plan.ScopeOp, true); err != nil {
				return err
			}
			// Operations slower than the interval do not pile up.
			next = later(next.Add(every), time.Now())
		}
	}
	if err := r.ctx.SchedulerAlive(); err != nil {
		return fmt.Errorf("%s: the scheduler failed: %w", st.Label, err)
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// ops applies the step's operations; repeat marks a repetition of an
// Every hold, whose spawned workers start at once.
func (r *runner) ops(st plan.ResolvedStep, sc plan.Scope, repeat bool) error {
	for i, op := range st.Ops {
		if err := r.op(op, sc, repeat); err != nil {
			again := ""
			if repeat {
				again = " repeated"
			}
			return fmt.Errorf("%s: op %d (%v)%s: %w", st.Label, i+1, op.Op, again, err)
		}
	}
	return nil
}

func (r *runner) op(op plan.ResolvedOp, sc plan.Scope, repeat bool) error {
	ctx := r.ctx
	switch op.Kind {
	case OpAddCgroup:
		return r.create(op.Cgroup, sc)
	case OpRemoveCgroup:
		r.stop(r.running(func(ws *workerSet) bool { return plan.IsUnder(ws.in, op.Cgroup) }))
		if err := ctx.Cgroups.Remove(op.Cgroup); err != nil {
			return err
		}
		for n := range r.live {
			if plan.IsUnder(n, op.Cgroup) {
				delete(r.live, n)
			}
		}
	case OpSetCpuset:
		return r.setCpuset(op.Cgroup, op.CPUs)
	case OpClearCpuset:
		return r.setCpuset(op.Cgroup, nil)
	case OpSwapCpusets:
		a, b := r.live[op.Cgroup].cpus, r.live[op.Other].cpus
		if err := r.setCpuset(op.Cgroup, b); err != nil {
			return err
		}
		return r.setCpuset(op.Other, a)
	case OpSpawn, OpSpawnHost:
		ws, err := r.spawn(op.Cgroup, op.Group)
		if err != nil {
			return err
		}
		if repeat {
			r.pending = slices.DeleteFunc(r.pending, func(x *workerSet) bool { return x == ws })
			if err := ws.w.Start(); err != nil {
				return err
			}
			ws.started = true
		}
	case OpStopCgroup:
		r.stop(r.running(func(ws *workerSet) bool { return ws.in == op.Cgroup }))
	case OpSetAffinity:
		return r.setAffinity(op.Cgroup, op.Affinity)
	case OpMoveAllTasks:
		pids, err := ctx.Cgroups.Procs(op.Cgroup)
		if err != nil {
			return fmt.Errorf("tasks of %s: %w", op.Cgroup, err)
		}
		for _, pid := range pids {
			if err := ctx.Cgroups.Move(op.Other, pid); err != nil {
				return err
			}
		}
		for _, ws := range r.running(func(ws *workerSet) bool { return ws.in == op.Cgroup }) {
			ws.in = op.Other
			if err := r.note(ws); err != nil {
				return err
			}
		}
	case OpDo:
		return op.Fn(ctx)
	}
	return nil
}

// create creates a cgroup and records it and its missing parents.
func (r *runner) create(name string, sc plan.Scope) error {
	if err := r.ctx.Cgroups.Create(name); err != nil {
		return err
	}
	// A parent that existed already (made by an AddCgroup) may not pass
	// the controllers down yet; without them the child has no cpuset.
	for _, p := range plan.Parents(name) {
		f := filepath.Join(r.ctx.Cgroups.Path(p), "cgroup.subtree_control")
		for _, c := range []string{"+cpuset", "+cpu"} {
			_ = os.WriteFile(f, []byte(c), 0)
		}
	}
	for _, p := range append(plan.Parents(name), name) {
		if r.live[p] == nil {
			r.live[p] = &liveCgroup{scope: sc}
		}
	}
	return nil
}

// setCpuset sets (nil: clears) a cgroup's cpuset and widens what the
// workers in it and its children may use.
func (r *runner) setCpuset(name string, cpus []int) error {
	if err := r.ctx.Cgroups.SetCpuset(name, cpus); err != nil {
		return err
	}
	r.live[name].cpus = cpus
	for _, ws := range r.running(func(ws *workerSet) bool { return plan.IsUnder(ws.in, name) }) {
		if err := r.note(ws); err != nil {
			return err
		}
	}
	return nil
}

// effective returns the CPUs the cpusets allow in cgroup name, nil when
// neither it nor a parent has a cpuset.
func (r *runner) effective(name string) ([]int, error) {
	if name == "" {
		return nil, nil
	}
	for _, p := range append(plan.Parents(name), name) {
		if c := r.live[p]; c != nil && c.cpus != nil {
			return r.ctx.Cgroups.Cpuset(name)
		}
	}
	return nil, nil
}

// note adds the cpuset now in force where ws is to what it may use.
func (r *runner) note(ws *workerSet) error {
	cpus, err := r.effective(ws.in)
	if err != nil {
		return err
	}
	if !ws.started {
		// Workers not started yet have done nothing: only the cpuset
		// they will start under counts.
		ws.expected, ws.free = cpus, cpus == nil
		return nil
	}
	if cpus == nil {
		ws.free = true
		return nil
	}
	ws.expected = union(ws.expected, cpus)
	return nil
}

// spawn spawns a work group in a cgroup ("" the parent) and leaves it
// pending.
func (r *runner) spawn(cgroup string, g work.Group) (*workerSet, error) {
	w, err := r.ctx.Spawn(cgroup, g) // "" is the guest's root cgroup
	if err != nil {
		return nil, err
	}
	ws := &workerSet{w: w, group: g, origin: cgroup, in: cgroup}
	r.sets = append(r.sets, ws)
	r.pending = append(r.pending, ws)
	return ws, r.note(ws)
}

// running returns the work groups not stopped that match.
func (r *runner) running(match func(*workerSet) bool) []*workerSet {
	var out []*workerSet
	for _, ws := range r.sets {
		if !ws.stopped && match(ws) {
			out = append(out, ws)
		}
	}
	return out
}

// stop stops work groups, all at once, and keeps their reports. Workers
// that had to be killed are recorded as errors of the scenario; their
// reports say so too.
func (r *runner) stop(sets []*workerSet) {
	if len(sets) == 0 {
		return
	}
	errs := make([]error, len(sets))
	var wg sync.WaitGroup
	for i, ws := range sets {
		ws.stopped = true
		r.pending = slices.DeleteFunc(r.pending, func(x *workerSet) bool { return x == ws })
		wg.Go(func() { ws.reports, errs[i] = ws.w.Stop() })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			r.errs = append(r.errs, err)
		}
	}
}

// teardown stops the workers in the cgroups of a step's Defs, or with
// all every worker, and removes those cgroups, innermost first.
func (r *runner) teardown(all bool) {
	match := func(c *liveCgroup) bool { return all || c.scope == plan.ScopeStep }
	r.stop(r.running(func(ws *workerSet) bool {
		if c := r.live[ws.in]; c != nil {
			return match(c)
		}
		return all // the parent cgroup's (or a removed cgroup's)
	}))
	var names []string
	for n, c := range r.live {
		if match(c) {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(-cmp.Compare(strings.Count(a, "/"), strings.Count(b, "/")), strings.Compare(a, b))
	})
	for _, n := range names {
		if err := r.ctx.Cgroups.Remove(n); err != nil {
			r.errs = append(r.errs, err)
		}
		delete(r.live, n)
	}
}

// groups gathers the reports by the cgroup the workers were spawned in.
func (r *runner) groups() []check.Group {
	var out []check.Group
	free := map[string]bool{}
	at := map[string]int{}
	for _, ws := range r.sets {
		if len(ws.reports) == 0 {
			continue
		}
		i, ok := at[ws.origin]
		if !ok {
			i = len(out)
			at[ws.origin] = i
			out = append(out, check.Group{Name: ws.origin})
		}
		g := &out[i]
		for _, rep := range ws.reports {
			rep.Cgroup = ws.origin
			rep.ExpectedCPUs = nil
			if !ws.free {
				rep.ExpectedCPUs = slices.Clone(ws.expected)
			}
			g.Reports = append(g.Reports, rep)
		}
		if ws.free {
			free[ws.origin] = true
		} else {
			g.CPUs = union(g.CPUs, ws.expected)
		}
		g.Nodes = union(g.Nodes, r.nodes(ws))
	}
	for i := range out {
		if free[out[i].Name] {
			out[i].CPUs = nil
		}
	}
	return out
}

// nodes returns the NUMA nodes a work group's memory policy aims at: its
// nodes, or for local allocation the nodes of the CPUs it was allowed.
func (r *runner) nodes(ws *workerSet) []int {
	m := ws.group.MemPolicy
	switch m.Mode {
	case work.MemModeDefault:
		return nil
	case work.MemModeLocal:
		if ws.free {
			return nil
		}
		var nodes []int
		for _, c := range ws.expected {
			if n := r.ctx.Topology.NodeOf(c); n >= 0 {
				nodes = union(nodes, []int{n})
			}
		}
		return nodes
	}
	return slices.Clone(m.Nodes)
}

// setAffinity pins the workers in a cgroup.
func (r *runner) setAffinity(cgroup string, a work.Affinity) error {
	var pids []int
	for _, ws := range r.running(func(ws *workerSet) bool { return ws.in == cgroup }) {
		pids = append(pids, ws.w.PIDs()...)
	}
	if len(pids) == 0 {
		return nil
	}
	cpus, err := r.effective(cgroup)
	if err != nil {
		return err
	}
	t := r.ctx.Topology
	per, err := guest.ResolveAffinity(a, len(pids), cpus, t.CPUs, t.LLCs, uint64(time.Now().UnixNano()))
	if err != nil {
		return err
	}
	for i, pid := range pids {
		set := t.CPUs // inherit: unpinned
		if per != nil {
			set = per[i]
		}
		if err := guest.PinProcess(pid, set); err != nil {
			return err
		}
	}
	return nil
}

// union returns the sorted union of a and b.
func union(a, b []int) []int {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func label(cgroup string) string {
	if cgroup == "" {
		return "the parent cgroup"
	}
	return "cgroup " + cgroup
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
