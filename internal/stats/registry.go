// Package stats compares ktstr runs: it holds the metric registry (which
// direction of each sidecar metric is better and how large a change must
// be to count) and computes A/B comparisons of sidecars for ktstr stats.
package stats

import (
	"fmt"
	"strings"

	"github.com/ktstr-go/ktstr/sidecar"
)

// Polarity says which direction of a metric is better.
type Polarity int

// Polarities.
const (
	// Unknown metrics have no better direction: changes past the
	// thresholds are reported as changed, never as regressions.
	Unknown Polarity = iota
	// LowerBetter metrics regress when they grow.
	LowerBetter
	// HigherBetter metrics regress when they shrink.
	HigherBetter
)

// String returns "lower", "higher" or "unknown".
func (p Polarity) String() string {
	switch p {
	case LowerBetter:
		return "lower"
	case HigherBetter:
		return "higher"
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (p Polarity) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText accepts "lower", "higher", "unknown" (and the forms
// "lower_better", "higher_better").
func (p *Polarity) UnmarshalText(b []byte) error {
	switch strings.ToLower(string(b)) {
	case "lower", "lower_better", "lowerbetter":
		*p = LowerBetter
	case "higher", "higher_better", "higherbetter":
		*p = HigherBetter
	case "unknown", "":
		*p = Unknown
	default:
		return fmt.Errorf("polarity %q: want lower, higher or unknown", b)
	}
	return nil
}

// Metric is a registry entry: how to judge a change of one metric. A
// change is significant only when it passes both thresholds: |b − a| ≥ Abs
// and |b − a| / |a| ≥ Rel.
type Metric struct {
	// Name is the metric's name in sidecars (sidecar.Metric* or
	// PayloadPrefix + a payload metric's name).
	Name string `json:"name"`
	// Polarity says which direction is better.
	Polarity Polarity `json:"polarity"`
	// Abs is the absolute threshold, in Unit.
	Abs float64 `json:"abs_threshold"`
	// Rel is the relative threshold as a fraction (0.25 is 25 %).
	Rel float64 `json:"rel_threshold"`
	// Unit is the unit of values ("" for counts and ratios).
	Unit string `json:"unit,omitempty"`
	// Doc describes the metric.
	Doc string `json:"description"`
}

// PayloadPrefix names payload metrics in comparisons: a payload metric
// "iops" is compared as "payload.iops".
const PayloadPrefix = "payload."

// DefaultPolicy is how metrics outside the registry (payload metrics and
// unregistered statistics) are judged: no better direction (reported as
// changed, never as regressions, unless a policy file gives one), and
// significant from a 10 % change.
var DefaultPolicy = Metric{Polarity: Unknown, Abs: 0, Rel: 0.10}

// registry is in display order. Thresholds are the reference's.
var registry = []Metric{
	{sidecar.MetricWorstSpread, LowerBetter, 5, 0.25, "%", "largest max-min off-CPU percentage among a cgroup's workers"},
	{sidecar.MetricWorstGapMS, LowerBetter, 500, 0.50, "ms", "longest time any worker went without running"},
	{sidecar.MetricTotalMigrations, LowerBetter, 10, 0.30, "", "CPU migrations, summed over workers"},
	{sidecar.MetricWorstMigrationRatio, LowerBetter, 0.05, 0.20, "", "migrations per work unit, worst cgroup"},
	{sidecar.MetricMaxImbalanceRatio, LowerBetter, 1, 0.25, "x", "monitor: a CPU's load over the least loaded CPU its tasks may use"},
	{sidecar.MetricMaxDSQDepth, LowerBetter, 10, 0.50, "", "monitor: deepest sched_ext local DSQ"},
	{sidecar.MetricStallCount, LowerBetter, 1, 0.50, "", "monitor: stalls (a CPU's clock frozen with runnable tasks)"},
	{sidecar.MetricTotalFallback, LowerBetter, 5, 0.30, "", "monitor: sched_ext select_cpu fallback events"},
	{sidecar.MetricTotalKeepLast, LowerBetter, 5, 0.30, "", "monitor: sched_ext dispatch keep-last events"},
	{sidecar.MetricIdleWhileWaitingMS, LowerBetter, 200, 0.50, "ms", "monitor: longest a CPU idled while tasks allowed there waited"},
	{sidecar.MetricMaxFallbackRate, LowerBetter, 20, 0.30, "/s", "monitor: highest sched_ext select_cpu fallback rate"},
	{sidecar.MetricMaxKeepLastRate, LowerBetter, 20, 0.30, "/s", "monitor: highest sched_ext dispatch keep-last rate"},
	{sidecar.MetricWorstP99WakeLatencyUS, LowerBetter, 50, 0.25, "µs", "p99 wake-up latency, worst cgroup"},
	{sidecar.MetricWorstMedianWakeLatencyUS, LowerBetter, 20, 0.25, "µs", "median wake-up latency, worst cgroup"},
	{sidecar.MetricWorstWakeLatencyCV, LowerBetter, 0.10, 0.25, "", "coefficient of variation of wake-up latencies, worst cgroup"},
	{sidecar.MetricTotalIterations, HigherBetter, 100, 0.10, "", "work units done, summed over workers"},
	{sidecar.MetricWorstMeanRunDelayUS, LowerBetter, 50, 0.25, "µs", "mean run-queue wait per timeslice, worst cgroup"},
	{sidecar.MetricWorstRunDelayUS, LowerBetter, 100, 0.50, "µs", "largest per-worker run-queue wait per timeslice"},
	{sidecar.MetricWorstWakeLatencyTailRatio, LowerBetter, 0.5, 0.25, "x", "p99/median wake-up latency, worst cgroup"},
	{sidecar.MetricWorstIterationsPerWorker, HigherBetter, 10, 0.10, "", "work units per worker, worst cgroup"},
	{sidecar.MetricWorstPageLocality, HigherBetter, 0.05, 0.10, "", "fraction of pages on the worker's NUMA nodes, worst worker"},
	{sidecar.MetricWorstCrossNodeMigration, LowerBetter, 0.05, 0.20, "", "pages migrated across NUMA nodes per page, worst cgroup"},
	{sidecar.MetricTotalWorkers, Unknown, 1, 0, "", "workers (a change means the test changed)"},
	{sidecar.MetricTotalCPUs, Unknown, 1, 0, "", "CPUs the workers could use (a change means the test or topology changed)"},
	{sidecar.MetricTotalVerifiedInsns, LowerBetter, verifiedInsnsAbs, verifiedInsnsRel, "insns", "instructions the verifier processed, summed over the scheduler's BPF programs"},
}

// Verified instructions (the verifier's work to prove a BPF program safe)
// are exact: the same scheduler binary on the same kernel gives the same
// count every load (seen so over repeated runs of scx_simple and
// scx_qmap), so the thresholds absorb no noise, they say what growth is
// worth a look. Growth of 10 % is more than a small change to the code
// adds (a branch or a field), and is how lost state pruning or an unrolled
// loop first shows, on the way to the kernel's limit of a million per
// program and to loads that take seconds (scx_qmap's dispatch needs about
// 19000). The 100 instructions keep the smallest callbacks (7 to 42 in
// scx_simple) from flagging a one-line change.
const (
	verifiedInsnsAbs = 100
	verifiedInsnsRel = 0.10
)

// families are registry entries for metrics named by a prefix and a
// variable part, in display order after the registry: the name of each
// entry is its prefix followed by a placeholder.
var families = []Metric{
	{sidecar.MetricVerifiedInsnsPrefix + "<program>", LowerBetter, verifiedInsnsAbs, verifiedInsnsRel, "insns", "instructions the verifier processed for one of the scheduler's BPF programs"},
}

// familyPrefix is the prefix of family entry f's metrics.
func familyPrefix(f Metric) string { return f.Name[:strings.IndexByte(f.Name, '<')] }

// registryIndex maps names to positions in registry.
var registryIndex = func() map[string]int {
	m := make(map[string]int, len(registry))
	for i, e := range registry {
		m[e.Name] = i
	}
	return m
}()

// Registry returns the registered metrics in display order, the families
// last, each named by its prefix and a placeholder
// ("verified_insns.<program>").
func Registry() []Metric { return append(append([]Metric(nil), registry...), families...) }

// Lookup returns the registry entry of name: its own, or its family's
// under name.
func Lookup(name string) (Metric, bool) {
	i, ok := rank(name)
	switch {
	case !ok:
		return Metric{}, false
	case i < len(registry):
		return registry[i], true
	}
	m := families[i-len(registry)]
	m.Name = name
	return m, true
}

// rank is name's place in Registry: its entry's, or its family's.
func rank(name string) (int, bool) {
	if i, ok := registryIndex[name]; ok {
		return i, true
	}
	for i, f := range families {
		if p := familyPrefix(f); strings.HasPrefix(name, p) && len(name) > len(p) {
			return len(registry) + i, true
		}
	}
	return 0, false
}

// metricLess orders registered metrics first, in registry order (a
// family's by name), then the others by name.
func metricLess(a, b string) bool {
	ia, oka := rank(a)
	ib, okb := rank(b)
	switch {
	case oka && okb && ia != ib:
		return ia < ib
	case oka != okb:
		return oka
	}
	return a < b
}
