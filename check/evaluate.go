package check

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/internal/cpuset"
	"github.com/ktstr-go/ktstr/work"
)

// Group is one cgroup's workers and what the harness set for the cgroup.
type Group struct {
	// Name is the cgroup, as in work.Report.Cgroup ("" for the harness's
	// cgroup parent, shown as "(parent)").
	Name string
	// CPUs is the cgroup's cpuset; nil when it has none. The isolation
	// check uses it for workers without their own ExpectedCPUs.
	CPUs []int
	// Nodes are the NUMA nodes of the workers' memory policy; nil when
	// none was set, which skips the page-locality check.
	Nodes []int
	// Reports holds one report per worker of the cgroup.
	Reports []work.Report
}

// ByCgroup groups reports by their Cgroup field, in order of first
// appearance, with no cpuset or nodes: the isolation check then relies on
// each report's ExpectedCPUs.
func ByCgroup(reports ...work.Report) []Group {
	var groups []Group
	at := map[string]int{}
	for _, r := range reports {
		i, ok := at[r.Cgroup]
		if !ok {
			i = len(groups)
			at[r.Cgroup] = i
			groups = append(groups, Group{Name: r.Cgroup})
		}
		groups[i].Reports = append(groups[i].Reports, r)
	}
	return groups
}

// Failure is one finding of a check.
type Failure struct {
	// Kind is the check that failed.
	Kind Kind `json:"kind"`
	// Cgroup is the group's name.
	Cgroup string `json:"cgroup"`
	// PID is the worker at fault; 0 when the finding is about the whole
	// cgroup (spread, throughput CV, wake latency, migration ratio).
	PID int `json:"pid"`
	// Message says what was seen and the limit, starting with the cgroup:
	// "cgroup cg0: worker 1234 starved (0 work units in 2.0 s)".
	Message string `json:"message"`
}

// String returns the message.
func (f Failure) String() string { return f.Message }

// Result is the verdict on a set of groups.
type Result struct {
	// Passed is true when there are no failures.
	Passed bool `json:"passed"`
	// Failures lists the findings, group by group in the order given,
	// within a group in the order of the Kind constants.
	Failures []Failure `json:"failures"`
	// Stats holds the figures behind the verdict.
	Stats Stats `json:"stats"`
}

// Merge combines two results, as of two phases of a test: passed when
// both passed, failures of r then of other, and stats over the cgroups of
// both (totals summed, worst of the worst).
func (r Result) Merge(other Result) Result {
	return Result{
		Passed:   r.Passed && other.Passed,
		Failures: slices.Concat(r.Failures, other.Failures),
		Stats:    newStats(slices.Concat(r.Stats.Cgroups, other.Stats.Cgroups)),
	}
}

// Err returns nil when r passed, else an error listing the failure
// messages one per line.
func (r Result) Err() error {
	if r.Passed {
		return nil
	}
	if len(r.Failures) == 0 {
		return errors.New("check failed")
	}
	msgs := make([]string, len(r.Failures))
	for i, f := range r.Failures {
		msgs[i] = f.Message
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// Evaluate runs the checks a enables on each group and merges the
// outcomes. Only checks set to a value run (see [Assert]); the stats are
// computed in full either way.
//
// Within a cgroup:
//   - starvation: every worker but fan-out messengers has work units;
//   - spread: over workers with wall time, off-CPU % = OffCPU/WallTime·100,
//     spread = highest − lowest, checked with 2 or more such workers;
//   - gap: each worker's MaxGap;
//   - isolation: each worker's CPUs against its ExpectedCPUs, else the
//     group's CPUs, else nothing to check;
//   - throughput: work units per CPU-second of non-messenger workers with
//     CPU time; the CV needs 2 or more of them;
//   - wake latency: p99 (nearest rank, see [Percentile]) and CV of the
//     non-messenger workers' pooled samples; no samples, no check;
//   - migration ratio: Σ migrations / Σ checkpoints; no checkpoints, no
//     check;
//   - page locality: per worker, pages on the group's Nodes / all its
//     pages (1 with no pages); no Nodes, no check.
//
// CVs are σ/μ with the population standard deviation (0 when μ is 0).
func Evaluate(a Assert, groups ...Group) Result {
	res := Result{Passed: true}
	cgs := make([]CgroupStats, 0, len(groups))
	for _, g := range groups {
		fails, cs := evaluateGroup(a, g)
		res.Failures = append(res.Failures, fails...)
		cgs = append(cgs, cs)
	}
	res.Passed = len(res.Failures) == 0
	res.Stats = newStats(cgs)
	return res
}

// cgroupLabel names a group in messages and stats.
func cgroupLabel(name string) string {
	if name == "" {
		return "(parent)"
	}
	return name
}

// evaluateGroup computes one group's stats and runs the checks on it.
func evaluateGroup(a Assert, g Group) ([]Failure, CgroupStats) {
	cs := groupStats(g)
	var fails []Failure
	fail := func(k Kind, pid int, format string, args ...any) {
		fails = append(fails, Failure{
			Kind:    k,
			Cgroup:  g.Name,
			PID:     pid,
			Message: "cgroup " + cgroupLabel(g.Name) + ": " + fmt.Sprintf(format, args...),
		})
	}

	if enabled(a.NotStarved) {
		for _, r := range g.Reports {
			if r.Messenger || r.WorkUnits > 0 {
				continue
			}
			how := "0 work units in " + fmtS(r.WallTime)
			switch {
			case r.Exit != "" && r.WallTime == 0:
				// Killed before it could say anything: it never got
				// a CPU to answer the stop either.
				how = "no report, " + r.Exit
			case r.Exit != "":
				how += "; " + r.Exit
			}
			fail(Starved, r.PID, "worker %d starved (%s)", r.PID, how)
		}
	}

	if limit, ok := a.MaxSpreadPct.Get(); ok && cs.offCPUWorkers >= 2 && cs.SpreadPct > limit {
		fail(Unfair, 0, "spread %s%% (%s-%s%%) over %d workers on %d %s, limit %s%%",
			fmtNum(cs.SpreadPct, 1), fmtNum(cs.MinOffCPUPct, 1), fmtNum(cs.MaxOffCPUPct, 1),
			cs.offCPUWorkers, len(cs.CPUs), plural(len(cs.CPUs), "CPU"), fmtLimit(limit))
	}

	if limit, ok := a.MaxGap.Get(); ok {
		for _, r := range g.Reports {
			if r.MaxGap > limit {
				fail(Stuck, r.PID, "worker %d stuck %s on cpu%d at +%s, limit %s",
					r.PID, fmtMS(r.MaxGap), r.MaxGapCPU, fmtS(r.MaxGapAt), fmtMS(limit))
			}
		}
	}

	if enabled(a.Isolation) {
		for _, r := range g.Reports {
			expected := r.ExpectedCPUs
			if len(expected) == 0 {
				expected = g.CPUs
			}
			if len(expected) == 0 {
				continue
			}
			var outside []int
			for _, c := range r.CPUs {
				if !slices.Contains(expected, c) {
					outside = append(outside, c)
				}
			}
			if len(outside) > 0 {
				fail(Isolation, r.PID, "worker %d ran on CPUs {%s} outside cpuset %s",
					r.PID, cpuset.Format(outside), cpuset.Format(expected))
			}
		}
	}

	if limit, ok := a.MaxThroughputCV.Get(); ok && cs.ratedWorkers >= 2 && cs.ThroughputCV > limit {
		fail(Throughput, 0, "throughput CV %s over %d workers (%s-%s units/CPU-s), limit %s",
			fmtNum(cs.ThroughputCV, 2), cs.ratedWorkers, fmtNum(cs.MinWorkRate, 1),
			fmtNum(cs.MaxWorkRate, 1), fmtLimit(limit))
	}
	if limit, ok := a.MinWorkRate.Get(); ok {
		for _, r := range g.Reports {
			if rate, ok := workRate(r); ok && rate < limit {
				fail(Throughput, r.PID, "worker %d did %s units/CPU-s (%d units in %s of CPU), minimum %s",
					r.PID, fmtNum(rate, 1), r.WorkUnits, fmtS(r.CPUTime), fmtLimit(limit))
			}
		}
	}

	if cs.WakeSamples > 0 {
		if limit, ok := a.MaxP99WakeLatency.Get(); ok && cs.P99WakeLatency > limit {
			fail(WakeLatency, 0, "p99 wake latency %s (median %s, %d samples from %d %s), limit %s",
				fmtUS(cs.P99WakeLatency), fmtUS(cs.MedianWakeLatency), cs.WakeSamples,
				cs.wakeWorkers, plural(cs.wakeWorkers, "worker"), fmtUS(limit))
		}
		if limit, ok := a.MaxWakeLatencyCV.Get(); ok && cs.WakeLatencyCV > limit {
			fail(WakeLatency, 0, "wake latency CV %s (mean %s, %d samples from %d %s), limit %s",
				fmtNum(cs.WakeLatencyCV, 2), fmtUS(cs.meanWakeLatency), cs.WakeSamples,
				cs.wakeWorkers, plural(cs.wakeWorkers, "worker"), fmtLimit(limit))
		}
	}

	if limit, ok := a.MaxMigrationRatio.Get(); ok && cs.Checkpoints > 0 && cs.MigrationRatio > limit {
		fail(Migration, 0, "migration ratio %s (%d migrations over %d checkpoints), limit %s",
			fmtNum(cs.MigrationRatio, 4), cs.Migrations, cs.Checkpoints, fmtLimit(limit))
	}

	if limit, ok := a.MinPageLocality.Get(); ok && len(g.Nodes) > 0 {
		for _, r := range g.Reports {
			local, total := pageCounts(r, g.Nodes)
			if total == 0 {
				continue
			}
			if loc := float64(local) / float64(total); loc < limit {
				fail(PageLocality, r.PID, "worker %d page locality %s (%d of %d pages on nodes %s), limit %s",
					r.PID, fmtNum(loc, 3), local, total, cpuset.Format(g.Nodes), fmtLimit(limit))
			}
		}
	}
	return fails, cs.CgroupStats
}

// workRate returns a worker's work units per CPU-second, and whether it
// counts for throughput: not a messenger, and with CPU time.
func workRate(r work.Report) (float64, bool) {
	if r.Messenger || r.CPUTime <= 0 {
		return 0, false
	}
	return float64(r.WorkUnits) / r.CPUTime.Seconds(), true
}

// pageCounts returns a worker's pages on nodes and in all.
func pageCounts(r work.Report, nodes []int) (local, total uint64) {
	for n, p := range r.NUMAPages {
		total += p
		if slices.Contains(nodes, n) {
			local += p
		}
	}
	return local, total
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of samples by the
// nearest-rank method: the smallest sample such that at least p % of the
// samples are less than or equal to it, i.e. the ⌈p/100·n⌉-th smallest
// (1-based). It never interpolates, so the result is always one of the
// samples. p ≤ 0 gives the smallest sample, p > 100 the largest; no
// samples give 0. samples is not modified.
func Percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return percentileSorted(s, p)
}

// percentileSorted is Percentile on sorted samples.
func percentileSorted(s []time.Duration, p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = max(1, min(rank, len(s)))
	return s[rank-1]
}

// meanCV returns the mean and the coefficient of variation (population
// standard deviation over the mean; 0 when the mean is 0) of xs.
func meanCV(xs []float64) (mean, cv float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if mean == 0 {
		return 0, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss/float64(len(xs))) / mean
}
