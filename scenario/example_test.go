package scenario_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/scenario"
	"github.com/ktstr-go/ktstr/work"
)

// The common case: these cgroups, steady, for the whole test duration. A
// test passes the body to ktstr.Run; the verdict of the checks is recorded
// in the test's result, and an error means the scenario could not run.
func Example() {
	body := func(ctx *ktstr.Ctx) error {
		_, err := scenario.Defs(ctx,
			scenario.CgroupDef{Name: "cg0", Cpuset: scenario.LLC(0)}, // 2 spinners
			scenario.CgroupDef{Name: "cg1", Cpuset: scenario.LLC(1), Work: []work.Group{
				{Type: work.Bursty(50*time.Millisecond, 100*time.Millisecond), Workers: 4},
				{Type: work.PipePingPong(1024), Workers: 2, Policy: work.Batch},
			}},
		)
		return err
	}
	_ = body // ktstr.Run(t, ktstr.Spec{Topology: ktstr.Topo(1, 2, 2, 1)}, body)
}

// topology4 is what a guest booted with ktstr.Topo(1, 2, 2, 1) reports:
// CPUs 0-3 in two LLCs, one NUMA node. Inside a test body it is
// ctx.Topology.
var topology4 = &ktstr.CPUTopology{
	CPUs:  []int{0, 1, 2, 3},
	LLCs:  [][]int{{0, 1}, {2, 3}},
	Nodes: [][]int{{0, 1, 2, 3}},
}

// Steps change the cgroups over time; a backdrop holds what lives across
// them. Prepare validates the scenario against a topology and resolves its
// cpusets, which is what RunWith does first inside the guest; the plan's
// String shows the result.
func Example_steps() {
	backdrop := scenario.Backdrop{Defs: []scenario.CgroupDef{
		{Name: "cg0", Cpuset: scenario.Disjoint(0, 2)},
		{Name: "cg1", Cpuset: scenario.Disjoint(1, 2)},
	}}
	steps := []scenario.Step{
		{Name: "settle", Hold: scenario.Frac(0.25)},
		{Name: "swap", Ops: []scenario.Op{scenario.SwapCpusets("cg0", "cg1")},
			Hold: scenario.Every(200*time.Millisecond, scenario.Frac(0.25))},
		{Name: "third", Defs: []scenario.CgroupDef{{Name: "cg2", Work: []work.Group{{Type: work.IOSync()}}}},
			Ops:  []scenario.Op{scenario.AddCgroup("nest/a"), scenario.Spawn("nest/a", work.Group{Workers: 1})},
			Hold: scenario.Frac(0.25)},
		{Name: "gathered", Ops: []scenario.Op{scenario.MoveAllTasks("nest/a", "cg0"), scenario.RemoveCgroup("nest")},
			Hold: scenario.Frac(0.25)},
	}
	// Inside a test body: res, err := scenario.RunWith(ctx, backdrop, steps...)
	plan, err := scenario.Prepare(topology4, 2*time.Second, backdrop, steps...)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(plan)
	// Output:
	// backdrop:
	//   cgroup cg0, cpus 0 (disjoint 0 of 2): 2 × spin
	//   cgroup cg1, cpus 1-2 (disjoint 1 of 2): 2 × spin
	// step 1 "settle", 500ms:
	// step 2 "swap", 500ms, ops every 200ms:
	//   swap-cpusets cg0 cg1
	// step 3 "third", 500ms:
	//   add-cgroup nest/a
	//   spawn nest/a 1 × spin
	//   cgroup cg2: 2 × io-sync
	// step 4 "gathered", 500ms:
	//   move-all-tasks nest/a -> cg0
	//   remove-cgroup nest
}

// Everything is validated before anything runs: a cpuset the topology
// cannot give is an error naming the step and the cgroup, and so is an
// operation on a cgroup that does not exist at that point.
func ExamplePrepare() {
	var defs []scenario.CgroupDef
	for i := range 8 {
		defs = append(defs, scenario.CgroupDef{Name: fmt.Sprintf("cg%d", i), Cpuset: scenario.Disjoint(i, 8)})
	}
	_, err := scenario.Prepare(topology4, 2*time.Second, scenario.Backdrop{},
		scenario.Step{Defs: defs[:2], Hold: scenario.Frac(1)},
		scenario.Step{Ops: []scenario.Op{scenario.StopCgroup("cg0")}, Hold: scenario.Frac(1)},
	)
	fmt.Println(err)
	// Output:
	// step 1: cgroup cg0: cpuset disjoint 0 of 8: not enough usable CPUs (3) for 8 partitions
	// step 1: cgroup cg1: cpuset disjoint 1 of 8: not enough usable CPUs (3) for 8 partitions
	// step 2: op 1 (stop-cgroup cg0): unknown cgroup cg0 (none exist here)
}

// A test that expects a check to fail runs the plan itself and evaluates
// the groups without recording the verdict, then asserts on the result.
// Here a Do operation freezes a cgroup for most of the run.
func ExampleEvaluate() {
	body := func(ctx *ktstr.Ctx) error {
		freeze := func(v string) scenario.Op {
			return scenario.Do("freeze "+v, func(ctx *ktstr.Ctx) error {
				return os.WriteFile(filepath.Join(ctx.Cgroups.Path("cg0"), "cgroup.freeze"), []byte(v), 0)
			})
		}
		plan, err := scenario.Prepare(ctx.Topology, ctx.Duration,
			scenario.Backdrop{Defs: []scenario.CgroupDef{{Name: "cg0"}}},
			scenario.Step{Hold: scenario.Frac(0.1)},
			scenario.Step{Ops: []scenario.Op{freeze("1")}, Hold: scenario.Frac(0.8)},
			scenario.Step{Ops: []scenario.Op{freeze("0")}, Hold: scenario.Frac(0.1)},
		)
		if err != nil {
			return err
		}
		groups, err := plan.Execute(ctx)
		if err != nil {
			return err
		}
		res := scenario.Evaluate(ctx, groups, check.Assert{MaxGap: check.Set(time.Second)})
		for _, f := range res.Failures {
			if f.Kind == check.Stuck {
				return nil // as expected
			}
		}
		return fmt.Errorf("no worker failed the gap check: %v", res.Err())
	}
	_ = body
}

// The catalogue holds ready scenarios; `ktstr scenarios` lists them.
func ExampleLookup() {
	s, err := scenario.Lookup("cpuset/swap")
	if err != nil {
		fmt.Println(err)
		return
	}
	// In a test body: res, err := s.Run(ctx)
	fmt.Println(s.Category, "-", s.Description)
	// Output:
	// cpuset - 2 cgroups on disjoint cpusets swap them, then keep swapping
}
