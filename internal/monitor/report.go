package monitor

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// tableRows is how many of the last samples the report shows per CPU.
const tableRows = 20

// Format renders the report's "--- monitor ---" section: the summary, the
// verdict, the event counters and the last samples as a table.
func Format(rec *Record, findings []Finding, sum Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "samples: %d (%d judged", sum.Samples, sum.Judged)
	if rec.Errors > 0 {
		fmt.Fprintf(&b, ", %d unreadable", rec.Errors)
	}
	b.WriteString(")\n")
	fmt.Fprintf(&b, "max imbalance: %.1f\n", sum.MaxImbalance)
	if sum.MaxLocalDSQ >= 0 {
		fmt.Fprintf(&b, "max local DSQ depth: %d\n", sum.MaxLocalDSQ)
	}
	if sum.MaxGlobalDSQ >= 0 || sum.MaxUserDSQ >= 0 {
		fmt.Fprintf(&b, "max global DSQ depth: %s, max user DSQ depth (summed): %s\n", known(sum.MaxGlobalDSQ), known(sum.MaxUserDSQ))
	}
	fmt.Fprintf(&b, "longest idle while tasks allowed there waited: %s\n", secs(sum.IdleWhileWaiting))
	fmt.Fprintf(&b, "longest runqueue clock stop with runnable tasks: %s\n", secs(sum.LongestClockStop))
	if len(sum.EventDeltas) > 0 {
		names := make([]string, 0, len(sum.EventDeltas))
		for e := range sum.EventDeltas {
			names = append(names, e)
		}
		sort.Strings(names)
		var seen []string
		for _, e := range names {
			if sum.EventDeltas[e] > 0 {
				seen = append(seen, fmt.Sprintf("%s %d (up to %.0f/s)", strings.ToLower(e), sum.EventDeltas[e], sum.EventRates[e]))
			}
		}
		switch {
		case len(seen) == 0:
			fmt.Fprintf(&b, "sched_ext events: none of the %d counted\n", len(names))
		case len(seen) < len(names):
			fmt.Fprintf(&b, "sched_ext events: %s; the other %d none\n", strings.Join(seen, ", "), len(names)-len(seen))
		default:
			fmt.Fprintf(&b, "sched_ext events: %s\n", strings.Join(seen, ", "))
		}
	}
	if rec.CPUTime > 0 && sum.Samples > 0 && rec.Span > 0 {
		fmt.Fprintf(&b, "host cost: %.1f ms of CPU for %d samples (%.0f µs each, %.2f%% of one core)\n",
			float64(rec.CPUTime)/1e6, sum.Samples, float64(rec.CPUTime)/1e3/float64(sum.Samples),
			100*rec.CPUTime.Seconds()/rec.Span.Seconds())
	}
	for _, n := range rec.Notes {
		b.WriteString("note: " + n + "\n")
	}
	if len(findings) == 0 {
		b.WriteString("verdict: pass\n")
	} else {
		b.WriteString("verdict: fail\n")
		for _, f := range findings {
			fmt.Fprintf(&b, "  %s: %s\n", f.Kind, f.Message)
		}
	}
	b.WriteString(Table(rec, tableRows))
	return b.String()
}

func known(v int64) string {
	if v < 0 {
		return "unknown"
	}
	return fmt.Sprint(v)
}

// Table renders the last n samples, one row each: per CPU the runnable
// tasks, "/" and the local DSQ depth under sched_ext, and "*" when the CPU
// was idle. Time is from the body's start.
func Table(rec *Record, n int) string {
	if len(rec.Samples) == 0 {
		return ""
	}
	from := max(len(rec.Samples)-n, 0)
	ss := rec.Samples[from:]
	var b strings.Builder
	fmt.Fprintf(&b, "last %d samples (runnable tasks[/local DSQ depth], * idle; time from the body's start):\n", len(ss))
	cells := make([][]string, len(ss))
	width := 4
	for i, s := range ss {
		for _, c := range s.CPUs {
			cell := fmt.Sprint(c.NrRunning)
			if s.SCX != nil {
				cell += fmt.Sprintf("/%d", c.LocalDSQ)
			}
			if c.Idle {
				cell += "*"
			}
			cells[i] = append(cells[i], cell)
			width = max(width, len(cell))
		}
	}
	b.WriteString(fmt.Sprintf("%9s", "time"))
	for c := range ss[len(ss)-1].CPUs {
		fmt.Fprintf(&b, " %*s", width, fmt.Sprintf("cpu%d", c))
	}
	b.WriteString("\n")
	base := rec.BodyStart
	if base < 0 {
		base = 0
	}
	for i, s := range ss {
		fmt.Fprintf(&b, "%9s", fmt.Sprintf("%+.1fs", (s.At-base).Seconds()))
		for _, cell := range cells[i] {
			fmt.Fprintf(&b, " %*s", width, cell)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Series is a down-sampled per-CPU time series of a run, for result files
// and pictures: at most max points, each the largest value in its span.
type Series struct {
	// At is each point's time from the body's start.
	At []time.Duration
	// NrRunning and LocalDSQ hold one row per CPU (LocalDSQ nil without
	// sched_ext).
	NrRunning [][]uint32
	LocalDSQ  [][]uint32
}

// DownSample condenses rec's samples into at most points points.
func DownSample(rec *Record, points int) Series {
	var out Series
	ss := rec.Samples
	if len(ss) == 0 || points < 1 {
		return out
	}
	cpus := len(ss[0].CPUs)
	scx := false
	for _, s := range ss {
		scx = scx || s.SCX != nil
	}
	out.NrRunning = make([][]uint32, cpus)
	if scx {
		out.LocalDSQ = make([][]uint32, cpus)
	}
	per := (len(ss) + points - 1) / points
	base := max(rec.BodyStart, 0)
	for lo := 0; lo < len(ss); lo += per {
		hi := min(lo+per, len(ss))
		out.At = append(out.At, ss[lo].At-base)
		for c := range cpus {
			var nr, dsq uint32
			for _, s := range ss[lo:hi] {
				if c < len(s.CPUs) {
					nr, dsq = max(nr, s.CPUs[c].NrRunning), max(dsq, s.CPUs[c].LocalDSQ)
				}
			}
			out.NrRunning[c] = append(out.NrRunning[c], nr)
			if scx {
				out.LocalDSQ[c] = append(out.LocalDSQ[c], dsq)
			}
		}
	}
	return out
}
