package scenario

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/work"
)

// noop is a Do operation that does nothing.
var noop = Do("nothing", func(*ktstr.Ctx) error { return nil })

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
	if p.Steps() != 2 || p.Duration() != 2*time.Second {
		t.Errorf("Steps %d Duration %v", p.Steps(), p.Duration())
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

// topologies are shapes every catalogue scenario must fit.
var topologies = map[string]*ktstr.CPUTopology{
	"1n1l2c1t": topo(1, 1, 2, 1),
	"1n2l2c1t": topo(1, 2, 2, 1),
	"2n2l2c1t": topo(2, 2, 2, 1),
	"1n2l2c2t": topo(1, 2, 2, 2),
	"1n1l4c1t": topo(1, 1, 4, 1),
	"2n4l2c1t": topo(2, 4, 2, 1),
}

func TestCatalogueValidates(t *testing.T) {
	for _, s := range All() {
		for name, tp := range topologies {
			b, steps := s.Build(tp, 2*time.Second)
			if _, err := Prepare(tp, 2*time.Second, b, steps...); err != nil {
				t.Errorf("%s on %s: %v", s.Name, name, err)
			}
		}
	}
}

func TestCatalogueEntries(t *testing.T) {
	all := All()
	seen := map[string]bool{}
	for _, s := range all {
		if seen[s.Name] {
			t.Errorf("%s twice", s.Name)
		}
		seen[s.Name] = true
		if !strings.HasPrefix(s.Name, s.Category+"/") {
			t.Errorf("%s: category %q", s.Name, s.Category)
		}
		if s.Description == "" || strings.Contains(s.Description, "\n") || s.Run == nil || s.Build == nil {
			t.Errorf("%s: description %q, Run or Build missing", s.Name, s.Description)
		}
		if got, err := Lookup(s.Name); err != nil || got.Name != s.Name {
			t.Errorf("Lookup(%q) = %v, %v", s.Name, got.Name, err)
		}
	}
	if !slices.IsSortedFunc(all, func(a, b Scenario) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("All is not sorted")
	}
	for _, want := range []string{
		"basic/steady", "basic/steady-llc", "stress/oversubscribed", "cpuset/apply-midrun", "cpuset/clear-midrun",
		"cpuset/resize", "cpuset/swap", "dynamic/add-midrun", "dynamic/remove-midrun", "dynamic/rapid-churn",
		"affinity/change", "affinity/pinned", "basic/host-contention", "basic/mixed-workloads", "nested/steady",
		"nested/task-move", "sched-class/batch", "sched-class/idle", "sched-class/fifo", "sched-class/rr",
	} {
		if !seen[want] {
			t.Errorf("no scenario %s", want)
		}
	}
	for _, k := range work.AllKinds() {
		if !seen["fairness/"+string(k)] {
			t.Errorf("no fairness scenario for %s", k)
		}
		if err := FairnessType(k).Validate(FairnessType(k).GroupSize()); err != nil {
			t.Errorf("fairness type of %s: %v", k, err)
		}
	}
	// The spread check is off only where the workload is unequal by
	// design, and the description says so.
	for _, s := range all {
		off := s.Assert.MaxSpreadPct.IsOff()
		if off != strings.Contains(s.Description, "spread not checked") {
			t.Errorf("%s: spread off %v, description %q", s.Name, off, s.Description)
		}
	}
	_, err := Lookup("nope")
	if err == nil || !strings.HasPrefix(err.Error(), `unknown scenario "nope" (have: affinity/change, affinity/pinned, `) {
		t.Errorf("Lookup(nope): %v", err)
	}
}

func TestEveryOpInTheCatalogue(t *testing.T) {
	// The catalogue uses every operation but Do, which is for tests.
	used := map[OpKind]bool{}
	for _, s := range All() {
		b, steps := s.Build(topologies["1n2l2c1t"], 2*time.Second)
		for _, op := range b.Ops {
			used[op.Kind()] = true
		}
		for _, st := range steps {
			for _, op := range st.Ops {
				used[op.Kind()] = true
			}
		}
	}
	for _, k := range []OpKind{OpAddCgroup, OpRemoveCgroup, OpSetCpuset, OpClearCpuset, OpSwapCpusets,
		OpSpawn, OpStopCgroup, OpSetAffinity, OpSpawnHost, OpMoveAllTasks} {
		if !used[k] {
			t.Errorf("no catalogue scenario uses %s", k)
		}
	}
}

func TestFairnessWorkers(t *testing.T) {
	for _, c := range []struct {
		t          work.Type
		want, got0 int
	}{
		{work.Spin(), 4, 4},
		{work.Spin(), 1, 2},
		{work.PipePingPong(1), 3, 4},
		{work.FutexFanOut(4, 1), 2, 5},
		{work.FutexFanOut(4, 1), 6, 10},
		{work.MutexContention(4, 1, 1), 4, 4},
	} {
		if n := fairnessWorkers(c.t, c.want); n != c.got0 {
			t.Errorf("fairnessWorkers(%v, %d) = %d, want %d", c.t, c.want, n, c.got0)
		}
	}
}

func TestLLCHalves(t *testing.T) {
	for _, c := range []struct {
		t    *ktstr.CPUTopology
		want [2][]int
	}{
		{topo(1, 2, 2, 1), [2][]int{{0, 1}, {2}}},
		{topo(1, 1, 4, 1), [2][]int{{0}, {1, 2}}},
		{topo(2, 4, 2, 1), [2][]int{{0, 1}, {2, 3}}},
	} {
		h := llcHalves(c.t)
		for i := range h {
			got, err := h[i].Resolve(c.t)
			if err != nil || !slices.Equal(got, c.want[i]) {
				t.Errorf("%v: half %d = %v (%v), want %v", c.t.LLCs, i, got, err, c.want[i])
			}
		}
	}
}

// report is a worker report for the groups tests.
func report(pid int, cgroup string, cpus ...int) work.Report {
	return work.Report{PID: pid, Cgroup: cgroup, WorkUnits: 1, CPUs: cpus, ExpectedCPUs: []int{99}}
}

func TestGroups(t *testing.T) {
	tp := topo(2, 2, 2, 1) // nodes 0-1 and 2-3
	r := &runner{ctx: &ktstr.Ctx{Topology: tp}}
	r.sets = []*workerSet{
		// Spawned in cg0 on CPU 0, later allowed 0-1.
		{origin: "cg0", expected: []int{0, 1}, reports: []work.Report{report(10, "cg0", 0, 1)}},
		// Spawned in the parent via the root cgroup: no cpuset.
		{origin: "", free: true, reports: []work.Report{report(11, "..", 3)}},
		// Spawned in cg0 too, moved to a cgroup on CPUs 2-3.
		{origin: "cg0", expected: []int{2, 3}, reports: []work.Report{report(12, "cg0", 2)},
			group: work.Group{MemPolicy: work.MemLocal}},
		// A cgroup that once had no cpuset.
		{origin: "cg1", expected: []int{2}, reports: []work.Report{report(13, "cg1", 2)}},
		{origin: "cg1", free: true, reports: []work.Report{report(14, "cg1", 0)},
			group: work.Group{MemPolicy: work.Bind(1)}},
		// Never stopped: no reports, no group.
		{origin: "cg2"},
	}
	got := r.groups()
	want := []check.Group{
		{Name: "cg0", CPUs: []int{0, 1, 2, 3}, Nodes: []int{1}, Reports: []work.Report{
			{PID: 10, Cgroup: "cg0", WorkUnits: 1, CPUs: []int{0, 1}, ExpectedCPUs: []int{0, 1}},
			{PID: 12, Cgroup: "cg0", WorkUnits: 1, CPUs: []int{2}, ExpectedCPUs: []int{2, 3}},
		}},
		{Name: "", Reports: []work.Report{{PID: 11, Cgroup: "", WorkUnits: 1, CPUs: []int{3}}}},
		{Name: "cg1", Nodes: []int{1}, Reports: []work.Report{
			{PID: 13, Cgroup: "cg1", WorkUnits: 1, CPUs: []int{2}, ExpectedCPUs: []int{2}},
			{PID: 14, Cgroup: "cg1", WorkUnits: 1, CPUs: []int{0}},
		}},
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("groups:\n%+v\nwant:\n%+v", got, want)
	}
	// The isolation check then flags only what left its cpusets.
	res := check.Evaluate(check.Assert{Isolation: check.On()}, got...)
	if !res.Passed {
		t.Errorf("isolation failed: %v", res.Err())
	}
	got[0].Reports[0].CPUs = []int{0, 3}
	res = check.Evaluate(check.Assert{Isolation: check.On()}, got...)
	if want := "cgroup cg0: worker 10 ran on CPUs {3} outside cpuset 0-1"; res.Err() == nil || res.Err().Error() != want {
		t.Errorf("isolation: %v, want %s", res.Err(), want)
	}
}

func TestNoteBeforeStart(t *testing.T) {
	// Only the cpuset a worker starts under counts until it started.
	r := &runner{ctx: &ktstr.Ctx{Topology: topo(1, 1, 2, 1)}, live: map[string]*liveCgroup{"a": {scope: scopeOp}}}
	ws := &workerSet{in: "a"}
	if err := r.note(ws); err != nil || !ws.free || ws.expected != nil {
		t.Errorf("no cpuset: free %v expected %v (%v)", ws.free, ws.expected, err)
	}
	ws.started = true
	if err := r.note(ws); err != nil || !ws.free {
		t.Errorf("started without a cpuset: free %v (%v)", ws.free, err)
	}
}

func TestUnion(t *testing.T) {
	if got := union([]int{3, 1}, []int{2, 3}); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("union = %v", got)
	}
	if got := union(nil, nil); len(got) != 0 {
		t.Errorf("union of nothing = %v", got)
	}
}

func TestParents(t *testing.T) {
	if got := parents("a/b/c"); !slices.Equal(got, []string{"a", "a/b"}) {
		t.Errorf("parents = %v", got)
	}
	if !isUnder("a/b", "a") || isUnder("ab", "a") || !isUnder("a", "a") {
		t.Error("isUnder")
	}
}

func TestGuestTopology(t *testing.T) {
	for _, shape := range []ktstr.Topology{ktstr.Topo(1, 2, 2, 1), ktstr.Topo(2, 4, 2, 1), ktstr.Topo(1, 2, 2, 2)} {
		got := GuestTopology(shape)
		want := topo(shape.NUMANodes, shape.LLCs, shape.CoresPerLLC, shape.ThreadsPerCore)
		if fmt.Sprint(got.CPUs, got.LLCs, got.Nodes) != fmt.Sprint(want.CPUs, want.LLCs, want.Nodes) {
			t.Errorf("%v: %v %v %v, want %v %v %v", shape, got.CPUs, got.LLCs, got.Nodes, want.CPUs, want.LLCs, want.Nodes)
		}
	}
}
