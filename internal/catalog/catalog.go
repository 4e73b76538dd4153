// Package catalog is the catalogue of ready scenarios: their names,
// descriptions, layers of checks and the functions that build their steps
// for a topology and a test duration.
//
// Package scenario runs them (scenario.All, scenario.Lookup and
// RunCatalogue wrap these entries with a Run); the ktstr command lists
// and plans them. It builds on package plan alone, so that the command
// need not link the root package.
package catalog

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/cputopo"
	"github.com/ktstr-go/ktstr/internal/plan"
	"github.com/ktstr-go/ktstr/work"
)

// Entry is a ready-made scenario of the catalogue.
type Entry struct {
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
	Build func(t *cputopo.Topology, d time.Duration) (plan.Backdrop, []plan.Step)
	// Assert is the scenario's own layer of checks, merged over the
	// test's when the scenario runs: a check that cannot apply to the
	// workload is switched off here, and the Description says so.
	Assert check.Assert
}

// customWork is the custom work function the catalogue's fairness/custom
// runs: FNV-1a rounds, a unit per 4096. It is registered here, beside the
// scenario that names it, because planning the scenario checks that it is
// registered (the ktstr command plans it too), and so that it exists in
// every test binary that can run the scenario, workers included: those
// import package scenario, which imports this one.
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
func All() []Entry {
	out := slices.Clone(catalogue)
	slices.SortStableFunc(out, func(a, b Entry) int {
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// Lookup returns the scenario called name ("cpuset/swap"), or an error
// listing the names.
func Lookup(name string) (Entry, error) {
	for _, e := range catalogue {
		if e.Name == name {
			return e, nil
		}
	}
	names := make([]string, len(catalogue))
	for i, e := range catalogue {
		names[i] = e.Name
	}
	slices.Sort(names)
	return Entry{}, fmt.Errorf("unknown scenario %q (have: %s)", name, strings.Join(names, ", "))
}

// catalogue is every scenario, in the order buildCatalogue defines them.
var catalogue = buildCatalogue()

// define makes a catalogue entry.
func define(name, desc string, build func(t *cputopo.Topology, d time.Duration) (plan.Backdrop, []plan.Step)) Entry {
	return defineWith(name, desc, check.Assert{}, build)
}

// defineWith is define with the scenario's own layer of checks.
func defineWith(name, desc string, a check.Assert, build func(t *cputopo.Topology, d time.Duration) (plan.Backdrop, []plan.Step)) Entry {
	cat, _, _ := strings.Cut(name, "/")
	return Entry{Name: name, Category: cat, Description: desc, Build: build, Assert: a}
}

// steady is a build of defs held for the whole duration.
func steady(defs func(t *cputopo.Topology) []plan.CgroupDef) func(*cputopo.Topology, time.Duration) (plan.Backdrop, []plan.Step) {
	return func(t *cputopo.Topology, _ time.Duration) (plan.Backdrop, []plan.Step) {
		return plan.Backdrop{}, []plan.Step{{Defs: defs(t), Hold: plan.Frac(1)}}
	}
}

// spin is a group of n spinners (n 0: the default count).
func spin(n int) work.Group { return work.Group{Type: work.Spin(), Workers: n} }

// pair is the two cgroups most scenarios use, with default spinners.
func pair(c0, c1 plan.Cpuset) []plan.CgroupDef {
	return []plan.CgroupDef{{Name: "cg0", Cpuset: c0}, {Name: "cg1", Cpuset: c1}}
}

// halves are the two disjoint halves of the usable CPUs.
var halves = [2]plan.Cpuset{plan.Disjoint(0, 2), plan.Disjoint(1, 2)}

// third is a third of the duration.
var third = plan.Frac(1.0 / 3)

func buildCatalogue() []Entry {
	s := []Entry{
		define("basic/steady", "2 cgroups of spinners, no cpusets, for the whole run",
			steady(func(*cputopo.Topology) []plan.CgroupDef { return pair(plan.Cpuset{}, plan.Cpuset{}) })),
		define("basic/steady-llc", "one cgroup of spinners per LLC, its cpuset that LLC",
			steady(func(t *cputopo.Topology) []plan.CgroupDef {
				var defs []plan.CgroupDef
				usable := plan.UsableCPUs(t)
				for i, llc := range t.LLCs {
					if hasAny(llc, usable) {
						defs = append(defs, plan.CgroupDef{Name: fmt.Sprintf("cg%d", i), Cpuset: plan.LLC(i)})
					}
				}
				return defs
			})),
		define("basic/mixed-workloads", "spinners, bursty workers and io-sync workers, a cgroup each",
			steady(func(*cputopo.Topology) []plan.CgroupDef {
				return []plan.CgroupDef{
					{Name: "heavy", Work: []work.Group{spin(2)}},
					{Name: "bursty", Work: []work.Group{{Type: work.Bursty(50*time.Millisecond, 100*time.Millisecond)}}},
					{Name: "io", Work: []work.Group{{Type: work.IOSync()}}},
				}
			})),
		define("basic/host-contention", "2 cgroups of spinners against one spinner per CPU in the parent cgroup",
			func(t *cputopo.Topology, _ time.Duration) (plan.Backdrop, []plan.Step) {
				return plan.Backdrop{}, []plan.Step{{
					Defs: pair(plan.Cpuset{}, plan.Cpuset{}),
					Ops:  []plan.Op{plan.SpawnHost(spin(len(t.CPUs)))},
					Hold: plan.Frac(1),
				}}
			}),
		define("stress/oversubscribed", "2 cgroups with 2 mixed spin/yield workers per usable CPU each",
			steady(func(t *cputopo.Topology) []plan.CgroupDef {
				g := work.Group{Type: work.Mixed(), Workers: 2 * len(plan.UsableCPUs(t))}
				return []plan.CgroupDef{{Name: "cg0", Work: []work.Group{g}}, {Name: "cg1", Work: []work.Group{g}}}
			})),
		define("stress/cgroup-per-cpu", "one cgroup of 2 spinners per usable CPU, pinned to it by its cpuset",
			steady(func(t *cputopo.Topology) []plan.CgroupDef {
				var defs []plan.CgroupDef
				for _, c := range plan.UsableCPUs(t) {
					defs = append(defs, plan.CgroupDef{Name: fmt.Sprintf("cpu%d", c), Cpuset: plan.Exact(c)})
				}
				return defs
			})),
		define("cpuset/overlap", "3 cgroups of spinners on cpusets that overlap their neighbours' by half",
			steady(func(t *cputopo.Topology) []plan.CgroupDef {
				n := min(3, len(plan.UsableCPUs(t)))
				var defs []plan.CgroupDef
				for i := range n {
					defs = append(defs, plan.CgroupDef{Name: fmt.Sprintf("cg%d", i), Cpuset: plan.Overlap(i, n, 0.5)})
				}
				return defs
			})),
		define("cpuset/apply-midrun", "2 cgroups of spinners run free, then get disjoint cpusets halfway",
			func(*cputopo.Topology, time.Duration) (plan.Backdrop, []plan.Step) {
				return plan.Backdrop{Defs: pair(plan.Cpuset{}, plan.Cpuset{})}, []plan.Step{
					{Name: "free", Hold: plan.Frac(0.5)},
					{Name: "apply", Ops: []plan.Op{plan.SetCpuset("cg0", halves[0]), plan.SetCpuset("cg1", halves[1])}, Hold: plan.Frac(0.5)},
				}
			}),
		define("cpuset/clear-midrun", "2 cgroups of spinners on disjoint cpusets, cleared halfway",
			func(*cputopo.Topology, time.Duration) (plan.Backdrop, []plan.Step) {
				return plan.Backdrop{Defs: pair(halves[0], halves[1])}, []plan.Step{
					{Name: "split", Hold: plan.Frac(0.5)},
					{Name: "clear", Ops: []plan.Op{plan.ClearCpuset("cg0"), plan.ClearCpuset("cg1")}, Hold: plan.Frac(0.5)},
				}
			}),
		define("cpuset/resize", "a cgroup's cpuset shrinks to a quarter of the CPUs, then grows to three quarters",
			func(*cputopo.Topology, time.Duration) (plan.Backdrop, []plan.Step) {
				return plan.Backdrop{Defs: pair(halves[0], halves[1])}, []plan.Step{
					{Name: "split", Hold: third},
					{Name: "shrink", Ops: []plan.Op{plan.SetCpuset("cg0", plan.Range(0, 0.25))}, Hold: third},
					{Name: "grow", Ops: []plan.Op{plan.SetCpuset("cg0", plan.Range(0, 0.75))}, Hold: third},
				}
			}),
		define("cpuset/swap", "2 cgroups on disjoint cpusets swap them, then keep swapping",
			func(_ *cputopo.Topology, d time.Duration) (plan.Backdrop, []plan.Step) {
				return plan.Backdrop{Defs: pair(halves[0], halves[1])}, []plan.Step{
					{Name: "split", Hold: third},
					{Name: "swapping", Ops: []plan.Op{plan.SwapCpusets("cg0", "cg1")}, Hold: plan.Every(d/6, plan.Frac(2.0/3))},
				}
			}),
		define("dynamic/add-midrun", "2 cgroups of spinners; a third joins halfway",
			func(*cputopo.Topology, time.Duration) (plan.Backdrop, []plan.Step) {
				return plan.Backdrop{Defs: pair(plan.Cpuset{}, plan.Cpuset{})}, []plan.Step{
					{Name: "two", Hold: plan.Frac(0.5)},
					{Name: "three", Defs: []plan.CgroupDef{{Name: "cg2"}}, Hold: plan.Frac(0.5)},
				}
			}),
		define("dynamic/remove-midrun", "2 cgroups of spinners; one is stopped and removed halfway",
			func(*cputopo.Topology, time.Duration) (plan.Backdrop, []plan.Step) {
				return plan.Backdrop{Defs: []plan.CgroupDef{{Name: "cg0"}}}, []plan.Step{
					{Name: "two", Ops: []plan.Op{plan.AddCgroup("cg1"), plan.Spawn("cg1", spin(0))}, Hold: plan.Frac(0.5)},
					{Name: "one", Ops: []plan.Op{plan.StopCgroup("cg1"), plan.RemoveCgroup("cg1")}, Hold: plan.Frac(0.5)},
				}
			}),
		define("dynamic/rapid-churn", "a cgroup created, given a cpuset and removed 20 times a run, beside 2 cgroups of spinners",
			func(_ *cputopo.Topology, d time.Duration) (plan.Backdrop, []plan.Step) {
				// The spinners keep to the usable CPUs: the churn keeps
				// the harness busy on the CPU left to it.
				return plan.Backdrop{Defs: pair(halves[0], halves[1])}, []plan.Step{{
					Name: "churn",
					Ops:  []plan.Op{plan.AddCgroup("churn"), plan.SetCpuset("churn", halves[0]), plan.RemoveCgroup("churn")},
					Hold: plan.Every(d/20, plan.Frac(1)),
				}}
			}),
		define("affinity/change", "2 cgroups of spinners re-pinned to random CPU subsets every sixth of the run, then unpinned",
			func(_ *cputopo.Topology, d time.Duration) (plan.Backdrop, []plan.Step) {
				return plan.Backdrop{Defs: pair(plan.Cpuset{}, plan.Cpuset{})}, []plan.Step{
					{Name: "free", Hold: third},
					{Name: "random", Ops: []plan.Op{plan.SetAffinity("cg0", work.RandomSubset), plan.SetAffinity("cg1", work.RandomSubset)}, Hold: plan.Every(d/6, third)},
					{Name: "unpinned", Ops: []plan.Op{plan.SetAffinity("cg0", work.Inherit), plan.SetAffinity("cg1", work.Inherit)}, Hold: third},
				}
			}),
		define("affinity/pinned", "spinners pinned to a 2-CPU subset beside spinners pinned one per CPU, then all re-pinned LLC-aligned",
			func(t *cputopo.Topology, _ time.Duration) (plan.Backdrop, []plan.Step) {
				usable := plan.UsableCPUs(t)
				sub := usable[:min(2, len(usable))]
				return plan.Backdrop{Defs: []plan.CgroupDef{
						{Name: "subset", Work: []work.Group{{Type: work.Spin(), Affinity: work.Exact(sub...)}}},
						{Name: "single", Work: []work.Group{{Type: work.Spin(), Affinity: work.SingleCPU}}},
					}}, []plan.Step{
						{Name: "pinned", Hold: plan.Frac(0.5)},
						{Name: "llc-aligned", Ops: []plan.Op{plan.SetAffinity("subset", work.LLCAligned), plan.SetAffinity("single", work.LLCAligned)}, Hold: plan.Frac(0.5)},
					}
			}),
		define("nested/steady", "spinners in nested cgroups nest/a, nest/b and nest/sub/c",
			steady(func(*cputopo.Topology) []plan.CgroupDef {
				return []plan.CgroupDef{{Name: "nest/a"}, {Name: "nest/b"}, {Name: "nest/sub/c"}}
			})),
		define("nested/cpuset", "nested cgroups of spinners whose parent's cpuset moves to the other half, then is cleared",
			func(*cputopo.Topology, time.Duration) (plan.Backdrop, []plan.Step) {
				return plan.Backdrop{
						Defs: []plan.CgroupDef{{Name: "nest/a"}, {Name: "nest/b"}},
						Ops:  []plan.Op{plan.SetCpuset("nest", halves[0])},
					}, []plan.Step{
						{Name: "first-half", Hold: third},
						{Name: "second-half", Ops: []plan.Op{plan.SetCpuset("nest", halves[1])}, Hold: third},
						{Name: "cleared", Ops: []plan.Op{plan.ClearCpuset("nest")}, Hold: third},
					}
			}),
		define("nested/task-move", "spinners moved between sibling nested cgroups on disjoint cpusets, and back",
			func(*cputopo.Topology, time.Duration) (plan.Backdrop, []plan.Step) {
				return plan.Backdrop{
						Defs: []plan.CgroupDef{{Name: "nest/a", Cpuset: halves[0]}},
						Ops:  []plan.Op{plan.AddCgroup("nest/b"), plan.SetCpuset("nest/b", halves[1])},
					}, []plan.Step{
						{Name: "in-a", Hold: third},
						{Name: "in-b", Ops: []plan.Op{plan.MoveAllTasks("nest/a", "nest/b")}, Hold: third},
						{Name: "back-in-a", Ops: []plan.Op{plan.MoveAllTasks("nest/b", "nest/a")}, Hold: third},
					}
			}),
		define("sched-class/batch", "2 cgroups of SCHED_BATCH spinners",
			steady(func(*cputopo.Topology) []plan.CgroupDef { return policyPair(work.Batch) })),
		define("sched-class/idle", "2 cgroups of SCHED_IDLE spinners",
			steady(func(*cputopo.Topology) []plan.CgroupDef { return policyPair(work.Idle) })),
		define("sched-class/fifo", "a SCHED_FIFO bursty worker (500 ms on, 250 ms off) beside a cgroup of normal spinners",
			steady(func(*cputopo.Topology) []plan.CgroupDef {
				return []plan.CgroupDef{
					{Name: "fifo", Work: []work.Group{{Type: work.Bursty(500*time.Millisecond, 250*time.Millisecond), Workers: 1, Policy: work.FIFO(1)}}},
					{Name: "normal"},
				}
			})),
		define("sched-class/rr", "2 SCHED_RR spinners sharing one CPU, normal spinners on the others",
			steady(func(t *cputopo.Topology) []plan.CgroupDef {
				usable := plan.UsableCPUs(t)
				rr := plan.CgroupDef{Name: "rr", Cpuset: plan.Exact(usable[0]), Work: []work.Group{{Type: work.Spin(), Policy: work.RR(1)}}}
				if len(usable) < 2 {
					return []plan.CgroupDef{rr}
				}
				return []plan.CgroupDef{rr, {Name: "normal", Cpuset: plan.Range(1/float64(len(usable)), 1)}}
			})),
		define("sched-class/mixed", "a cgroup each of normal, SCHED_BATCH and SCHED_IDLE spinners and a SCHED_FIFO bursty worker",
			steady(func(*cputopo.Topology) []plan.CgroupDef {
				return []plan.CgroupDef{
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
			steady(func(t *cputopo.Topology) []plan.CgroupDef {
				var defs []plan.CgroupDef
				for i, h := range llcHalves(t) {
					cpus, _ := h.Resolve(t) // an impossible half fails validation
					g := work.Group{Type: typ, Workers: fairnessWorkers(typ, 2*len(cpus))}
					defs = append(defs, plan.CgroupDef{Name: fmt.Sprintf("cg%d", i), Cpuset: h, Work: []work.Group{g}})
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
func llcHalves(t *cputopo.Topology) [2]plan.Cpuset {
	usable := plan.UsableCPUs(t)
	var llcs []int
	for i, llc := range t.LLCs {
		if hasAny(llc, usable) {
			llcs = append(llcs, i)
		}
	}
	if len(llcs) < 2 {
		return halves
	}
	return [2]plan.Cpuset{plan.LLC(llcs[0]), plan.LLC(llcs[1])}
}

// policyPair is two cgroups of spinners under policy p.
func policyPair(p work.Policy) []plan.CgroupDef {
	g := work.Group{Type: work.Spin(), Policy: p}
	return []plan.CgroupDef{{Name: "cg0", Work: []work.Group{g}}, {Name: "cg1", Work: []work.Group{g}}}
}

// FairnessType returns the work type the fairness scenario of kind k
// runs: the kind's reference defaults, except fan-outs of 3 (groups of 4,
// which 2 workers per CPU divide evenly) and a lighter fan-out-compute
// (64 KiB, 2 multiplications per wake-up), a spin/sleep/yield/io sequence
// for sequence, and for custom
// the FNV-1a function this package registers.
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

// hasAny reports whether any of cpus is in usable.
func hasAny(cpus, usable []int) bool {
	return slices.ContainsFunc(cpus, func(c int) bool { return slices.Contains(usable, c) })
}
