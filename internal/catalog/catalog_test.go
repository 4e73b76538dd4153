package catalog

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/cputopo"
	"github.com/ktstr-go/ktstr/internal/plan"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/work"
)

// topo is the topology a guest with the given shape reports.
func topo(nodes, llcs, cores, threads int) *cputopo.Topology {
	return cputopo.Expected(wire.Shape{Nodes: nodes, LLCs: llcs, Cores: cores, Threads: threads})
}

// topologies are shapes every catalogue scenario must fit.
var topologies = map[string]*cputopo.Topology{
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
			if _, err := plan.Prepare(tp, 2*time.Second, b, steps...); err != nil {
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
		if s.Description == "" || strings.Contains(s.Description, "\n") || s.Build == nil {
			t.Errorf("%s: description %q, Build missing", s.Name, s.Description)
		}
		if got, err := Lookup(s.Name); err != nil || got.Name != s.Name {
			t.Errorf("Lookup(%q) = %v, %v", s.Name, got.Name, err)
		}
	}
	if !slices.IsSortedFunc(all, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) }) {
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
	used := map[plan.OpKind]bool{}
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
	for _, k := range []plan.OpKind{plan.OpAddCgroup, plan.OpRemoveCgroup, plan.OpSetCpuset, plan.OpClearCpuset, plan.OpSwapCpusets,
		plan.OpSpawn, plan.OpStopCgroup, plan.OpSetAffinity, plan.OpSpawnHost, plan.OpMoveAllTasks} {
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
		t    *cputopo.Topology
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
