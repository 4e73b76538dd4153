package scenario

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/cputopo"
	"github.com/ktstr-go/ktstr/internal/plan"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/work"
)

// topo is the topology a guest with the given shape reports.
func topo(nodes, llcs, cores, threads int) *ktstr.CPUTopology {
	return cputopo.Expected(wire.Shape{Nodes: nodes, LLCs: llcs, Cores: cores, Threads: threads})
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
	r := &runner{ctx: &ktstr.Ctx{Topology: topo(1, 1, 2, 1)}, live: map[string]*liveCgroup{"a": {scope: plan.ScopeOp}}}
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

func TestGuestTopology(t *testing.T) {
	// Distinct field values catch a field passed to the wrong place.
	shape := ktstr.Topo(2, 4, 3, 2)
	got := GuestTopology(shape)
	want := cputopo.Expected(wire.Shape{Nodes: 2, LLCs: 4, Cores: 3, Threads: 2})
	if fmt.Sprint(*got) != fmt.Sprint(*want) {
		t.Errorf("GuestTopology(%v) = %+v, want %+v", shape, *got, *want)
	}
}
