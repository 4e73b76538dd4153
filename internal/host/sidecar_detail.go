package host

import (
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/logtail"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/sidecar"
	"github.com/ktstr-go/ktstr/work"
)

// fillSidecarDetail adds what explains the run to its result file: the
// workers, each check's figure against its limit and the logs.
func (o *Outcome) fillSidecarDetail(s *sidecar.Result) {
	res := o.Result
	if res != nil {
		s.Workers = sidecarWorkers(res.Workers, res.BodyStart)
		s.Throughput = throughputSeries(res.Workers, res.BodyStart)
	}
	s.Checks = checkFigures(mergedAssert(o.Job, o.Accel, o.Deterministic), res, s.Monitor)
	s.Logs = o.sidecarLogs(!s.Passed)
}

// sidecarWorkers condenses the workers' reports.
func sidecarWorkers(ws []work.Report, bodyStart time.Duration) []sidecar.Worker {
	out := make([]sidecar.Worker, 0, len(ws))
	for _, w := range ws {
		sw := sidecar.Worker{
			Cgroup: w.Cgroup, Kind: string(w.Kind), Index: w.Index, PID: w.PID,
			WorkUnits: w.WorkUnits, MaxGapMS: ms(w.MaxGap), MaxGapCPU: w.MaxGapCPU,
			MaxGapAtMS: ms(w.MaxGapAt), CPUs: w.CPUs, Exit: w.Exit, OffCPUPct: w.OffCPUPct(),
		}
		if bodyStart > 0 && w.Start > 0 {
			sw.MaxGapAtMS = ms(w.Start + w.MaxGapAt - bodyStart)
		}
		out = append(out, sw)
	}
	return out
}

// checkFigures sets each check's worst figure beside the limit in force
// for the variant as a whole (a scenario that sets its own limits is
// judged by them in the guest; its failures say so).
func checkFigures(a check.Assert, res *wire.Result, m *sidecar.Monitor) []sidecar.CheckFigure {
	var out []sidecar.CheckFigure
	add := func(name string, kind check.Kind, what string, v float64, unit string, limit *float64, floor bool) {
		out = append(out, sidecar.CheckFigure{Name: name, Kind: string(kind), What: what, Value: v, Unit: unit, Limit: limit, Floor: floor})
	}
	if res != nil && res.Checks != nil && res.Checks.Stats.Workers > 0 {
		st := res.Checks.Stats
		add("MaxSpreadPct", check.Unfair, "off-CPU % spread between a cgroup's workers", st.WorstSpreadPct, "%", limitOf(a.MaxSpreadPct, id), false)
		add("MaxGap", check.Stuck, "longest time a worker went unscheduled", ms(st.WorstGap), "ms", limitOf(a.MaxGap, ms), false)
		if st.WakeSamples > 0 {
			add("MaxP99WakeLatency", check.WakeLatency, "p99 of a cgroup's wake-up latencies", us(st.WorstP99WakeLatency), "µs", limitOf(a.MaxP99WakeLatency, us), false)
			add("MaxWakeLatencyCV", check.WakeLatency, "CV of a cgroup's wake-up latencies", st.WorstWakeLatencyCV, "", limitOf(a.MaxWakeLatencyCV, id), false)
		}
		add("MaxThroughputCV", check.Throughput, "CV of work units per CPU-second in a cgroup", st.WorstThroughputCV, "", limitOf(a.MaxThroughputCV, id), false)
		if rate, ok := lowestWorkRate(st); ok {
			add("MinWorkRate", check.Throughput, "work units per CPU-second of the slowest worker", rate, "/CPU-s", limitOf(a.MinWorkRate, id), true)
		}
		add("MaxMigrationRatio", check.Migration, "CPU migrations per checkpoint in a cgroup", st.WorstMigrationRatio, "", limitOf(a.MaxMigrationRatio, id), false)
		if st.Pages > 0 {
			add("MinPageLocality", check.PageLocality, "share of a worker's pages on its nodes", st.WorstPageLocality, "", limitOf(a.MinPageLocality, id), true)
		}
	}
	if m != nil && m.Judged > 0 {
		add("MaxImbalanceRatio", check.Imbalance, "a CPU's load over the least loaded CPU its tasks may use", m.MaxImbalance, "", limitOf(a.MaxImbalanceRatio, id), false)
		if m.MaxLocalDSQ >= 0 {
			add("MaxLocalDSQDepth", check.DSQDepth, "depth of a sched_ext local dispatch queue", float64(m.MaxLocalDSQ), "", limitOf(a.MaxLocalDSQDepth, func(v int) float64 { return float64(v) }), false)
		}
		add("MaxIdleWhileWaiting", check.WorkConservation, "a CPU idle while tasks allowed on it waited", m.IdleWhileWaitingMS, "ms", limitOf(a.MaxIdleWhileWaiting, ms), false)
		if r, ok := m.EventRates["SELECT_CPU_FALLBACK"]; ok {
			add("MaxFallbackRate", check.EventRate, "sched_ext select_cpu_fallback events per second", r, "/s", limitOf(a.MaxFallbackRate, id), false)
		}
		if r, ok := m.EventRates["DISPATCH_KEEP_LAST"]; ok {
			add("MaxKeepLastRate", check.EventRate, "sched_ext dispatch_keep_last events per second", r, "/s", limitOf(a.MaxKeepLastRate, id), false)
		}
	}
	return out
}

func id(v float64) float64 { return v }

// limitOf is the option's value as a figure, nil when it is not in force.
func limitOf[T any](o check.Opt[T], f func(T) float64) *float64 {
	v, ok := o.Get()
	if !ok {
		return nil
	}
	x := f(v)
	return &x
}

// lowestWorkRate is the lowest work rate of any worker, over the cgroups
// that measured one.
func lowestWorkRate(st check.Stats) (float64, bool) {
	low, ok := 0.0, false
	for _, c := range st.Cgroups {
		if c.MaxWorkRate > 0 && (!ok || c.MinWorkRate < low) {
			low, ok = c.MinWorkRate, true
		}
	}
	return low, ok
}

// consoleLines is how much of the kernel console a failed run keeps.
const consoleLines = 60

// sidecarLogs gathers the texts that explain the run; the console only
// when it failed.
func (o *Outcome) sidecarLogs(failed bool) *sidecar.Logs {
	l := &sidecar.Logs{}
	cut := func(s string) string { return logtail.LastBytes(strings.TrimRight(s, "\n"), sidecar.MaxLogBytes) }
	if res := o.Result; res != nil {
		if s := res.Scheduler; s != nil {
			l.Scheduler, l.SchedulerExit, l.SchedExtState = cut(s.Output), s.Exit, s.FinalState
			l.SchedulerRetried = s.Retried
		}
		l.Dump = cut(strings.Join(res.MonitorDump, "\n"))
		if md := res.SchedulerMaps; md != nil {
			l.SchedulerMaps = logtail.FirstBytes("read "+md.When+"\n"+strings.TrimRight(md.Text, "\n"), sidecar.MaxLogBytes)
		}
	}
	if fs := o.Failures(); len(fs) > 0 {
		l.Detail = cut(fs[0].Detail)
	}
	if failed && o.Outcome != nil {
		l.Console = cut(logtail.LastLines(o.Console, consoleLines))
	}
	if *l == (sidecar.Logs{}) {
		return nil
	}
	return l
}
