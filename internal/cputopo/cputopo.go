// Package cputopo is the CPU topology a guest reports: its CPUs and how
// they group into last-level caches, NUMA nodes and SMT cores.
//
// ktstr.CPUTopology is an alias of [Topology]. The type lives here, in a
// package that imports neither the root package nor the guest runtime, so
// that the scenario planner can take the same values inside a test body
// (ctx.Topology) and in the ktstr command, which must not link either.
package cputopo

import (
	"slices"

	"github.com/ktstr-go/ktstr/internal/wire"
)

// Topology is the CPU topology as the guest kernel reports it in sysfs.
type Topology struct {
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

// LLCOf returns the index of the LLC holding cpu, or -1.
func (t *Topology) LLCOf(cpu int) int {
	for i, l := range t.LLCs {
		if slices.Contains(l, cpu) {
			return i
		}
	}
	return -1
}

// NodeOf returns the NUMA node holding cpu, or -1.
func (t *Topology) NodeOf(cpu int) int {
	for i, n := range t.Nodes {
		if slices.Contains(n, cpu) {
			return i
		}
	}
	return -1
}

// Expected returns the topology a guest booted with shape s reports, given
// how the host lays CPUs out: thread fastest, then core, LLC, node. The
// guest checks on every boot that it sees exactly this (guest.Expected),
// so it also lets a scenario be planned outside the guest.
func Expected(s wire.Shape) *Topology {
	t := &Topology{}
	perLLC := s.Cores * s.Threads
	for cpu := 0; cpu < s.CPUs(); cpu++ {
		t.CPUs = append(t.CPUs, cpu)
		core := cpu / s.Threads
		t.Siblings = append(t.Siblings, seq(core*s.Threads, s.Threads))
	}
	for l := 0; l < s.LLCs; l++ {
		t.LLCs = append(t.LLCs, seq(l*perLLC, perLLC))
	}
	perNode := s.CPUs() / s.Nodes
	for n := 0; n < s.Nodes; n++ {
		t.Nodes = append(t.Nodes, seq(n*perNode, perNode))
		var d []int
		for m := 0; m < s.Nodes; m++ {
			if m == n {
				d = append(d, 10)
			} else {
				d = append(d, 20)
			}
		}
		t.Distances = append(t.Distances, d)
	}
	return t
}

// seq returns n consecutive ints from from.
func seq(from, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = from + i
	}
	return s
}
