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
}

// registryIndex maps names to positions in registry.
var registryIndex = func() map[string]int {
	m := make(map[string]int, len(registry))
	for i, e := range registry {
		m[e.Name] = i
	}
	return m
}()

// Registry returns the registered metrics in display order.
func Registry() []Metric { return append([]Metric(nil), registry...) }

// Lookup returns the registry entry of name.
func Lookup(name string) (Metric, bool) {
	i, ok := registryIndex[name]
	if !ok {
		return Metric{}, false
	}
	return registry[i], true
}

// metricLess orders registered metrics first, in registry order, then the
// others by name.
func metricLess(a, b string) bool {
	ia, oka := registryIndex[a]
	ib, okb := registryIndex[b]
	switch {
	case oka && okb:
		return ia < ib
	case oka != okb:
		return oka
	}
	return a < b
}
