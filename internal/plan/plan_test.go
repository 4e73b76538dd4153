package plan

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/work"
)

// noop is a Do operation that does nothing.
var noop = Do("nothing", func(any) error { return nil })

func TestPrepareErrors(t *testing.T) {
	four := topo(1, 2, 2, 1) // CPUs 0-3, 0-2 usable
	bd := Backdrop{Defs: []CgroupDef{{Name: "bd"}}}
	hold := Frac(0.5)
	for _, c := range []struct {
		name  string
		b     Backdrop
		steps []Step
		want  string
	}{
		{"no steps", Backdrop{}, nil, "scenario: no steps"},
		{"8 partitions of 4 CPUs", Backdrop{},
			[]Step{{Defs: []CgroupDef{{Name: "cg0", Cpuset: Disjoint(0, 8)}}, Hold: hold}},
			"step 1: cgroup cg0: cpuset disjoint 0 of 8: not enough usable CPUs (3) for 8 partitions"},
		{"partition index out of range", Backdrop{Defs: []CgroupDef{{Name: "cg3", Cpuset: Disjoint(3, 3)}}},
			[]Step{{Hold: hold}},
			"backdrop: cgroup cg3: cpuset disjoint 3 of 3: index 3 out of range for 3 partitions (0-2)"},
		{"bad worker count", Backdrop{},
			[]Step{{Name: "pairs", Defs: []CgroupDef{{Name: "cg0", Work: []work.Group{{Type: work.PipePingPong(1024), Workers: 3}}}}, Hold: hold}},
			`step 1 "pairs": cgroup cg0: pipe-ping-pong needs a worker count divisible by 2, got 3`},
		{"bad second work group", Backdrop{},
			[]Step{{Defs: []CgroupDef{{Name: "cg0", Work: []work.Group{{}, {Type: work.FutexFanOut(4, 1024), Workers: 4}}}}, Hold: hold}},
			"step 1: cgroup cg0: work group 2 (4 × futex-fan-out(fan-out=4, spin-iters=1024)): futex-fan-out needs a worker count divisible by 5, got 4"},
		{"memory policy node", Backdrop{},
			[]Step{{Defs: []CgroupDef{{Name: "cg0", Work: []work.Group{{MemPolicy: work.Bind(1)}}}}, Hold: hold}},
			"step 1: cgroup cg0: memory policy bind(1): the guest has 1 NUMA nodes (0-0)"},
		{"exact affinity outside the cpuset", Backdrop{},
			[]Step{{Defs: []CgroupDef{{Name: "cg0", Cpuset: LLC(1), Work: []work.Group{{Affinity: work.Exact(0)}}}}, Hold: hold}},
			"step 1: cgroup cg0: affinity exact(0): no CPU in the cgroup's cpuset 2"},
		{"unknown cgroup", bd,
			[]Step{{Ops: []Op{SetCpuset("cgx", LLC(0))}, Hold: hold}},
			"step 1: op 1 (set-cpuset cgx llc 0): unknown cgroup cgx (existing: bd)"},
		{"op on the step's own def", Backdrop{},
			[]Step{{Defs: []CgroupDef{{Name: "cg0"}}, Ops: []Op{ClearCpuset("cg0")}, Hold: hold}},
			"step 1: op 1 (clear-cpuset cg0): cgroup cg0 is one of this step's Defs, which are set up after its ops run; put it in the Backdrop or create it with AddCgroup"},
		{"def of the last step is gone", Backdrop{},
			[]Step{{Defs: []CgroupDef{{Name: "cg0"}}, Hold: hold}, {Ops: []Op{StopCgroup("cg0")}, Hold: hold}},
			"step 2: op 1 (stop-cgroup cg0): unknown cgroup cg0 (none exist here)"},
		{"remove a backdrop cgroup", bd,
			[]Step{{Ops: []Op{RemoveCgroup("bd")}, Hold: hold}},
			"step 1: op 1 (remove-cgroup bd): cgroup bd is a backdrop cgroup, which lives until the end"},
		{"shadow a backdrop cgroup", bd,
			[]Step{{Defs: []CgroupDef{{Name: "bd"}}, Hold: hold}},
			"step 1: cgroup bd is a backdrop cgroup; a step may not reuse its name"},
		{"add twice", Backdrop{},
			[]Step{{Ops: []Op{AddCgroup("x")}, Hold: hold}, {Ops: []Op{AddCgroup("x")}, Hold: hold}},
			"step 2: op 1 (add-cgroup x): cgroup x exists already"},
		{"add repeated by Every", Backdrop{},
			[]Step{{Ops: []Op{AddCgroup("x")}, Hold: Every(100*time.Millisecond, hold)}},
			"step 1: op 1 (add-cgroup x), repeated by the Every hold: cgroup x exists already"},
		{"SetCpuset without a cpuset", bd,
			[]Step{{Ops: []Op{SetCpuset("bd", Cpuset{})}, Hold: hold}},
			"step 1: op 1 (set-cpuset bd no cpuset): no cpuset; use ClearCpuset to remove one"},
		{"swap with itself", bd,
			[]Step{{Ops: []Op{SwapCpusets("bd", "bd")}, Hold: hold}},
			"step 1: op 1 (swap-cpusets bd bd): swapping cgroup bd with itself"},
		{"move to itself", bd,
			[]Step{{Ops: []Op{MoveAllTasks("bd", "bd")}, Hold: hold}},
			"step 1: op 1 (move-all-tasks bd -> bd): moving the tasks of cgroup bd to itself"},
		{"spawn into a parent", Backdrop{Defs: []CgroupDef{{Name: "a/b"}}},
			[]Step{{Ops: []Op{Spawn("a", work.Group{})}, Hold: hold}},
			"step 1: op 1 (spawn a 2 × spin): cgroup a has child cgroups (a/b) and cannot hold workers (cgroup v2 lets only leaf cgroups hold processes)"},
		{"child of a cgroup with workers", bd,
			[]Step{{Ops: []Op{AddCgroup("bd/x")}, Hold: hold}},
			"step 1: op 1 (add-cgroup bd/x): cgroup bd/x would be inside bd, which holds workers (cgroup v2 lets only leaf cgroups hold processes)"},
		{"remove a parent of the step's def", Backdrop{},
			[]Step{{Ops: []Op{AddCgroup("p")}, Hold: hold},
				{Ops: []Op{RemoveCgroup("p"), AddCgroup("p")}, Defs: []CgroupDef{{Name: "p/x"}}, Hold: Every(100*time.Millisecond, hold)}},
			"step 2: op 1 (remove-cgroup p), repeated by the Every hold: it would remove p/x, a cgroup of the step's Defs\n" +
				"step 2: op 2 (add-cgroup p), repeated by the Every hold: cgroup p exists already"},
		{"bad names", Backdrop{},
			[]Step{{Ops: []Op{AddCgroup(""), AddCgroup("/abs"), AddCgroup("a/../b")}, Hold: hold}},
			"step 1: op 1 (add-cgroup ): empty cgroup name\n" +
				`step 1: op 2 (add-cgroup /abs): cgroup name "/abs": want a relative name such as "cg0" or "a/b"` + "\n" +
				`step 1: op 3 (add-cgroup a/../b): cgroup name "a/../b": empty, "." or ".." component`},
		{"zero op and nil Do", Backdrop{},
			[]Step{{Ops: []Op{{}, Do("nil", nil)}, Hold: hold}},
			"step 1: op 1 (zero op): zero Op; build one with a constructor such as AddCgroup or Spawn\n" +
				`step 1: op 2 (do "nil"): no function`},
		{"holds", Backdrop{},
			[]Step{{}, {Hold: For(0)}},
			"step 1: no hold: set Hold to Frac, For or Every\nstep 2: hold for 0s: must be positive"},
		{"affinity CPU not in the guest", bd,
			[]Step{{Ops: []Op{SetAffinity("bd", work.Exact(7))}, Hold: hold}},
			"step 1: op 1 (set-affinity bd exact(7)): affinity exact(7): CPU 7 is not in the guest (CPUs 0-3)"},
		{"spawn host with a bad group", Backdrop{},
			[]Step{{Ops: []Op{SpawnHost(work.Group{Type: work.MutexContention(4, 1, 1), Workers: 6})}, Hold: hold}},
			"step 1: op 1 (spawn-host 6 × mutex-contention(contenders=4, hold-iters=1, work-iters=1)): mutex-contention needs a worker count divisible by 4, got 6"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Prepare(four, 2*time.Second, c.b, c.steps...)
			if err == nil {
				t.Fatalf("no error; plan:\n%v", p)
			}
			if err.Error() != c.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, c.want)
			}
		})
	}
}

func TestPrepareReportsEverything(t *testing.T) {
	// Every problem is reported, not just the first.
	_, err := Prepare(topo(1, 2, 2, 1), 2*time.Second, Backdrop{},
		Step{Defs: []CgroupDef{{Name: "a", Cpuset: Disjoint(0, 8)}, {Name: "b", Cpuset: Disjoint(7, 8)}}, Hold: Frac(1)},
		Step{Ops: []Op{StopCgroup("c")}})
	if err == nil {
		t.Fatal("no error")
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 4 {
		t.Errorf("%d lines, want 4:\n%v", n, err)
	}
}

func TestPrepareNoTopology(t *testing.T) {
	_, err := Prepare(nil, time.Second, Backdrop{}, Step{Hold: Frac(1)})
	if err == nil || !strings.Contains(err.Error(), "no topology") {
		t.Errorf("error %v", err)
	}
}

func TestPlanString(t *testing.T) {
	p, err := Prepare(topo(1, 2, 2, 1), 2*time.Second,
		Backdrop{Defs: []CgroupDef{{Name: "bd", Cpuset: LLC(0)}}, Ops: []Op{SpawnHost(work.Group{Workers: 1})}},
		Step{Hold: Frac(0.5)},
		Step{Name: "grow", Defs: []CgroupDef{{Name: "cg0", Cpuset: LLC(1),
			Work: []work.Group{{Workers: 3}, {Type: work.Bursty(time.Millisecond, 2*time.Millisecond)}}}},
			Ops:  []Op{SetCpuset("bd", Range(0, 1)), noop},
			Hold: Every(100*time.Millisecond, Frac(0.5))})
	if err != nil {
		t.Fatal(err)
	}
	want := `backdrop:
  spawn-host 1 × spin
  cgroup bd, cpus 0-1 (llc 0): 2 × spin
step 1, 1s:
step 2 "grow", 1s, ops every 100ms:
  set-cpuset bd range 0.00-1.00 (cpus 0-2)
  do "nothing"
  cgroup cg0, cpus 2 (llc 1): 3 × spin; 2 × bursty(burst=1ms, sleep=2ms)
`
	if got := p.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if len(p.Steps) != 2 || p.Duration() != 2*time.Second {
		t.Errorf("%d steps, Duration %v", len(p.Steps), p.Duration())
	}
}

func TestOpString(t *testing.T) {
	for _, c := range []struct {
		op   Op
		kind OpKind
		want string
	}{
		{AddCgroup("a/b"), OpAddCgroup, "add-cgroup a/b"},
		{RemoveCgroup("a"), OpRemoveCgroup, "remove-cgroup a"},
		{SetCpuset("a", Node(1)), OpSetCpuset, "set-cpuset a node 1"},
		{ClearCpuset("a"), OpClearCpuset, "clear-cpuset a"},
		{SwapCpusets("a", "b"), OpSwapCpusets, "swap-cpusets a b"},
		{Spawn("a", work.Group{Type: work.IOSync(), Workers: 4}), OpSpawn, "spawn a 4 × io-sync"},
		{StopCgroup(""), OpStopCgroup, "stop-cgroup (parent)"},
		{SetAffinity("a", work.SingleCPU), OpSetAffinity, "set-affinity a single-cpu"},
		{SpawnHost(work.Group{}), OpSpawnHost, "spawn-host 2 × spin"},
		{MoveAllTasks("a", "b"), OpMoveAllTasks, "move-all-tasks a -> b"},
		{noop, OpDo, `do "nothing"`},
		{Op{}, "", "zero op"},
	} {
		if s := c.op.String(); s != c.want || c.op.Kind() != c.kind {
			t.Errorf("String() = %q, Kind() = %q; want %q, %q", s, c.op.Kind(), c.want, c.kind)
		}
	}
}

func TestParents(t *testing.T) {
	if got := Parents("a/b/c"); !slices.Equal(got, []string{"a", "a/b"}) {
		t.Errorf("Parents = %v", got)
	}
	if !IsUnder("a/b", "a") || IsUnder("ab", "a") || !IsUnder("a", "a") {
		t.Error("IsUnder")
	}
}

func TestResolvedOps(t *testing.T) {
	// The executor reads an operation only through its ResolvedOp.
	g := work.Group{Type: work.IOSync(), Workers: 1}
	ops := []Op{AddCgroup("a"), AddCgroup("b"), SetCpuset("a", LLC(1)), SwapCpusets("a", "b"),
		Spawn("a", g), SetAffinity("a", work.SingleCPU), SpawnHost(g), MoveAllTasks("a", "b"), noop}
	p, err := Prepare(topo(1, 2, 2, 1), 2*time.Second, Backdrop{}, Step{Ops: ops, Hold: Frac(1)})
	if err != nil {
		t.Fatal(err)
	}
	want := []ResolvedOp{
		{Kind: OpAddCgroup, Cgroup: "a"},
		{Kind: OpAddCgroup, Cgroup: "b"},
		{Kind: OpSetCpuset, Cgroup: "a", CPUs: []int{2}},
		{Kind: OpSwapCpusets, Cgroup: "a", Other: "b"},
		{Kind: OpSpawn, Cgroup: "a", Group: g},
		{Kind: OpSetAffinity, Cgroup: "a", Affinity: work.SingleCPU},
		{Kind: OpSpawnHost, Group: g},
		{Kind: OpMoveAllTasks, Cgroup: "a", Other: "b"},
		{Kind: OpDo},
	}
	got := p.Steps[0].Ops
	if len(got) != len(want) {
		t.Fatalf("%d ops, want %d", len(got), len(want))
	}
	for i, w := range want {
		o := got[i]
		if o.Op.String() != ops[i].String() || o.Kind != w.Kind || o.Cgroup != w.Cgroup || o.Other != w.Other ||
			!slices.Equal(o.CPUs, w.CPUs) || o.Group.String() != w.Group.String() || o.Affinity.String() != w.Affinity.String() {
			t.Errorf("op %d: %+v, want %+v", i+1, o, w)
		}
		if (o.Fn != nil) != (w.Kind == OpDo) {
			t.Errorf("op %d (%v): Fn set %v", i+1, o.Op, o.Fn != nil)
		}
	}
}
