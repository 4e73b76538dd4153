package scenario

import (
	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/internal/plan"
)

// Cpuset says which CPUs a cgroup gets, in terms of the guest's topology.
// It is resolved inside the guest against the CPUs the kernel reports, so
// one scenario works on every topology it fits. Build one with [LLC],
// [Node], [Range], [Disjoint], [Overlap] or [Exact]; the zero Cpuset means
// no cpuset. Its Resolve method turns it into CPU ids on a topology, or
// says why it cannot; String describes it ("llc 1", "disjoint 0 of 2").
//
// All but Exact draw from the usable CPUs ([UsableCPUs]): every CPU
// except the last when there are more than two, which is left to the
// harness itself (its init, the scheduler's user-space side) so they do
// not compete with the workload.
type Cpuset = plan.Cpuset

// LLC is the usable CPUs of last-level cache i.
func LLC(i int) Cpuset { return plan.LLC(i) }

// Node is the usable CPUs of NUMA node n.
func Node(n int) Cpuset { return plan.Node(n) }

// Range is the usable CPUs from fraction from (inclusive) to fraction to
// (exclusive) of the list: Range(0, 0.5) is the first half.
func Range(from, to float64) Cpuset { return plan.Range(from, to) }

// Disjoint is partition i of n equal, disjoint partitions of the usable
// CPUs; the last partition also takes the remainder.
func Disjoint(i, n int) Cpuset { return plan.Disjoint(i, n) }

// Overlap is partition i of n, each extended into the next by frac of a
// partition's size, so neighbours share CPUs.
func Overlap(i, n int, frac float64) Cpuset { return plan.Overlap(i, n, frac) }

// Exact is exactly cpus, usable or not.
func Exact(cpus ...int) Cpuset { return plan.Exact(cpus...) }

// UsableCPUs returns the CPUs a workload may use: all but the last when
// there are more than two.
func UsableCPUs(t *ktstr.CPUTopology) []int { return plan.UsableCPUs(t) }
