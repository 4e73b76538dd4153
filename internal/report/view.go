package report

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/ktstr-go/ktstr/internal/cpuset"
	"github.com/ktstr-go/ktstr/internal/stats"
	"github.com/ktstr-go/ktstr/sidecar"
)

// variantView is one variant as the page shows it.
type variantView struct {
	ID     string
	Status string // "failed", "passed" or "skipped": a word, not only a colour
	Symbol string
	R      *sidecar.Result
	Flags  string

	Steps      []stepView
	Throughput template.HTML
	Rates      []rateView // per cgroup, when there is no series
	Checks     []checkView
	Workers    []workerView
	Monitor    *monitorView
	BPF        *bpfView
	Logs       []logView
	Problems   []string // figures that could not be drawn
}

type stepView struct {
	Name              string
	Start, Len        string
	LeftPct, WidthPct float64
}

type rateView struct {
	Cgroup, Units, PerWorker string
}

type checkView struct {
	Name, What, Value, Limit, State string
	Over                            bool
	FillPct, LimitPct               float64
}

type workerView struct {
	Cgroup, Worker, Units, OffCPU, Gap, GapCPU, GapAt, CPUs, Exit string
	OffCPUPct                                                     float64
	Worst                                                         bool
}

type monitorView struct {
	Summary             []string
	Findings            []sidecar.MonitorFinding
	Notes               []string
	NrRunning, LocalDSQ template.HTML
	PeakRun, PeakDSQ    uint32
}

type logView struct {
	Title, Text string
	Open        bool
}

// newVariantView prepares result v, the i-th on the page.
func newVariantView(i int, v *sidecar.Result) variantView {
	vv := variantView{ID: "v" + strconv.Itoa(i+1), R: v, Flags: strings.Join(v.Flags, " ")}
	switch {
	case v.Skipped:
		vv.Status, vv.Symbol = "skipped", "–"
	case v.Passed:
		vv.Status, vv.Symbol = "passed", "✓"
	default:
		vv.Status, vv.Symbol = "failed", "✗"
	}
	if v.Skipped {
		return vv
	}
	vv.Steps = stepViews(v.Steps)
	if len(v.Throughput) > 0 {
		svg, err := throughputChart(v)
		if err != nil {
			vv.Problems = append(vv.Problems, "throughput chart: "+err.Error())
		}
		vv.Throughput = svg
	} else {
		vv.Rates = rateViews(v)
	}
	vv.Checks = checkViews(v.Checks)
	vv.Workers = workerViews(v.Workers)
	vv.Monitor = newMonitorView(v.Monitor, &vv.Problems)
	vv.BPF = newBPFView(v.BPF)
	vv.Logs = logViews(v)
	return vv
}

func stepViews(steps []sidecar.Step) []stepView {
	if len(steps) == 0 {
		return nil
	}
	end := 0.0
	for _, s := range steps {
		end = math.Max(end, (s.Start + s.Duration).Seconds())
	}
	if end <= 0 {
		end = 1
	}
	out := make([]stepView, len(steps))
	for i, s := range steps {
		out[i] = stepView{
			Name: s.Name, Start: fmt.Sprintf("%.2f s", s.Start.Seconds()), Len: fmt.Sprintf("%.2f s", s.Duration.Seconds()),
			LeftPct: 100 * s.Start.Seconds() / end, WidthPct: math.Max(0.3, 100*s.Duration.Seconds()/end),
		}
	}
	return out
}

// rateViews are the cgroups' totals, the per-phase view when workers sent
// no progress series (a catalogue run's cgroups are named after their
// scenario, so each is a phase).
func rateViews(v *sidecar.Result) []rateView {
	names := make([]string, 0, len(v.Stats.Cgroups))
	for n := range v.Stats.Cgroups {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]rateView, 0, len(names))
	for _, n := range names {
		m := v.Stats.Cgroups[n]
		out = append(out, rateView{Cgroup: n, Units: stats.FormatNumber(m[sidecar.MetricTotalIterations]), PerWorker: stats.FormatNumber(m[sidecar.MetricWorstIterationsPerWorker])})
	}
	return out
}

func checkViews(cs []sidecar.CheckFigure) []checkView {
	out := make([]checkView, 0, len(cs))
	for _, c := range cs {
		cv := checkView{Name: c.Name, What: c.What, Value: stats.FormatNumber(c.Value) + unitSuffix(c.Unit), Over: c.Over()}
		switch {
		case c.Limit == nil:
			cv.Limit, cv.State = "no limit", "not checked"
			cv.FillPct = 100
		default:
			lim := *c.Limit
			cv.Limit = stats.FormatNumber(lim) + unitSuffix(c.Unit)
			if c.Floor {
				cv.Limit = "at least " + cv.Limit
			}
			top := math.Max(lim, c.Value)
			if top > 0 {
				cv.FillPct, cv.LimitPct = 100*c.Value/top, 100*lim/top
			}
			cv.State = "✓ within"
			if cv.Over {
				cv.State = "✗ over"
				if c.Floor {
					cv.State = "✗ under"
				}
			}
		}
		out = append(out, cv)
	}
	return out
}

func workerViews(ws []sidecar.Worker) []workerView {
	worst := -1
	for i, w := range ws {
		if worst < 0 || w.MaxGapMS > ws[worst].MaxGapMS {
			worst = i
		}
	}
	out := make([]workerView, len(ws))
	for i, w := range ws {
		out[i] = workerView{
			Cgroup: w.Cgroup, Worker: fmt.Sprintf("%s #%d", w.Kind, w.Index), Units: stats.FormatNumber(float64(w.WorkUnits)),
			OffCPU: fmt.Sprintf("%.1f %%", w.OffCPUPct), OffCPUPct: math.Min(100, math.Max(0, w.OffCPUPct)),
			Gap: fmt.Sprintf("%.1f ms", w.MaxGapMS), GapAt: fmt.Sprintf("%.2f s", w.MaxGapAtMS/1000),
			CPUs: cpuset.Format(w.CPUs), Exit: w.Exit, Worst: i == worst,
		}
		if w.MaxGapCPU >= 0 {
			out[i].GapCPU = "cpu" + strconv.Itoa(w.MaxGapCPU)
		}
	}
	return out
}

func newMonitorView(m *sidecar.Monitor, problems *[]string) *monitorView {
	if m == nil {
		return nil
	}
	mv := &monitorView{Findings: m.Findings, Notes: m.Notes}
	mv.Summary = append(mv.Summary, fmt.Sprintf("%d samples, %d judged", m.Samples, m.Judged))
	mv.Summary = append(mv.Summary, "largest imbalance "+stats.FormatNumber(m.MaxImbalance))
	if m.MaxLocalDSQ >= 0 {
		mv.Summary = append(mv.Summary, fmt.Sprintf("deepest local DSQ %d", m.MaxLocalDSQ))
	}
	mv.Summary = append(mv.Summary, fmt.Sprintf("longest idle while tasks waited %.0f ms", m.IdleWhileWaitingMS))
	if s := m.Series; s != nil && len(s.AtMS) > 0 {
		var err error
		if mv.NrRunning, mv.PeakRun, err = heatStrip(s.AtMS, s.NrRunning, "runnable tasks", m.Findings); err != nil {
			*problems = append(*problems, "runnable tasks per CPU: "+err.Error())
		}
		if len(s.LocalDSQ) > 0 {
			if mv.LocalDSQ, mv.PeakDSQ, err = heatStrip(s.AtMS, s.LocalDSQ, "local DSQ depth", m.Findings); err != nil {
				*problems = append(*problems, "local DSQ depth per CPU: "+err.Error())
			}
		}
	}
	return mv
}

func logViews(v *sidecar.Result) []logView {
	l := v.Logs
	if l == nil {
		return nil
	}
	var out []logView
	add := func(title, text string) {
		if strings.TrimSpace(text) != "" {
			out = append(out, logView{Title: title, Text: text})
		}
	}
	add("The failure in detail (the kernel's reason, a stack, a log tail)", l.Detail)
	sched := "Scheduler output"
	if l.SchedulerExit != "" {
		sched += " (ended " + l.SchedulerExit + ")"
	}
	add("The scheduler's first start, which failed (it was started once more)", l.SchedulerRetried)
	add(sched, l.Scheduler)
	add("sched_ext dump, taken when the host monitor first saw a limit exceeded", l.Dump)
	add("The scheduler's BPF maps, read nearest the failure (the first line says when)", l.SchedulerMaps)
	add("Kernel console, last lines", l.Console)
	return out
}

func unitSuffix(u string) string {
	switch u {
	case "":
		return ""
	case "%":
		return " %"
	}
	return " " + u
}
