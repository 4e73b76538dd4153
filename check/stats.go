package check

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ktstr-go/ktstr/internal/cpuset"
)

// CgroupStats holds one cgroup's figures.
type CgroupStats struct {
	// Name is the cgroup's name.
	Name string `json:"name"`
	// Workers counts the cgroup's workers.
	Workers int `json:"workers"`
	// CPUs lists the CPUs its workers were seen on, sorted.
	CPUs []int `json:"cpus"`
	// WorkUnits sums the workers' work units.
	WorkUnits uint64 `json:"work_units"`
	// UnitsPerWorker is WorkUnits over Workers.
	UnitsPerWorker float64 `json:"units_per_worker"`

	// AvgOffCPUPct, MinOffCPUPct and MaxOffCPUPct summarise the workers'
	// off-CPU percentages (workers with wall time only); SpreadPct is
	// MaxOffCPUPct − MinOffCPUPct, 0 with fewer than 2 such workers.
	AvgOffCPUPct float64 `json:"avg_off_cpu_pct"`
	MinOffCPUPct float64 `json:"min_off_cpu_pct"`
	MaxOffCPUPct float64 `json:"max_off_cpu_pct"`
	SpreadPct    float64 `json:"spread_pct"`

	// MaxGap is the longest gap of any worker, MaxGapCPU the CPU after it.
	MaxGap    time.Duration `json:"max_gap"`
	MaxGapCPU int           `json:"max_gap_cpu"`

	// Migrations and Checkpoints sum the workers'; MigrationRatio is
	// Migrations over Checkpoints (0 without checkpoints).
	Migrations     uint64  `json:"migrations"`
	Checkpoints    uint64  `json:"checkpoints"`
	MigrationRatio float64 `json:"migration_ratio"`

	// MinWorkRate and MaxWorkRate are the lowest and highest work units per
	// CPU-second of a non-messenger worker with CPU time, ThroughputCV
	// their CV (0 with fewer than 2 such workers).
	MinWorkRate  float64 `json:"min_work_rate"`
	MaxWorkRate  float64 `json:"max_work_rate"`
	ThroughputCV float64 `json:"throughput_cv"`

	// WakeSamples counts the pooled wake-latency samples of the
	// non-messenger workers; P99WakeLatency, MedianWakeLatency and
	// WakeLatencyCV describe them (0 without samples).
	WakeSamples       int           `json:"wake_samples"`
	P99WakeLatency    time.Duration `json:"p99_wake_latency"`
	MedianWakeLatency time.Duration `json:"median_wake_latency"`
	WakeLatencyCV     float64       `json:"wake_latency_cv"`

	// MeanRunDelay and MaxRunDelay are the mean and the largest of the
	// workers' run delays (time runnable but waiting on a run queue).
	MeanRunDelay time.Duration `json:"mean_run_delay"`
	MaxRunDelay  time.Duration `json:"max_run_delay"`

	// Pages counts the workers' resident pages when the group has Nodes
	// (0 otherwise); PageLocality is the lowest share of a worker's pages
	// on those nodes (1 when nothing was counted).
	Pages        uint64  `json:"pages"`
	PageLocality float64 `json:"page_locality"`
}

// Stats holds the figures of an evaluation: totals and worst values over
// all cgroups, and each cgroup's own.
type Stats struct {
	// Workers counts all workers.
	Workers int `json:"workers"`
	// CPUs lists the CPUs any worker was seen on, sorted.
	CPUs []int `json:"cpus"`
	// WorkUnits, Migrations, Checkpoints, WakeSamples and Pages are sums.
	WorkUnits   uint64 `json:"work_units"`
	Migrations  uint64 `json:"migrations"`
	Checkpoints uint64 `json:"checkpoints"`
	WakeSamples int    `json:"wake_samples"`
	Pages       uint64 `json:"pages"`

	// WorstSpreadPct is the largest cgroup spread.
	WorstSpreadPct float64 `json:"worst_spread_pct"`
	// WorstGap is the longest gap, WorstGapCPU the CPU after it and
	// WorstGapCgroup the cgroup it was in.
	WorstGap       time.Duration `json:"worst_gap"`
	WorstGapCPU    int           `json:"worst_gap_cpu"`
	WorstGapCgroup string        `json:"worst_gap_cgroup"`
	// WorstMigrationRatio is the largest cgroup migration ratio.
	WorstMigrationRatio float64 `json:"worst_migration_ratio"`
	// WorstThroughputCV is the largest cgroup throughput CV.
	WorstThroughputCV float64 `json:"worst_throughput_cv"`
	// WorstP99WakeLatency, WorstMedianWakeLatency and WorstWakeLatencyCV
	// are the largest of the cgroups'.
	WorstP99WakeLatency    time.Duration `json:"worst_p99_wake_latency"`
	WorstMedianWakeLatency time.Duration `json:"worst_median_wake_latency"`
	WorstWakeLatencyCV     float64       `json:"worst_wake_latency_cv"`
	// WorstMeanRunDelay and WorstMaxRunDelay are the largest of the
	// cgroups'.
	WorstMeanRunDelay time.Duration `json:"worst_mean_run_delay"`
	WorstMaxRunDelay  time.Duration `json:"worst_max_run_delay"`
	// WorstPageLocality is the lowest cgroup page locality (1 when no
	// pages were counted).
	WorstPageLocality float64 `json:"worst_page_locality"`
	// WorstUnitsPerWorker is the lowest UnitsPerWorker of a cgroup with
	// workers.
	WorstUnitsPerWorker float64 `json:"worst_units_per_worker"`

	// Cgroups holds one entry per evaluated group, in order.
	Cgroups []CgroupStats `json:"cgroups"`
}

// groupFigures is a cgroup's stats plus the counts its checks need.
type groupFigures struct {
	CgroupStats
	offCPUWorkers   int           // workers with wall time
	ratedWorkers    int           // non-messenger workers with CPU time
	wakeWorkers     int           // non-messenger workers with wake samples
	meanWakeLatency time.Duration // mean of the pooled samples
}

// groupStats computes a group's figures.
func groupStats(g Group) groupFigures {
	f := groupFigures{CgroupStats: CgroupStats{
		Name:         g.Name,
		Workers:      len(g.Reports),
		PageLocality: 1,
	}}
	cs := &f.CgroupStats
	var (
		offPcts, rates []float64
		wake           []time.Duration
		runDelay       time.Duration
	)
	for _, r := range g.Reports {
		cs.CPUs = append(cs.CPUs, r.CPUs...)
		cs.WorkUnits += r.WorkUnits
		cs.Migrations += r.Migrations
		cs.Checkpoints += r.Checkpoints
		// A fan-out's messenger waits while its receivers compute: it
		// plays another role, so it stays out of the fairness spread.
		if r.WallTime > 0 && !r.Messenger {
			offPcts = append(offPcts, r.OffCPUPct())
		}
		if r.MaxGap > cs.MaxGap {
			cs.MaxGap, cs.MaxGapCPU = r.MaxGap, r.MaxGapCPU
		}
		if rate, ok := workRate(r); ok {
			rates = append(rates, rate)
		}
		if !r.Messenger && len(r.WakeLatencies) > 0 {
			wake = append(wake, r.WakeLatencies...)
			f.wakeWorkers++
		}
		runDelay += r.RunDelay
		cs.MaxRunDelay = max(cs.MaxRunDelay, r.RunDelay)
		if len(g.Nodes) > 0 {
			local, total := pageCounts(r, g.Nodes)
			cs.Pages += total
			if total > 0 {
				cs.PageLocality = min(cs.PageLocality, float64(local)/float64(total))
			}
		}
	}
	slices.Sort(cs.CPUs)
	cs.CPUs = slices.Compact(cs.CPUs)
	if cs.Workers > 0 {
		cs.UnitsPerWorker = float64(cs.WorkUnits) / float64(cs.Workers)
		cs.MeanRunDelay = runDelay / time.Duration(cs.Workers)
	}
	if cs.Checkpoints > 0 {
		cs.MigrationRatio = float64(cs.Migrations) / float64(cs.Checkpoints)
	}

	f.offCPUWorkers = len(offPcts)
	if len(offPcts) > 0 {
		cs.AvgOffCPUPct, _ = meanCV(offPcts)
		cs.MinOffCPUPct, cs.MaxOffCPUPct = slices.Min(offPcts), slices.Max(offPcts)
		if len(offPcts) >= 2 {
			cs.SpreadPct = cs.MaxOffCPUPct - cs.MinOffCPUPct
		}
	}

	f.ratedWorkers = len(rates)
	if len(rates) > 0 {
		cs.MinWorkRate, cs.MaxWorkRate = slices.Min(rates), slices.Max(rates)
		if len(rates) >= 2 {
			_, cs.ThroughputCV = meanCV(rates)
		}
	}

	cs.WakeSamples = len(wake)
	if len(wake) > 0 {
		slices.Sort(wake)
		cs.P99WakeLatency = percentileSorted(wake, 99)
		cs.MedianWakeLatency = percentileSorted(wake, 50)
		xs := make([]float64, len(wake))
		for i, w := range wake {
			xs[i] = float64(w)
		}
		var mean float64
		mean, cs.WakeLatencyCV = meanCV(xs)
		f.meanWakeLatency = time.Duration(mean)
	}
	return f
}

// newStats totals the cgroups' figures.
func newStats(cgs []CgroupStats) Stats {
	s := Stats{Cgroups: cgs, WorstPageLocality: 1}
	first := true
	for _, c := range cgs {
		s.Workers += c.Workers
		s.CPUs = append(s.CPUs, c.CPUs...)
		s.WorkUnits += c.WorkUnits
		s.Migrations += c.Migrations
		s.Checkpoints += c.Checkpoints
		s.WakeSamples += c.WakeSamples
		s.Pages += c.Pages
		s.WorstSpreadPct = max(s.WorstSpreadPct, c.SpreadPct)
		if c.MaxGap > s.WorstGap {
			s.WorstGap, s.WorstGapCPU, s.WorstGapCgroup = c.MaxGap, c.MaxGapCPU, c.Name
		}
		s.WorstMigrationRatio = max(s.WorstMigrationRatio, c.MigrationRatio)
		s.WorstThroughputCV = max(s.WorstThroughputCV, c.ThroughputCV)
		s.WorstP99WakeLatency = max(s.WorstP99WakeLatency, c.P99WakeLatency)
		s.WorstMedianWakeLatency = max(s.WorstMedianWakeLatency, c.MedianWakeLatency)
		s.WorstWakeLatencyCV = max(s.WorstWakeLatencyCV, c.WakeLatencyCV)
		s.WorstMeanRunDelay = max(s.WorstMeanRunDelay, c.MeanRunDelay)
		s.WorstMaxRunDelay = max(s.WorstMaxRunDelay, c.MaxRunDelay)
		s.WorstPageLocality = min(s.WorstPageLocality, c.PageLocality)
		if c.Workers > 0 && (first || c.UnitsPerWorker < s.WorstUnitsPerWorker) {
			s.WorstUnitsPerWorker = c.UnitsPerWorker
			first = false
		}
	}
	slices.Sort(s.CPUs)
	s.CPUs = slices.Compact(s.CPUs)
	return s
}

// Format renders the stats as a table for a terminal: a header, a "total"
// row, then a row per cgroup. The total row sums the counts and shows the
// worst of each figure across cgroups (highest spread, gap, migration
// ratio, CVs, latencies and run delays; lowest units per worker and page
// locality). Columns of figures nobody measured (wake latencies, work
// rates, page locality) are left out; a "-" marks a cell without a value.
func (s Stats) Format() string {
	hasRate := false
	for _, c := range s.Cgroups {
		hasRate = hasRate || c.MaxWorkRate > 0
	}
	hasWake, hasPages := s.WakeSamples > 0, s.Pages > 0

	type col struct {
		head   string
		show   bool
		total  string
		cgroup func(c CgroupStats) string
	}
	cols := []col{
		{"workers", true, fmt.Sprint(s.Workers), func(c CgroupStats) string { return fmt.Sprint(c.Workers) }},
		{"CPUs", true, cpuList(s.CPUs), func(c CgroupStats) string { return cpuList(c.CPUs) }},
		{"units", true, fmt.Sprint(s.WorkUnits), func(c CgroupStats) string { return fmt.Sprint(c.WorkUnits) }},
		{"/worker", true, fmtNum(s.WorstUnitsPerWorker, 1), func(c CgroupStats) string { return fmtNum(c.UnitsPerWorker, 1) }},
		{"off-CPU", true, "-", func(c CgroupStats) string {
			if c.Workers == 0 {
				return "-"
			}
			return numRange(c.MinOffCPUPct, c.MaxOffCPUPct, 1) + "%"
		}},
		{"spread", true, fmtNum(s.WorstSpreadPct, 1) + "%", func(c CgroupStats) string { return fmtNum(c.SpreadPct, 1) + "%" }},
		{"max gap", true, gapText(s.WorstGap, s.WorstGapCPU), func(c CgroupStats) string { return gapText(c.MaxGap, c.MaxGapCPU) }},
		{"migrations", true, fmt.Sprint(s.Migrations), func(c CgroupStats) string { return fmt.Sprint(c.Migrations) }},
		{"/checkpoint", true, fmtNum(s.WorstMigrationRatio, 4), func(c CgroupStats) string { return fmtNum(c.MigrationRatio, 4) }},
		{"units/CPU-s", hasRate, "-", func(c CgroupStats) string {
			if c.MaxWorkRate == 0 {
				return "-"
			}
			return numRange(c.MinWorkRate, c.MaxWorkRate, 1)
		}},
		{"rate CV", hasRate, fmtNum(s.WorstThroughputCV, 2), func(c CgroupStats) string { return fmtNum(c.ThroughputCV, 2) }},
		{"wake p99/p50", hasWake, usPair(s.WorstP99WakeLatency, s.WorstMedianWakeLatency), func(c CgroupStats) string {
			return ifWake(c, usPair(c.P99WakeLatency, c.MedianWakeLatency))
		}},
		{"wake CV", hasWake, fmtNum(s.WorstWakeLatencyCV, 2), func(c CgroupStats) string { return ifWake(c, fmtNum(c.WakeLatencyCV, 2)) }},
		{"samples", hasWake, fmt.Sprint(s.WakeSamples), func(c CgroupStats) string { return fmt.Sprint(c.WakeSamples) }},
		{"run delay mean/max", true, msPair(s.WorstMeanRunDelay, s.WorstMaxRunDelay), func(c CgroupStats) string {
			return msPair(c.MeanRunDelay, c.MaxRunDelay)
		}},
		{"locality", hasPages, fmtNum(s.WorstPageLocality, 3), func(c CgroupStats) string {
			if c.Pages == 0 {
				return "-"
			}
			return fmtNum(c.PageLocality, 3)
		}},
	}
	cols = slices.DeleteFunc(cols, func(c col) bool { return !c.show })

	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(label string, cells func(col) string) {
		fields := []string{label}
		for _, c := range cols {
			fields = append(fields, cells(c))
		}
		fmt.Fprintln(tw, strings.Join(fields, "\t"))
	}
	row("", func(c col) string { return c.head })
	row("total", func(c col) string { return c.total })
	for _, cg := range s.Cgroups {
		row("cgroup "+cgroupLabel(cg.Name), func(c col) string { return c.cgroup(cg) })
	}
	tw.Flush()
	return b.String()
}

// String returns Format().
func (s Stats) String() string { return s.Format() }

// cpuList formats a CPU list, or "-" for none.
func cpuList(cpus []int) string {
	if len(cpus) == 0 {
		return "-"
	}
	return cpuset.Format(cpus)
}

// numRange formats lo-hi, or one number when they are equal.
func numRange(lo, hi float64, dec int) string {
	l, h := fmtNum(lo, dec), fmtNum(hi, dec)
	if l == h {
		return l
	}
	return l + "-" + h
}

// usPair formats two durations in microseconds: "400/70 µs".
func usPair(a, b time.Duration) string {
	return fmtNum(float64(a)/float64(time.Microsecond), 1) + "/" + fmtUS(b)
}

// msPair formats two durations in milliseconds: "700/1100 ms".
func msPair(a, b time.Duration) string {
	return fmtNum(float64(a)/float64(time.Millisecond), 1) + "/" + fmtMS(b)
}

// ifWake returns v when the cgroup has wake samples, else "-".
func ifWake(c CgroupStats, v string) string {
	if c.WakeSamples == 0 {
		return "-"
	}
	return v
}

// gapText formats a gap and the CPU after it, or "-" for none.
func gapText(gap time.Duration, cpu int) string {
	if gap <= 0 {
		return "-"
	}
	return fmt.Sprintf("%s cpu%d", fmtMS(gap), cpu)
}

// plural appends an s to word unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
