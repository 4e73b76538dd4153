package host

import (
	"fmt"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/monitor"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/sidecar"
	"github.com/ktstr-go/ktstr/work"
)

// seriesPoints bounds the per-CPU time series a result file keeps.
const seriesPoints = 200

// judgeMonitor judges what the host monitor saw under the merged checks a
// and adds each limit exceeded to the guest's failures, after the guest's
// own (a scheduler the kernel ejected explains a stall the monitor saw).
func (o *Outcome) judgeMonitor(a check.Assert) {
	if o.Monitor == nil {
		return
	}
	findings, sum := monitor.Evaluate(o.Monitor, a)
	o.MonitorFindings, o.MonitorSummary = findings, &sum
	if o.Result == nil {
		return
	}
	for i, f := range findings {
		fail := wire.Failure{Kind: f.Kind, Message: f.Message}
		if i == 0 && len(o.Result.MonitorDump) > 0 {
			// The guest took it when the monitor first saw a limit
			// exceeded, while the run went on.
			fail.Detail = "--- sched_ext dump (taken when the monitor first saw a limit exceeded) ---\n" + strings.Join(o.Result.MonitorDump, "\n")
		}
		if f.Kind == check.WorkConservation {
			if rd := runDelay(o.Result.Workers); rd != "" {
				fail.Detail = rd + "\n" + fail.Detail
			}
		}
		o.Result.Failures = append(o.Result.Failures, fail)
		o.Result.Passed = false
	}
}

// runDelay says what the workers' own schedstat counted as time runnable
// but waiting, to set beside the monitor's samples: it is exact where the
// samples are 100 ms apart. "" without workers.
func runDelay(ws []work.Report) string {
	var sum, worst, wall time.Duration
	n := 0
	for _, w := range ws {
		if w.WallTime <= 0 {
			continue
		}
		sum += w.RunDelay
		worst = max(worst, w.RunDelay)
		wall += w.WallTime
		n++
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("in-guest schedstat: the %d workers waited runnable %.0f ms on average (the most %.0f ms) of %.1f s each",
		n, ms(sum/time.Duration(n)), ms(worst), (wall / time.Duration(n)).Seconds())
}

// MonitorReport is the report's "--- monitor ---" section, "" when the
// monitor did not run.
func (o *Outcome) MonitorReport() string {
	if o.Monitor == nil || o.MonitorSummary == nil {
		return ""
	}
	return monitor.Format(o.Monitor, o.MonitorFindings, *o.MonitorSummary)
}

// monitorSidecar is the monitor's part of the result file, nil when it did
// not run.
func (o *Outcome) monitorSidecar() *sidecar.Monitor {
	if o.Monitor == nil || o.MonitorSummary == nil {
		return nil
	}
	sum := o.MonitorSummary
	m := &sidecar.Monitor{
		Samples: sum.Samples, Judged: sum.Judged, MaxImbalance: sum.MaxImbalance,
		MaxLocalDSQ: sum.MaxLocalDSQ, MaxGlobalDSQ: sum.MaxGlobalDSQ, MaxUserDSQ: sum.MaxUserDSQ,
		IdleWhileWaitingMS: ms(sum.IdleWhileWaiting), LongestClockStopMS: ms(sum.LongestClockStop),
		EventDeltas: sum.EventDeltas, EventRates: sum.EventRates, Notes: o.Monitor.Notes,
	}
	for _, f := range o.MonitorFindings {
		m.Findings = append(m.Findings, sidecar.MonitorFinding{Kind: string(f.Kind), Message: f.Message, AtMS: ms(f.At)})
	}
	s := monitor.DownSample(o.Monitor, seriesPoints)
	if len(s.At) > 0 {
		m.Series = &sidecar.MonitorSeries{NrRunning: s.NrRunning, LocalDSQ: s.LocalDSQ}
		for _, at := range s.At {
			m.Series.AtMS = append(m.Series.AtMS, ms(at))
		}
	}
	return m
}

// monitorMetrics adds the monitor's figures to the result file's overall
// statistics, which `ktstr stats` compares.
func monitorMetrics(s *sidecar.Result, m *sidecar.Monitor) {
	if m == nil || m.Judged == 0 {
		return
	}
	if s.Stats.Overall == nil {
		s.Stats.Overall = sidecar.Metrics{}
	}
	o := s.Stats.Overall
	o[sidecar.MetricMaxImbalanceRatio] = m.MaxImbalance
	o[sidecar.MetricIdleWhileWaitingMS] = m.IdleWhileWaitingMS
	stalls := 0
	for _, f := range m.Findings {
		if f.Kind == string(check.RqStall) {
			stalls++
		}
	}
	o[sidecar.MetricStallCount] = float64(stalls)
	if m.MaxLocalDSQ >= 0 {
		o[sidecar.MetricMaxDSQDepth] = float64(m.MaxLocalDSQ)
	}
	if m.EventDeltas != nil {
		o[sidecar.MetricTotalFallback] = float64(m.EventDeltas["SELECT_CPU_FALLBACK"])
		o[sidecar.MetricTotalKeepLast] = float64(m.EventDeltas["DISPATCH_KEEP_LAST"])
		o[sidecar.MetricMaxFallbackRate] = m.EventRates["SELECT_CPU_FALLBACK"]
		o[sidecar.MetricMaxKeepLastRate] = m.EventRates["DISPATCH_KEEP_LAST"]
	}
}
