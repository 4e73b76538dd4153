package scenario

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/work"
)

// Scenario is a ready-made scenario of the catalogue ([All]).
type Scenario struct {
	// Name is "category/name", e.g. "cpuset/swap".
	Name string
	// Category groups scenarios: basic, cpuset, dynamic, affinity,
	// nested, stress, fairness, sched-class.
	Category string
	// Description says in one line what runs.
	Description string
	// Build returns the scenario's backdrop and steps for a topology and
	// a test duration; they adapt to the topology where they can (one
	// cgroup per LLC, workers per usable CPU).
	Build func(t *ktstr.CPUTopology, d time.Duration) (Backdrop, []Step)
	// Assert is the scenario's own layer of checks, merged over
	// ctx.Assert when Run checks its workers: a check that cannot apply to
	// the workload is switched off here, and the Description says so.
	Assert check.Assert
	// Run runs the scenario in a test body: Build for ctx.Topology and
	// ctx.Duration, run the steps as [RunWith] does, and check the
	// workers against ctx.Assert with Assert merged over it. Its phases
	// and checked groups carry the scenario's name ("cpuset/swap: step
	// 2", "cpuset/swap:cg0").
	Run func(ctx *ktstr.Ctx) (check.Result, error)
}

// customWork is the custom work function the catalogue's fairness/custom
// runs: FNV-1a rounds, a unit per 4096. Registered here, it exists in
// every test binary that imports this package, workers included.
const customWork = "scenario/fnv"

func init() {
	work.Register(customWork, func(stop *atomic.Bool, r *work.Report) {
		h := uint64(14695981039346656037)
		for !stop.Load() {
			for i := range 4096 {
				h = (h ^ uint64(i)) * 1099511628211
			}
			r.WorkUnits++
		}
		if h == 0 {
			r.Exit = "hash collapsed"
		}
	})
}

// All returns the catalogue, ordered by category, then name.
func All() []Scenario {
	out := slices.Clone(catalogue)
	slices.SortStableFunc(out, func(a, b Scenario) int {
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// Lookup returns the scenario called name ("cpuset/swap"), or an error
// listing the names.
func Lookup(name string) (Scenario, error) {
	for _, s := range catalogue {
		if s.Name == name {
			return s, nil
		}
	}
	names := make([]string, len(catalogue))
	for i, s := range catalogue {
		names[i] = s.Name
	}
	slices.Sort(names)
	return Scenario{}, fmt.Errorf("unknown scenario %q (have: %s)", name, strings.Join(names, ", "))
}

// RunCatalogue runs the named catalogue scenarios one after another in a
// test body, each for ctx.Duration: the way to put a scheduler through a
// set of scenarios in one VM. Every scenario's checks are recorded in the
// test's result (a failure fails the test) and its verdict and figures
// are logged under its name. The cgroup names repeat from one scenario to
// the next, so failure messages and the result file name each cgroup
// "<scenario>:<cgroup>" ("cpuset/swap:cg0"), and the timeline's phases
// carry the scenario's name: a scheduler that dies is reported with the
// scenario and step it died in.
//
// An unknown name is an error before anything runs. A scenario that
// could not be carried out (see [Run]) does not stop the others, unless
// the sched_ext scheduler under test is gone: then the rest would only
// measure EEVDF. The errors are joined.
func RunCatalogue(ctx *ktstr.Ctx, names ...string) error {
	set := make([]Scenario, len(names))
	for i, name := range names {
		s, err := Lookup(name)
		if err != nil {
			return err
		}
		set[i] = s
	}
	var errs []error
	for _, s := range set {
		t0 := time.Now()
		res, err := s.Run(ctx)
		verdict := "passed"
		if !res.Passed {
			verdict = "FAILED:\n" + res.Err().Error()
		}
		ctx.Logf("=== %s (%v): %s\n%s", s.Name, time.Since(t0).Round(time.Millisecond), verdict, res.Stats.Format())
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Name, err))
		}
		if err := ctx.SchedulerAlive(); err != nil {
			errs = append(errs, fmt.Errorf("after %s: %w", s.Name, err))
			break
		}
	}
	return errors.Join(errs...)
}

// catalogue is every scenario, as built by define.
var catalogue = buildCatalogue()

// define makes a catalogue entry whose Run builds and runs it.
func define(name, desc string, build func(t *ktstr.CPUTopology, d time.Duration) (Backdrop, []Step)) Scenario {
	return defineWith(name, desc, check.Assert{}, build)
}

// defineWith is define with the scenario's own layer of checks.
func defineWith(name, desc string, a check.Assert, build func(t *ktstr.CPUTopology, d time.Duration) (Backdrop, []Step)) Scenario {
	cat, _, _ := strings.Cut(name, "/")
	return Scenario{
		Name: name, Category: cat, Description: desc, Build: build, Assert: a,
		Run: func(ctx *ktstr.Ctx) (check.Result, error) {
			b, steps := build(ctx.Topology, ctx.Duration)
			return run(ctx, name, []check.Assert{a}, b, steps)
		},
	}
}

// steady is a build of defs held for the whole duration.
func steady(defs func(t *ktstr.CPUTopology) []CgroupDef) func(*ktstr.CPUTopology, time.Duration) (Backdrop, []Step) {
	return func(t *ktstr.CPUTopology, _ time.Duration) (Backdrop, []Step) {
		return Backdrop{}, []Step{{Defs: defs(t), Hold: Frac(1)}}
	}
}

// spin is a group of n spinners (n 0: the default count).
func spin(n int) work.Group { return work.Group{Type: work.Spin(), Workers: n} }

// pair is the two cgroups most scenarios use, with default spinners.
func pair(c0, c1 Cpuset) []CgroupDef {
	return []CgroupDef{{Name: "cg0", Cpuset: c0}, {Name: "cg1", Cpuset: c1}}
}

// halves are the two disjoint halves of the usable CPUs.
var halves = [2]Cpuset{Disjoint(0, 2), Disjoint(1, 2)}

// third is a third of the duration.
var third = Frac(1.0 / 3)

func buildCatalogue() []Scenario {
	s := []Scenario{
		define("basic/steady", "2 cgroups of spinners, no cpusets, for the whole run",
			steady(func(*ktstr.CPUTopology) []CgroupDef { return pair(Cpuset{}, Cpuset{}) })),
		define("basic/steady-llc", "one cgroup of spinners per LLC, its cpuset that LLC",
			steady(func(t *ktstr.CPUTopology) []CgroupDef {
				var defs []CgroupDef
				usable := UsableCPUs(t)
				for i, llc := range t.LLCs {
					if len(intersect(llc, usable)) > 0 {
						defs = append(defs, CgroupDef{Name: fmt.Sprintf("cg%d", i), Cpuset: LLC(i)})
					}
				}
				return defs
			})),
		define("basic/mixed-workloads", "spinners, bursty workers and io-sync workers, a cgroup each",
			steady(func(*ktstr.CPUTopology) []CgroupDef {
				return []CgroupDef{
					{Name: "heavy", Work: []work.Group{spin(2)}},
					{Name: "bursty", Work: []work.Group{{Type: work.Bursty(50*time.Millisecond, 100*time.Millisecond)}}},
					{Name: "io", Work: []work.Group{{Type: work.IOSync()}}},
				}
			})),
		define("basic/host-contention", "2 cgroups of spinners against one spinner per CPU in the parent cgroup",
			func(t *ktstr.CPUTopology, _ time.Duration) (Backdrop, []Step) {
				return Backdrop{}, []Step{{
					Defs: pair(Cpuset{}, Cpuset{}),
					Ops:  []Op{SpawnHost(spin(len(t.CPUs)))},
					Hold: Frac(1),
				}}
			}),
		define("stress/oversubscribed", "2 cgroups with 2 mixed spin/yield workers per usable CPU each",
			steady(func(t *ktstr.CPUTopology) []CgroupDef {
				g := work.Group{Type: work.Mixed(), Workers: 2 * len(UsableCPUs(t))}
				return []CgroupDef{{Name: "cg0", Work: []work.Group{g}}, {Name: "cg1", Work: []work.Group{g}}}
			})),
		define("stress/cgroup-per-cpu", "one cgroup of 2 spinners per usable CPU, pinned to it by its cpuset",
			steady(func(t *ktstr.CPUTopology) []CgroupDef {
				var defs []CgroupDef
				for _, c := range UsableCPUs(t) {
					defs = append(defs, CgroupDef{Name: fmt.Sprintf("cpu%d", c), Cpuset: Exact(c)})
				}
				return defs
			})),
		define("cpuset/overlap", "3 cgroups of spinners on cpusets that overlap their neighbours' by half",
			steady(func(t *ktstr.CPUTopology) []CgroupDef {
				n := min(3, len(UsableCPUs(t)))
				var defs []CgroupDef
				for i := range n {
					defs = append(defs, CgroupDef{Name: fmt.Sprintf("cg%d", i), Cpuset: Overlap(i, n, 0.5)})
				}
				return defs
			})),
		define("cpuset/apply-midrun", "2 cgroups of spinners run free, then get disjoint cpusets halfway",
			func(*ktstr.CPUTopology, time.Duration) (Backdrop, []Step) {
				return Backdrop{Defs: pair(Cpuset{}, Cpuset{})}, []Step{
					{Name: "free", Hold: Frac(0.5)},
					{Name: "apply", Ops: []Op{SetCpuset("cg0", halves[0]), SetCpuset("cg1", halves[1])}, Hold: Frac(0.5)},
				}
			}),
		define("cpuset/clear-midrun", "2 cgroups of spinners on disjoint cpusets, cleared halfway",
			func(*ktstr.CPUTopology, time.Duration) (Backdrop, []Step) {
				return Backdrop{Defs: pair(halves[0], halves[1])}, []Step{
					{Name: "split", Hold: Frac(0.5)},
					{Name: "clear", Ops: []Op{ClearCpuset("cg0"), ClearCpuset("cg1")}, Hold: Frac(0.5)},
				}
			}),
		define("cpuset/resize", "a cgroup's cpuset shrinks to a quarter of the CPUs, then grows to three quarters",
			func(*ktstr.CPUTopology, time.Duration) (Backdrop, []Step) {
				return Backdrop{Defs: pair(halves[0], halves[1])}, []Step{
					{Name: "split", Hold: third},
					{Name: "shrink", Ops: []Op{SetCpuset("cg0", Range(0, 0.25))}, Hold: third},
					{Name: "grow", Ops: []Op{SetCpuset("cg0", Range(0, 0.75))}, Hold: third},
				}
			}),
		define("cpuset/swap", "2 cgroups on disjoint cpusets swap them, then keep swapping",
			func(_ *ktstr.CPUTopology, d time.Duration) (Backdrop, []Step) {
				return Backdrop{Defs: pair(halves[0], halves[1])}, []Step{
					{Name: "split", Hold: third},
					{Name: "swapping", Ops: []Op{SwapCpusets("cg0", "cg1")}, Hold: Every(d/6, Frac(2.0/3))},
				}
			}),
		define("dynamic/add-midrun", "2 cgroups of spinners; a third joins halfway",
			func(*ktstr.CPUTopology, time.Duration) (Backdrop, []Step) {
				return Backdrop{Defs: pair(Cpuset{}, Cpuset{})}, []Step{
					{Name: "two", Hold: Frac(0.5)},
					{Name: "three", Defs: []CgroupDef{{Name: "cg2"}}, Hold: Frac(0.5)},
				}
			}),
		define("dynamic/remove-midrun", "2 cgroups of spinners; one is stopped and removed halfway",
			func(*ktstr.CPUTopology, time.Duration) (Backdrop, []Step) {
				return Backdrop{Defs: []CgroupDef{{Name: "cg0"}}}, []Step{
					{Name: "two", Ops: []Op{AddCgroup("cg1"), Spawn("cg1", spin(0))}, Hold: Frac(0.5)},
					{Name: "one", Ops: []Op{StopCgroup("cg1"), RemoveCgroup("cg1")}, Hold: Frac(0.5)},
				}
			}),
		define("dynamic/rapid-churn", "a cgroup created, given a cpuset and removed 20 times a run, beside 2 cgroups of spinners",
			func(_ *ktstr.CPUTopology, d time.Duration) (Backdrop, []Step) {
				// The spinners keep to the usable CPUs: the churn keeps
				// the harness busy on the CPU left to it.
				return Backdrop{Defs: pair(halves[0], halves[1])}, []Step{{
					Name: "churn",
					Ops:  []Op{AddCgroup("churn"), SetCpuset("churn", halves[0]), RemoveCgroup("churn")},
					Hold: Every(d/20, Frac(1)),
				}}
			}),
		define("affinity/change", "2 cgroups of spinners re-pinned to random CPU subsets every sixth of the run, then unpinned",
			func(_ *ktstr.CPUTopology, d time.Duration) (Backdrop, []Step) {
				return Backdrop{Defs: pair(Cpuset{}, Cpuset{})}, []Step{
					{Name: "free", Hold: third},
					{Name: "random", Ops: []Op{SetAffinity("cg0", work.RandomSubset), SetAffinity("cg1", work.RandomSubset)}, Hold: Every(d/6, third)},
					{Name: "unpinned", Ops: []Op{SetAffinity("cg0", work.Inherit), SetAffinity("cg1", work.Inherit)}, Hold: third},
				}
			}),
		define("affinity/pinned", "spinners pinned to a 2-CPU subset beside spinners pinned one per CPU, then all re-pinned LLC-aligned",
			func(t *ktstr.CPUTopology, _ time.Duration) (Backdrop, []Step) {
				usable := UsableCPUs(t)
				sub := usable[:min(2, len(usable))]
				return Backdrop{Defs: []CgroupDef{
						{Name: "subset", Work: []work.Group{{Type: work.Spin(), Affinity: work.Exact(sub...)}}},
						{Name: "single", Work: []work.Group{{Type: work.Spin(), Affinity: work.SingleCPU}}},
					}}, []Step{
						{Name: "pinned", Hold: Frac(0.5)},
						{Name: "llc-aligned", Ops: []Op{SetAffinity("subset", work.LLCAligned), SetAffinity("single", work.LLCAligned)}, Hold: Frac(0.5)},
					}
			}),
		define("nested/steady", "spinners in nested cgroups nest/a, nest/b and nest/sub/c",
			steady(func(*ktstr.CPUTopology) []CgroupDef {
				return []CgroupDef{{Name: "nest/a"}, {Name: "nest/b"}, {Name: "nest/sub/c"}}
			})),
		define("nested/cpuset", "nested cgroups of spinners whose parent's cpuset moves to the other half, then is cleared",
			func(*ktstr.CPUTopology, time.Duration) (Backdrop, []Step) {
				return Backdrop{
						Defs: []CgroupDef{{Name: "nest/a"}, {Name: "nest/b"}},
						Ops:  []Op{SetCpuset("nest", halves[0])},
					}, []Step{
						{Name: "first-half", Hold: third},
						{Name: "second-half", Ops: []Op{SetCpuset("nest", halves[1])}, Hold: third},
						{Name: "cleared", Ops: []Op{ClearCpuset("nest")}, Hold: third},
					}
			}),
		define("nested/task-move", "spinners moved between sibling nested cgroups on disjoint cpusets, and back",
			func(*ktstr.CPUTopology, time.Duration) (Backdrop, []Step) {
				return Backdrop{
						Defs: []CgroupDef{{Name: "nest/a", Cpuset: halves[0]}},
						Ops:  []Op{AddCgroup("nest/b"), SetCpuset("nest/b", halves[1])},
					}, []Step{
						{Name: "in-a", Hold: third},
						{Name: "in-b", Ops: []Op{MoveAllTasks("nest/a", "nest/b")}, Hold: third},
						{Name: "back-in-a", Ops: []Op{MoveAllTasks("nest/b", "nest/a")}, Hold: third},
					}
			}),
		define("sched-class/batch", "2 cgroups of SCHED_BATCH spinners",
			steady(func(*ktstr.CPUTopology) []CgroupDef { return policyPair(work.Batch) })),
		define("sched-class/idle", "2 cgroups of SCHED_IDLE spinners",
			steady(func(*ktstr.CPUTopology) []CgroupDef { return policyPair(work.Idle) })),
		define("sched-class/fifo", "a SCHED_FIFO bursty worker (500 ms on, 250 ms off) beside a cgroup of normal spinners",
			steady(func(*ktstr.CPUTopology) []CgroupDef {
				return []CgroupDef{
					{Name: "fifo", Work: []work.Group{{Type: work.Bursty(500*time.Millisecond, 250*time.Millisecond), Workers: 1, Policy: work.FIFO(1)}}},
					{Name: "normal"},
				}
			})),
		define("sched-class/rr", "2 SCHED_RR spinners sharing one CPU, normal spinners on the others",
			steady(func(t *ktstr.CPUTopology) []CgroupDef {
				usable := UsableCPUs(t)
				rr := CgroupDef{Name: "rr", Cpuset: Exact(usable[0]), Work: []work.Group{{Type: work.Spin(), Policy: work.RR(1)}}}
				if len(usable) < 2 {
					return []CgroupDef{rr}
				}
				return []CgroupDef{rr, {Name: "normal", Cpuset: Range(1/float64(len(usable)), 1)}}
			})),
		define("sched-class/mixed", "a cgroup each of normal, SCHED_BATCH and SCHED_IDLE spinners and a SCHED_FIFO bursty worker",
			steady(func(*ktstr.CPUTopology) []CgroupDef {
				return []CgroupDef{
					{Name: "normal"},
					{Name: "batch", Work: []work.Group{{Type: work.Spin(), Policy: work.Batch}}},
					{Name: "idle", Work: []work.Group{{Type: work.Spin(), Policy: work.Idle}}},
					{Name: "fifo", Work: []work.Group{{Type: work.Bursty(500*time.Millisecond, 250*time.Millisecond), Workers: 1, Policy: work.FIFO(1)}}},
				}
			})),
	}
	for _, k := range work.AllKinds() {
		typ := FairnessType(k)
		desc := fmt.Sprintf("2 cgroups of %s workers, 2 per CPU (whole groups), each on the usable CPUs of its own LLC (else half of them)", k)
		var a check.Assert
		switch k {
		case work.NiceSweepKind, work.PolicyChurnKind:
			// Workers sharing a CPU at different nice levels or
			// policies (idle, fifo) get unequal shares on purpose.
			desc += "; spread not checked: the workers' weights differ by design"
			a.MaxSpreadPct = check.Disable[float64]()
		}
		s = append(s, defineWith("fairness/"+string(k), desc, a,
			steady(func(t *ktstr.CPUTopology) []CgroupDef {
				var defs []CgroupDef
				for i, h := range llcHalves(t) {
					cpus, _ := h.Resolve(t) // an impossible half fails validation
					g := work.Group{Type: typ, Workers: fairnessWorkers(typ, 2*len(cpus))}
					defs = append(defs, CgroupDef{Name: fmt.Sprintf("cg%d", i), Cpuset: h, Work: []work.Group{g}})
				}
				return defs
			})))
	}
	return s
}

// llcHalves are two disjoint cpusets within one LLC each: the first two
// LLCs with usable CPUs, or the halves of the usable CPUs when there are
// not two. A cpuset that spans LLCs is balanced between them less often,
// which leaves a cgroup's workers unevenly spread for a while.
func llcHalves(t *ktstr.CPUTopology) [2]Cpuset {
	usable := UsableCPUs(t)
	var llcs []int
	for i, llc := range t.LLCs {
		if len(intersect(llc, usable)) > 0 {
			llcs = append(llcs, i)
		}
	}
	if len(llcs) < 2 {
		return halves
	}
	return [2]Cpuset{LLC(llcs[0]), LLC(llcs[1])}
}

// policyPair is two cgroups of spinners under policy p.
func policyPair(p work.Policy) []CgroupDef {
	g := work.Group{Type: work.Spin(), Policy: p}
	return []CgroupDef{{Name: "cg0", Work: []work.Group{g}}, {Name: "cg1", Work: []work.Group{g}}}
}

// FairnessType returns the work type the fairness scenario of kind k
// runs: the kind's reference defaults, except fan-outs of 3 (groups of 4,
// which 2 workers per CPU divide evenly) and a lighter fan-out-compute
// (64 KiB, 2 multiplications per wake-up), a spin/sleep/yield/io sequence
// for sequence, and for custom a function this package registers.
func FairnessType(k work.Kind) work.Type {
	switch k {
	case work.SequenceKind:
		return work.Sequence(work.SpinFor(20*time.Millisecond), work.SleepFor(5*time.Millisecond),
			work.YieldFor(5*time.Millisecond), work.IOFor(5*time.Millisecond))
	case work.CustomKind:
		return work.Custom(customWork)
	case work.FutexFanOutKind:
		// Groups of 4 split evenly over 2 workers per CPU.
		return work.FutexFanOut(3, 1024)
	case work.FanOutComputeKind:
		// Groups of 4, as above; the reference default (256 KiB, 5
		// multiplications) computes for seconds per wake-up under
		// emulation.
		return work.FanOutCompute(3, 64, 2, 100*time.Microsecond)
	}
	t, err := k.Default()
	if err != nil {
		panic(err) // every kind but sequence and custom has defaults
	}
	return t
}

// fairnessWorkers is the smallest multiple of t's group size that is at
// least want (and 2).
func fairnessWorkers(t work.Type, want int) int {
	n := t.GroupSize()
	want = max(want, 2)
	return (want + n - 1) / n * n
}
