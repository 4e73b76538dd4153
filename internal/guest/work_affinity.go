package guest

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/ktstr-go/ktstr/work"
)

// ResolveAffinity turns an affinity intent into each of n workers' CPUs,
// the affinity argument of [SpawnGroup]. cgroupCPUs is the cgroup's cpuset
// (nil or empty: no cpuset, every CPU is allowed), allCPUs the online CPUs,
// llcs the CPUs of each last-level cache. seed makes random-subset
// reproducible.
//
//   - inherit: nil (no sched_setaffinity at all).
//   - random-subset: per worker, a random half (at least one) of the pool,
//     the pool being the cgroup's CPUs, or all CPUs without a cpuset.
//   - llc-aligned: per worker, the pool's CPUs in one LLC, workers dealt
//     round-robin over the LLCs that hold pool CPUs.
//   - all-cpus: every online CPU (the kernel confines the worker to the
//     cgroup's cpuset anyway; this is the "cross-cgroup" intent).
//   - single-cpu: one pool CPU per worker, dealt round-robin.
//   - exact: the given CPUs, for every worker.
func ResolveAffinity(a work.Affinity, n int, cgroupCPUs, allCPUs []int, llcs [][]int, seed uint64) ([][]int, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if a.Mode == work.AffinityInherit {
		return nil, nil
	}
	pool := slices.Clone(cgroupCPUs)
	if len(pool) == 0 {
		pool = slices.Clone(allCPUs)
	}
	slices.Sort(pool)
	pool = slices.Compact(pool)
	if len(pool) == 0 && a.Mode != work.AffinityExact {
		return nil, fmt.Errorf("affinity %s: no CPUs to choose from", a)
	}
	out := make([][]int, n)
	switch a.Mode {
	case work.AffinityRandomSubset:
		rng := rand.New(rand.NewPCG(seed, 0x6b747374))
		k := max(1, len(pool)/2)
		for i := range out {
			p := slices.Clone(pool)
			rng.Shuffle(len(p), func(x, y int) { p[x], p[y] = p[y], p[x] })
			out[i] = p[:k]
			slices.Sort(out[i])
		}
	case work.AffinityLLCAligned:
		var groups [][]int
		for _, l := range llcs {
			var g []int
			for _, c := range l {
				if slices.Contains(pool, c) {
					g = append(g, c)
				}
			}
			if len(g) > 0 {
				slices.Sort(g)
				groups = append(groups, g)
			}
		}
		if len(groups) == 0 {
			groups = [][]int{pool} // no cache topology known: one LLC
		}
		for i := range out {
			out[i] = slices.Clone(groups[i%len(groups)])
		}
	case work.AffinityAllCPUs:
		all := slices.Clone(allCPUs)
		if len(all) == 0 {
			all = pool
		}
		for i := range out {
			out[i] = slices.Clone(all)
		}
	case work.AffinitySingleCPU:
		for i := range out {
			out[i] = []int{pool[i%len(pool)]}
		}
	case work.AffinityExact:
		for i := range out {
			out[i] = slices.Clone(a.CPUs)
		}
	}
	return out, nil
}
