package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/internal/cputopo"
)

// topo builds the topology a guest with the given shape reports.
func topo(nodes, llcs, cores, threads int) *cputopo.Topology {
	t := &cputopo.Topology{}
	per := cores * threads
	for c := 0; c < llcs*per; c++ {
		t.CPUs = append(t.CPUs, c)
	}
	for l := 0; l < llcs; l++ {
		t.LLCs = append(t.LLCs, t.CPUs[l*per:(l+1)*per])
	}
	perNode := len(t.CPUs) / nodes
	for n := 0; n < nodes; n++ {
		t.Nodes = append(t.Nodes, t.CPUs[n*perNode:(n+1)*perNode])
	}
	return t
}

func TestCpusetResolve(t *testing.T) {
	small := topo(1, 1, 2, 1) // 2 CPUs: both usable
	four := topo(1, 2, 2, 1)  // 4 CPUs: 0-2 usable
	numa := topo(2, 4, 2, 1)  // 8 CPUs, nodes 0-3 and 4-7: 0-6 usable
	smt := topo(1, 2, 2, 2)   // 8 CPUs, LLCs 0-3 and 4-7
	for _, c := range []struct {
		name string
		t    *cputopo.Topology
		spec Cpuset
		want []int
	}{
		{"small keeps every CPU", small, Range(0, 1), []int{0, 1}},
		{"llc 0", four, LLC(0), []int{0, 1}},
		{"llc 1 loses the reserved CPU", four, LLC(1), []int{2}},
		{"node 1", numa, Node(1), []int{4, 5, 6}},
		{"first half", smt, Range(0, 0.5), []int{0, 1, 2, 3}},
		{"second half", smt, Range(0.5, 1), []int{3, 4, 5, 6}},
		{"disjoint 0 of 2", smt, Disjoint(0, 2), []int{0, 1, 2}},
		{"disjoint 1 of 2 takes the remainder", smt, Disjoint(1, 2), []int{3, 4, 5, 6}},
		{"disjoint 2 of 3", numa, Disjoint(2, 3), []int{4, 5, 6}},
		{"overlap 0 of 2 by half", smt, Overlap(0, 2, 0.5), []int{0, 1, 2, 3, 4}},
		{"overlap last is clipped", smt, Overlap(1, 2, 0.5), []int{3, 4, 5, 6}},
		{"exact may use the reserved CPU", four, Exact(3, 1, 1), []int{1, 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.spec.Resolve(c.t)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s = %v, want %v", c.spec, got, c.want)
			}
		})
	}
}

func TestCpusetResolveErrors(t *testing.T) {
	four := topo(1, 2, 2, 1)
	for _, c := range []struct {
		spec Cpuset
		want string
	}{
		{Disjoint(0, 8), "not enough usable CPUs (3) for 8 partitions"},
		{Disjoint(3, 3), "index 3 out of range for 3 partitions"},
		{LLC(2), "the guest has 2 LLCs (0-1)"},
		{Node(1), "the guest has 1 NUMA nodes"},
		{Range(0.5, 0.5), "0 <= from < to <= 1"},
		{Range(-0.1, 0.5), "0 <= from < to <= 1"},
		{Overlap(0, 2, 1.5), "overlap fraction must be in [0, 1]"},
		{Exact(9), "CPU 9 is not in the guest (CPUs 0-3)"},
		{Exact(), "empty"},
		{Cpuset{}, "zero value"},
	} {
		_, err := c.spec.Resolve(four)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.spec, err, c.want)
		}
	}
}
