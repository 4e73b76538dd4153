package plan

import (
	"fmt"
	"math"
	"slices"

	"github.com/ktstr-go/ktstr/internal/cpuset"
	"github.com/ktstr-go/ktstr/internal/cputopo"
)

// Cpuset says which CPUs a cgroup gets, in terms of the guest's topology.
// It is resolved inside the guest against the CPUs the kernel reports, so
// one scenario works on every topology it fits. Build one with [LLC],
// [Node], [Range], [Disjoint], [Overlap] or [Exact].
//
// All but Exact draw from the usable CPUs: every CPU except the last when
// there are more than two, which is left to the harness itself (its init,
// the scheduler's user-space side) so they do not compete with the
// workload.
type Cpuset struct {
	kind      cpusetKind
	index, of int
	from, to  float64
	frac      float64
	cpus      []int
}

type cpusetKind int

const (
	cpusetLLC cpusetKind = iota + 1
	cpusetNode
	cpusetRange
	cpusetDisjoint
	cpusetOverlap
	cpusetExact
)

// LLC is the usable CPUs of last-level cache i.
func LLC(i int) Cpuset { return Cpuset{kind: cpusetLLC, index: i} }

// Node is the usable CPUs of NUMA node n.
func Node(n int) Cpuset { return Cpuset{kind: cpusetNode, index: n} }

// Range is the usable CPUs from fraction from (inclusive) to fraction to
// (exclusive) of the list: Range(0, 0.5) is the first half.
func Range(from, to float64) Cpuset { return Cpuset{kind: cpusetRange, from: from, to: to} }

// Disjoint is partition i of n equal, disjoint partitions of the usable
// CPUs; the last partition also takes the remainder.
func Disjoint(i, n int) Cpuset { return Cpuset{kind: cpusetDisjoint, index: i, of: n} }

// Overlap is partition i of n, each extended into the next by frac of a
// partition's size, so neighbours share CPUs.
func Overlap(i, n int, frac float64) Cpuset {
	return Cpuset{kind: cpusetOverlap, index: i, of: n, frac: frac}
}

// Exact is exactly cpus, usable or not.
func Exact(cpus ...int) Cpuset { return Cpuset{kind: cpusetExact, cpus: slices.Clone(cpus)} }

// IsZero reports whether c is the zero Cpuset, which means no cpuset.
func (c Cpuset) IsZero() bool { return c.kind == 0 }

// String describes the spec, e.g. "llc 1" or "disjoint 0 of 2".
func (c Cpuset) String() string {
	switch c.kind {
	case cpusetLLC:
		return fmt.Sprintf("llc %d", c.index)
	case cpusetNode:
		return fmt.Sprintf("node %d", c.index)
	case cpusetRange:
		return fmt.Sprintf("range %.2f-%.2f", c.from, c.to)
	case cpusetDisjoint:
		return fmt.Sprintf("disjoint %d of %d", c.index, c.of)
	case cpusetOverlap:
		return fmt.Sprintf("overlap %d of %d by %.2f", c.index, c.of, c.frac)
	case cpusetExact:
		return "cpus " + cpuset.Format(c.cpus)
	}
	return "no cpuset"
}

// UsableCPUs returns the CPUs a workload may use: all but the last when
// there are more than two.
func UsableCPUs(t *cputopo.Topology) []int {
	cpus := slices.Clone(t.CPUs)
	if len(cpus) > 2 {
		cpus = cpus[:len(cpus)-1]
	}
	return cpus
}

// Resolve turns the spec into CPU ids on topology t, or says why it cannot.
func (c Cpuset) Resolve(t *cputopo.Topology) ([]int, error) {
	usable := UsableCPUs(t)
	n := len(usable)
	switch c.kind {
	case cpusetLLC, cpusetNode:
		groups, what := t.LLCs, "LLC"
		if c.kind == cpusetNode {
			groups, what = t.Nodes, "NUMA node"
		}
		if c.index < 0 || c.index >= len(groups) {
			return nil, fmt.Errorf("cpuset %s: the guest has %d %ss (0-%d)", c, len(groups), what, len(groups)-1)
		}
		out := intersect(groups[c.index], usable)
		if len(out) == 0 {
			return nil, fmt.Errorf("cpuset %s: %s %d has no usable CPU (its CPUs %s; the last CPU is kept for the harness)", c, what, c.index, cpuset.Format(groups[c.index]))
		}
		return out, nil
	case cpusetRange:
		if c.from < 0 || c.to > 1 || c.from >= c.to {
			return nil, fmt.Errorf("cpuset %s: fractions must satisfy 0 <= from < to <= 1", c)
		}
		lo, hi := int(math.Floor(c.from*float64(n))), int(math.Ceil(c.to*float64(n)))
		if hi <= lo {
			return nil, fmt.Errorf("cpuset %s: selects no CPU of %d usable", c, n)
		}
		return slices.Clone(usable[lo:hi]), nil
	case cpusetDisjoint, cpusetOverlap:
		if c.of < 1 {
			return nil, fmt.Errorf("cpuset %s: partition count must be at least 1", c)
		}
		if c.index < 0 || c.index >= c.of {
			return nil, fmt.Errorf("cpuset %s: index %d out of range for %d partitions (0-%d)", c, c.index, c.of, c.of-1)
		}
		if n < c.of {
			return nil, fmt.Errorf("cpuset %s: not enough usable CPUs (%d) for %d partitions", c, n, c.of)
		}
		if c.kind == cpusetOverlap && (c.frac < 0 || c.frac > 1) {
			return nil, fmt.Errorf("cpuset %s: overlap fraction must be in [0, 1]", c)
		}
		size := n / c.of
		lo, hi := c.index*size, (c.index+1)*size
		if c.index == c.of-1 {
			hi = n
		}
		if c.kind == cpusetOverlap {
			hi = min(n, hi+int(math.Ceil(c.frac*float64(size))))
		}
		return slices.Clone(usable[lo:hi]), nil
	case cpusetExact:
		if len(c.cpus) == 0 {
			return nil, fmt.Errorf("cpuset %s: empty; use no cpuset instead", c)
		}
		for _, cpu := range c.cpus {
			if !slices.Contains(t.CPUs, cpu) {
				return nil, fmt.Errorf("cpuset %s: CPU %d is not in the guest (CPUs %s)", c, cpu, cpuset.Format(t.CPUs))
			}
		}
		out := slices.Clone(c.cpus)
		slices.Sort(out)
		return slices.Compact(out), nil
	}
	return nil, fmt.Errorf("cpuset: zero value; build one with LLC, Node, Range, Disjoint, Overlap or Exact")
}

// intersect returns the elements of a that are also in b, in a's order.
func intersect(a, b []int) []int {
	var out []int
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
