package ktstr

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/sidecar"
)

// sidecarWriters holds this process's sidecar writers, one per kernel (each
// kernel's results have their own directory), so the first write of a run
// clears each directory's old results once.
var sidecarWriters = struct {
	sync.Mutex
	m map[string]*sidecar.Writer
}{m: map[string]*sidecar.Writer{}}

func writerFor(k *kernel.Kernel) *sidecar.Writer {
	sidecarWriters.Lock()
	defer sidecarWriters.Unlock()
	w, ok := sidecarWriters.m[k.Version]
	if !ok {
		w = sidecar.DefaultWriter(k.Version)
		sidecarWriters.m[k.Version] = w
	}
	return w
}

// sidecarResult turns one variant's run into its result file's contents.
func sidecarResult(name string, spec Spec, v variant, r *hostRunResult) sidecar.Result {
	s := sidecar.Result{
		TestName:      name,
		Topology:      v.topo.String(),
		Flags:         v.profile.Flags,
		Scheduler:     spec.Scheduler.String(),
		KernelVersion: r.kernel.Version,
		Accelerator:   string(r.Accel),
		Deterministic: r.deterministic,
		HostNoise:     r.hostNoise(),
	}
	if c := spec.cmdline(); c != "" {
		s.KernelArgs = strings.Fields(c)
	}
	s.Sysctls = spec.Scheduler.Sysctls
	fs := r.failures()
	s.Passed = len(fs) == 0
	for _, f := range fs {
		s.Failures = append(s.Failures, string(f.Kind)+": "+f.Message)
	}
	if res := r.Result; res != nil {
		fillSidecarStats(&s, res)
	}
	return s
}

// fillSidecarStats copies the guest's check figures into the sidecar,
// under the metric names `ktstr stats` compares.
func fillSidecarStats(s *sidecar.Result, res *wire.Result) {
	for _, p := range res.Timeline {
		s.Steps = append(s.Steps, sidecar.Step{Name: p.Name, Start: p.At, Duration: p.End - p.At})
	}
	for _, p := range res.Payloads {
		if s.PayloadMetrics == nil && len(p.Metrics) > 0 {
			s.PayloadMetrics = map[string]float64{}
		}
		for name, v := range p.Metrics {
			s.PayloadMetrics[p.Name+"."+name] = v
		}
	}
	if res.Checks == nil {
		return
	}
	st := res.Checks.Stats
	s.Stats.Overall = sidecar.Metrics{
		"total_workers":                float64(st.Workers),
		"total_cpus":                   float64(len(st.CPUs)),
		"total_iterations":             float64(st.WorkUnits),
		"total_migrations":             float64(st.Migrations),
		"worst_spread":                 st.WorstSpreadPct,
		"worst_gap_ms":                 ms(st.WorstGap),
		"worst_migration_ratio":        st.WorstMigrationRatio,
		"worst_p99_wake_latency_us":    us(st.WorstP99WakeLatency),
		"worst_median_wake_latency_us": us(st.WorstMedianWakeLatency),
		"worst_wake_latency_cv":        st.WorstWakeLatencyCV,
		"worst_mean_run_delay_us":      us(st.WorstMeanRunDelay),
		"worst_run_delay_us":           us(st.WorstMaxRunDelay),
		"worst_iterations_per_worker":  st.WorstUnitsPerWorker,
		"worst_page_locality":          st.WorstPageLocality,
	}
	s.Stats.Cgroups = map[string]sidecar.Metrics{}
	for _, c := range st.Cgroups {
		s.Stats.Cgroups[c.Name] = sidecar.Metrics{
			"total_workers":                float64(c.Workers),
			"total_iterations":             float64(c.WorkUnits),
			"total_migrations":             float64(c.Migrations),
			"worst_spread":                 c.SpreadPct,
			"worst_gap_ms":                 ms(c.MaxGap),
			"worst_migration_ratio":        c.MigrationRatio,
			"worst_p99_wake_latency_us":    us(c.P99WakeLatency),
			"worst_median_wake_latency_us": us(c.MedianWakeLatency),
			"worst_wake_latency_cv":        c.WakeLatencyCV,
			"worst_mean_run_delay_us":      us(c.MeanRunDelay),
			"worst_run_delay_us":           us(c.MaxRunDelay),
			"worst_iterations_per_worker":  c.UnitsPerWorker,
			"worst_page_locality":          c.PageLocality,
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// writeSkipped writes the result file of a variant that did not run.
func writeSkipped(t *testing.T, spec Spec, v variant, why string) {
	k, err := hostKernel(v.kernel)
	if err != nil {
		return
	}
	r := sidecar.Result{TestName: t.Name(), Topology: v.topo.String(), Scheduler: spec.Scheduler.String(),
		Flags: v.profile.Flags, KernelVersion: k.Version, Skipped: true, SkipReason: why}
	if err := writerFor(k).Write(r); err != nil {
		t.Logf("ktstr: writing the result file: %v", err)
	}
}
