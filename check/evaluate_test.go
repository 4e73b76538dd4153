package check

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/work"
)

const ms = time.Millisecond

// rep returns a healthy spinner's report: 1000 units, 2 s on CPU out of
// 2 s, on cpu0, 100 checkpoints, no gap to speak of; then applies mods.
func rep(pid int, mods ...func(*work.Report)) work.Report {
	r := work.Report{
		PID:         pid,
		Cgroup:      "cg0",
		Kind:        work.SpinKind,
		WorkUnits:   1000,
		CPUTime:     2 * time.Second,
		WallTime:    2 * time.Second,
		CPUs:        []int{0},
		Checkpoints: 100,
		MaxGap:      20 * ms,
	}
	for _, m := range mods {
		m(&r)
	}
	return r
}

// Report modifiers.
func units(n uint64) func(*work.Report) { return func(r *work.Report) { r.WorkUnits = n } }
func cpus(c ...int) func(*work.Report)  { return func(r *work.Report) { r.CPUs = c } }
func messenger(r *work.Report)          { r.Messenger = true }

// offCPU makes the worker's wall time 10 s with pct % of it off-CPU.
func offCPU(pct float64) func(*work.Report) {
	return func(r *work.Report) {
		r.WallTime = 10 * time.Second
		r.OffCPU = time.Duration(pct / 100 * float64(r.WallTime))
		r.CPUTime = r.WallTime - r.OffCPU
	}
}

// rate gives the worker n units in one CPU-second.
func rate(n uint64) func(*work.Report) {
	return func(r *work.Report) { r.WorkUnits, r.CPUTime = n, time.Second }
}

// wake sets the worker's wake latency samples, in microseconds.
func wake(us ...int) func(*work.Report) {
	return func(r *work.Report) {
		r.WakeLatencies = nil
		for _, u := range us {
			r.WakeLatencies = append(r.WakeLatencies, time.Duration(u)*time.Microsecond)
		}
		r.WakeSamples = uint64(len(us))
	}
}

// usRange returns lo..hi.
func usRange(lo, hi int) []int {
	var s []int
	for i := lo; i <= hi; i++ {
		s = append(s, i)
	}
	return s
}

func cg(name string, reports ...work.Report) Group {
	return Group{Name: name, Reports: reports}
}

func TestEvaluateChecks(t *testing.T) {
	tests := []struct {
		name   string
		assert Assert
		groups []Group
		want   []Failure
	}{
		// Starvation.
		{
			name:   "starved",
			assert: Assert{NotStarved: On()},
			groups: []Group{cg("cg0", rep(1233), rep(1234, units(0)))},
			want:   []Failure{{Starved, "cg0", 1234, "cgroup cg0: worker 1234 starved (0 work units in 2.0 s)"}},
		},
		{
			name:   "starved, with how it exited",
			assert: Assert{NotStarved: On()},
			groups: []Group{cg("cg0", rep(1234, units(0), func(r *work.Report) {
				r.WallTime = 2500 * ms
				r.Exit = "killed after the stop deadline"
			}))},
			want: []Failure{{Starved, "cg0", 1234, "cgroup cg0: worker 1234 starved (0 work units in 2.5 s; killed after the stop deadline)"}},
		},
		{
			name:   "killed before reporting",
			assert: Assert{NotStarved: On()},
			groups: []Group{cg("cg0", rep(1234, units(0), func(r *work.Report) {
				r.WallTime, r.CPUTime = 0, 0
				r.Exit = "killed after the stop deadline (5s)"
			}))},
			want: []Failure{{Starved, "cg0", 1234, "cgroup cg0: worker 1234 starved (no report, killed after the stop deadline (5s))"}},
		},
		{
			name:   "starved with zero wall time",
			assert: Assert{NotStarved: On()},
			groups: []Group{cg("cg0", rep(7, units(0), func(r *work.Report) { r.WallTime, r.CPUTime = 0, 0 }))},
			want:   []Failure{{Starved, "cg0", 7, "cgroup cg0: worker 7 starved (0 work units in 0.0 s)"}},
		},
		{
			name:   "starved in the parent cgroup",
			assert: Assert{NotStarved: On()},
			groups: []Group{cg("", rep(9, units(0)))},
			want:   []Failure{{Starved, "", 9, "cgroup (parent): worker 9 starved (0 work units in 2.0 s)"}},
		},
		{
			name:   "an idle messenger is not starved",
			assert: Assert{NotStarved: On()},
			groups: []Group{cg("cg0", rep(1, units(0), messenger), rep(2))},
		},
		{
			name:   "starvation switched off",
			assert: Assert{NotStarved: Off()},
			groups: []Group{cg("cg0", rep(1, units(0)))},
		},
		{
			name:   "starvation set false",
			assert: Assert{NotStarved: Set(false)},
			groups: []Group{cg("cg0", rep(1, units(0)))},
		},
		{
			name:   "starvation unset",
			groups: []Group{cg("cg0", rep(1, units(0)))},
		},

		// Fairness spread.
		{
			name:   "spread",
			assert: Assert{MaxSpreadPct: Set(15.0)},
			groups: []Group{cg("cg0",
				rep(1, offCPU(8), cpus(0)), rep(2, offCPU(20), cpus(1)),
				rep(3, offCPU(30), cpus(2)), rep(4, offCPU(50), cpus(3, 0)))},
			want: []Failure{{Unfair, "cg0", 0, "cgroup cg0: spread 42% (8-50%) over 4 workers on 4 CPUs, limit 15%"}},
		},
		{
			name:   "spread with fractions, on one CPU",
			assert: Assert{MaxSpreadPct: Set(12.5)},
			groups: []Group{cg("cg0", rep(1, offCPU(10.4)), rep(2, offCPU(30)))},
			want:   []Failure{{Unfair, "cg0", 0, "cgroup cg0: spread 19.6% (10.4-30%) over 2 workers on 1 CPU, limit 12.5%"}},
		},
		{
			name:   "spread at the limit passes",
			assert: Assert{MaxSpreadPct: Set(15.0)},
			groups: []Group{cg("cg0", rep(1, offCPU(10)), rep(2, offCPU(25)))},
		},
		{
			name:   "one worker has no spread",
			assert: Assert{MaxSpreadPct: Set(0.0)},
			groups: []Group{cg("cg0", rep(1, offCPU(90)))},
		},
		{
			name:   "zero wall time leaves a worker out of the spread",
			assert: Assert{MaxSpreadPct: Set(0.0)},
			groups: []Group{cg("cg0", rep(1, offCPU(90)), rep(2, func(r *work.Report) { r.WallTime, r.OffCPU = 0, 0 }))},
		},
		{
			name:   "spread switched off",
			assert: Assert{MaxSpreadPct: Disable[float64]()},
			groups: []Group{cg("cg0", rep(1, offCPU(0)), rep(2, offCPU(90)))},
		},

		// Longest gap.
		{
			name:   "stuck",
			assert: Assert{MaxGap: Set(2 * time.Second)},
			groups: []Group{cg("cg0", rep(1), rep(1234, func(r *work.Report) {
				r.MaxGap, r.MaxGapCPU, r.MaxGapAt = 4500*ms, 2, 3200*ms
			}))},
			want: []Failure{{Stuck, "cg0", 1234, "cgroup cg0: worker 1234 stuck 4500 ms on cpu2 at +3.2 s, limit 2000 ms"}},
		},
		{
			name:   "gap at the limit passes",
			assert: Assert{MaxGap: Set(2 * time.Second)},
			groups: []Group{cg("cg0", rep(1, func(r *work.Report) { r.MaxGap = 2 * time.Second }))},
		},
		{
			name:   "every stuck worker is named",
			assert: Assert{MaxGap: Set(100 * ms)},
			groups: []Group{cg("cg1",
				rep(1, func(r *work.Report) { r.MaxGap, r.MaxGapCPU, r.MaxGapAt = 150*ms, 0, time.Second }),
				rep(2, func(r *work.Report) { r.MaxGap, r.MaxGapCPU, r.MaxGapAt = 2500500*time.Microsecond, 3, 12*time.Second }))},
			want: []Failure{
				{Stuck, "cg1", 1, "cgroup cg1: worker 1 stuck 150 ms on cpu0 at +1.0 s, limit 100 ms"},
				{Stuck, "cg1", 2, "cgroup cg1: worker 2 stuck 2500.5 ms on cpu3 at +12.0 s, limit 100 ms"},
			},
		},

		// Isolation.
		{
			name:   "outside the group's cpuset",
			assert: Assert{Isolation: On()},
			groups: []Group{{Name: "cg0", CPUs: []int{0, 1, 2, 3}, Reports: []work.Report{rep(1, cpus(0, 1)), rep(1234, cpus(0, 5))}}},
			want:   []Failure{{Isolation, "cg0", 1234, "cgroup cg0: worker 1234 ran on CPUs {5} outside cpuset 0-3"}},
		},
		{
			name:   "a worker's own cpuset wins over the group's",
			assert: Assert{Isolation: On()},
			groups: []Group{{Name: "cg0", CPUs: []int{0, 1, 2, 3, 4, 5, 6, 7}, Reports: []work.Report{
				rep(8, cpus(5, 0, 3, 2, 1), func(r *work.Report) { r.ExpectedCPUs = []int{0, 1} }),
			}}},
			want: []Failure{{Isolation, "cg0", 8, "cgroup cg0: worker 8 ran on CPUs {2-3,5} outside cpuset 0-1"}},
		},
		{
			name:   "ExpectedCPUs without a group cpuset",
			assert: Assert{Isolation: On()},
			groups: []Group{cg("cg0", rep(8, cpus(4, 6), func(r *work.Report) { r.ExpectedCPUs = []int{0, 1, 2, 3, 6} }))},
			want:   []Failure{{Isolation, "cg0", 8, "cgroup cg0: worker 8 ran on CPUs {4} outside cpuset 0-3,6"}},
		},
		{
			name:   "no cpuset, nothing to check",
			assert: Assert{Isolation: On()},
			groups: []Group{cg("cg0", rep(1, cpus(0, 5, 9)))},
		},
		{
			name:   "isolation switched off",
			assert: Assert{Isolation: Off()},
			groups: []Group{{Name: "cg0", CPUs: []int{0}, Reports: []work.Report{rep(1, cpus(1))}}},
		},

		// Throughput.
		{
			name:   "throughput CV",
			assert: Assert{MaxThroughputCV: Set(0.25)},
			groups: []Group{cg("cg0", rep(1, rate(1000)), rep(2, rate(3000)))},
			want:   []Failure{{Throughput, "cg0", 0, "cgroup cg0: throughput CV 0.5 over 2 workers (1000-3000 units/CPU-s), limit 0.25"}},
		},
		{
			name:   "throughput CV leaves the messenger and workers without CPU time out",
			assert: Assert{MaxThroughputCV: Set(0.6)},
			groups: []Group{cg("cg0", rep(1, rate(1000)), rep(2, rate(3000)),
				rep(3, rate(1e6), messenger), rep(4, func(r *work.Report) { r.CPUTime = 0 }))},
		},
		{
			name:   "one worker with CPU time has no throughput CV",
			assert: Assert{MaxThroughputCV: Set(0.0)},
			groups: []Group{cg("cg0", rep(1, rate(1000)), rep(2, func(r *work.Report) { r.CPUTime = 0 }))},
		},
		{
			name:   "min work rate",
			assert: Assert{MinWorkRate: Set(500.0)},
			groups: []Group{cg("cg0", rep(1, rate(800)), rep(1234, rate(120)), rep(3, rate(1), messenger),
				rep(4, units(0), func(r *work.Report) { r.CPUTime = 0 }))},
			want: []Failure{{Throughput, "cg0", 1234, "cgroup cg0: worker 1234 did 120 units/CPU-s (120 units in 1.0 s of CPU), minimum 500"}},
		},

		// Wake latency.
		{
			name:   "p99 wake latency of pooled samples",
			assert: Assert{MaxP99WakeLatency: Set(50 * time.Microsecond)},
			groups: []Group{cg("cg0", rep(1, wake(usRange(51, 100)...)), rep(2, wake(usRange(1, 50)...)),
				rep(3, wake(50000, 60000), messenger))},
			want: []Failure{{WakeLatency, "cg0", 0, "cgroup cg0: p99 wake latency 99 µs (median 50 µs, 100 samples from 2 workers), limit 50 µs"}},
		},
		{
			name:   "p99 at the limit passes",
			assert: Assert{MaxP99WakeLatency: Set(99 * time.Microsecond)},
			groups: []Group{cg("cg0", rep(1, wake(usRange(1, 100)...)))},
		},
		{
			name:   "a messenger's wake-ups are not latencies",
			assert: Assert{MaxP99WakeLatency: Set(time.Microsecond), MaxWakeLatencyCV: Set(0.0)},
			groups: []Group{cg("cg0", rep(1, wake(10, 5000), messenger), rep(2))},
		},
		{
			name:   "no wake samples, no latency check",
			assert: Assert{MaxP99WakeLatency: Set(time.Duration(0)), MaxWakeLatencyCV: Set(0.0)},
			groups: []Group{cg("cg0", rep(1), rep(2))},
		},
		{
			name:   "wake latency CV",
			assert: Assert{MaxWakeLatencyCV: Set(0.4)},
			groups: []Group{cg("cg0", rep(1, wake(100, 300)))},
			want:   []Failure{{WakeLatency, "cg0", 0, "cgroup cg0: wake latency CV 0.5 (mean 200 µs, 2 samples from 1 worker), limit 0.4"}},
		},

		// Migration ratio.
		{
			name:   "migration ratio",
			assert: Assert{MaxMigrationRatio: Set(0.01)},
			groups: []Group{cg("cg0",
				rep(1, func(r *work.Report) { r.Migrations, r.Checkpoints = 40, 1830 }),
				rep(2, func(r *work.Report) { r.Migrations, r.Checkpoints = 5, 1830 }))},
			want: []Failure{{Migration, "cg0", 0, "cgroup cg0: migration ratio 0.0123 (45 migrations over 3660 checkpoints), limit 0.01"}},
		},
		{
			name:   "no checkpoints, no migration ratio",
			assert: Assert{MaxMigrationRatio: Set(0.0)},
			groups: []Group{cg("cg0", rep(1, func(r *work.Report) { r.Migrations, r.Checkpoints = 3, 0 }))},
		},

		// NUMA page locality.
		{
			name:   "page locality",
			assert: Assert{MinPageLocality: Set(0.9)},
			groups: []Group{{Name: "cg0", Nodes: []int{0}, Reports: []work.Report{
				rep(1, func(r *work.Report) { r.NUMAPages = map[int]uint64{0: 1000} }),
				rep(1234, func(r *work.Report) { r.NUMAPages = map[int]uint64{0: 620, 1: 380} }),
			}}},
			want: []Failure{{PageLocality, "cg0", 1234, "cgroup cg0: worker 1234 page locality 0.62 (620 of 1000 pages on nodes 0), limit 0.9"}},
		},
		{
			name:   "page locality over several nodes",
			assert: Assert{MinPageLocality: Set(0.95)},
			groups: []Group{{Name: "cg0", Nodes: []int{2, 0, 1}, Reports: []work.Report{
				rep(5, func(r *work.Report) { r.NUMAPages = map[int]uint64{0: 300, 1: 300, 2: 300, 3: 100} }),
			}}},
			want: []Failure{{PageLocality, "cg0", 5, "cgroup cg0: worker 5 page locality 0.9 (900 of 1000 pages on nodes 0-2), limit 0.95"}},
		},
		{
			name:   "no pages count as local",
			assert: Assert{MinPageLocality: Set(1.0)},
			groups: []Group{{Name: "cg0", Nodes: []int{0}, Reports: []work.Report{rep(1)}}},
		},
		{
			name:   "no nodes, no locality check",
			assert: Assert{MinPageLocality: Set(1.0)},
			groups: []Group{cg("cg0", rep(1, func(r *work.Report) { r.NUMAPages = map[int]uint64{1: 10} }))},
		},

		// Several checks and groups.
		{
			name: "failures in group order, then check order",
			assert: Merge(Defaults(Env{}), Assert{
				MinWorkRate: Set(100.0), MaxMigrationRatio: Set(0.25),
			}),
			groups: []Group{
				{Name: "a", CPUs: []int{0, 1}, Reports: []work.Report{
					rep(1, cpus(2), func(r *work.Report) { r.Migrations = 60 }),
					rep(2, units(0), offCPU(40), cpus(0)),
				}},
				cg("b", rep(3, func(r *work.Report) { r.MaxGap, r.MaxGapCPU, r.MaxGapAt = 3*time.Second, 1, 5*time.Second })),
			},
			want: []Failure{
				{Starved, "a", 2, "cgroup a: worker 2 starved (0 work units in 10.0 s)"},
				{Unfair, "a", 0, "cgroup a: spread 40% (0-40%) over 2 workers on 2 CPUs, limit 15%"},
				{Isolation, "a", 1, "cgroup a: worker 1 ran on CPUs {2} outside cpuset 0-1"},
				{Throughput, "a", 2, "cgroup a: worker 2 did 0 units/CPU-s (0 units in 6.0 s of CPU), minimum 100"},
				{Migration, "a", 0, "cgroup a: migration ratio 0.3 (60 migrations over 200 checkpoints), limit 0.25"},
				{Stuck, "b", 3, "cgroup b: worker 3 stuck 3000 ms on cpu1 at +5.0 s, limit 2000 ms"},
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Evaluate(tt.assert, tt.groups...)
			if !slices.Equal(res.Failures, tt.want) {
				t.Errorf("failures:\n%s\nwant:\n%s", failureList(res.Failures), failureList(tt.want))
			}
			if res.Passed != (len(tt.want) == 0) {
				t.Errorf("Passed = %v with %d failures", res.Passed, len(tt.want))
			}
			if err := res.Err(); (err == nil) != res.Passed {
				t.Errorf("Err() = %v, Passed = %v", err, res.Passed)
			}
		})
	}
}

func failureList(fs []Failure) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + string(f.Kind) + " " + f.Cgroup + " " + f.Message + "\n")
	}
	return b.String()
}

func TestEvaluateNothing(t *testing.T) {
	res := Evaluate(Defaults(Env{}))
	if !res.Passed || res.Failures != nil || res.Err() != nil {
		t.Errorf("no groups: %+v", res)
	}
	if res.Stats.Workers != 0 || res.Stats.Cgroups == nil || len(res.Stats.Cgroups) != 0 {
		t.Errorf("no groups: stats %+v", res.Stats)
	}
	// An empty group passes every check.
	all := Assert{
		NotStarved: On(), Isolation: On(), MaxGap: Set(time.Duration(0)), MaxSpreadPct: Set(0.0),
		MaxThroughputCV: Set(0.0), MinWorkRate: Set(1.0), MaxP99WakeLatency: Set(time.Duration(0)),
		MaxWakeLatencyCV: Set(0.0), MaxMigrationRatio: Set(0.0), MinPageLocality: Set(1.0),
	}
	res = Evaluate(all, Group{Name: "empty", CPUs: []int{0}, Nodes: []int{0}})
	if !res.Passed {
		t.Errorf("empty group: %v", res.Err())
	}
}

func TestResultErr(t *testing.T) {
	res := Evaluate(Assert{NotStarved: On()}, cg("cg0", rep(1, units(0)), rep(2, units(0))))
	want := "cgroup cg0: worker 1 starved (0 work units in 2.0 s)\ncgroup cg0: worker 2 starved (0 work units in 2.0 s)"
	if err := res.Err(); err == nil || err.Error() != want {
		t.Errorf("Err() = %v, want %q", err, want)
	}
	if got := res.Failures[0].String(); got != res.Failures[0].Message {
		t.Errorf("Failure.String() = %q", got)
	}
	if err := (Result{Passed: false}).Err(); err == nil {
		t.Error("a failed result without failures has no error")
	}
	var target interface{ Unwrap() []error }
	if errors.As(res.Err(), &target) {
		t.Error("Err should be one plain error")
	}
}

func TestResultMerge(t *testing.T) {
	a := Evaluate(Assert{NotStarved: On()}, cg("a", rep(1, units(0), cpus(0), func(r *work.Report) {
		r.MaxGap, r.MaxGapCPU = 300*ms, 0
	})))
	b := Evaluate(Assert{NotStarved: On()}, cg("b",
		rep(2, cpus(1, 2), offCPU(10), func(r *work.Report) { r.MaxGap, r.MaxGapCPU = 700*ms, 2 }),
		rep(3, cpus(3), offCPU(30))))
	c := Evaluate(Assert{}, cg("c", rep(4)))

	m := a.Merge(b).Merge(c)
	if m.Passed {
		t.Error("merged result passed though a failed")
	}
	if !b.Merge(c).Passed {
		t.Error("b+c failed though both passed")
	}
	if len(m.Failures) != 1 || m.Failures[0].PID != 1 {
		t.Errorf("failures = %v", m.Failures)
	}
	s := m.Stats
	if s.Workers != 4 || s.WorkUnits != 3000 || !slices.Equal(s.CPUs, []int{0, 1, 2, 3}) {
		t.Errorf("totals: %d workers, %d units, CPUs %v", s.Workers, s.WorkUnits, s.CPUs)
	}
	if s.WorstGap != 700*ms || s.WorstGapCPU != 2 || s.WorstGapCgroup != "b" {
		t.Errorf("worst gap %v on cpu%d in %q", s.WorstGap, s.WorstGapCPU, s.WorstGapCgroup)
	}
	if s.WorstSpreadPct != 20 {
		t.Errorf("worst spread %v", s.WorstSpreadPct)
	}
	if s.WorstUnitsPerWorker != 0 {
		t.Errorf("worst units per worker %v", s.WorstUnitsPerWorker)
	}
	if len(s.Cgroups) != 3 || s.Cgroups[0].Name != "a" || s.Cgroups[2].Name != "c" {
		t.Errorf("cgroups %v", s.Cgroups)
	}
	// Merging with an empty result changes nothing.
	if got := b.Merge(Result{Passed: true}); got.Stats.WorstUnitsPerWorker != 1000 || got.Stats.WorstPageLocality != 1 {
		t.Errorf("merge with empty: %+v", got.Stats)
	}
}

func TestByCgroup(t *testing.T) {
	r := func(pid int, cg string) work.Report { return work.Report{PID: pid, Cgroup: cg} }
	got := ByCgroup(r(1, "b"), r(2, "a"), r(3, "b"), r(4, ""))
	var names []string
	var pids [][]int
	for _, g := range got {
		names = append(names, g.Name)
		var p []int
		for _, rep := range g.Reports {
			p = append(p, rep.PID)
		}
		pids = append(pids, p)
	}
	if !slices.Equal(names, []string{"b", "a", ""}) ||
		!slices.EqualFunc(pids, [][]int{{1, 3}, {2}, {4}}, slices.Equal) {
		t.Errorf("ByCgroup: %v %v", names, pids)
	}
	if ByCgroup() != nil {
		t.Error("ByCgroup() is not nil")
	}
}

func TestPercentile(t *testing.T) {
	d := func(xs ...int) []time.Duration {
		var s []time.Duration
		for _, x := range xs {
			s = append(s, time.Duration(x))
		}
		return s
	}
	hundred := d(usRange(1, 100)...)
	slices.Reverse(hundred)
	tests := []struct {
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{nil, 99, 0},
		{d(7), 99, 7},
		{d(7), 50, 7},
		{d(1, 2), 50, 1},                 // ⌈1.0⌉ = 1st
		{d(2, 1), 51, 2},                 // ⌈1.02⌉ = 2nd
		{d(3, 1, 2), 50, 2},              // ⌈1.5⌉ = 2nd
		{d(15, 20, 35, 40, 50), 30, 20},  // the textbook example: ⌈1.5⌉
		{d(15, 20, 35, 40, 50), 40, 20},  // ⌈2.0⌉
		{d(15, 20, 35, 40, 50), 50, 35},  // ⌈2.5⌉
		{d(15, 20, 35, 40, 50), 100, 50}, // the largest
		{hundred, 99, 99},
		{hundred, 99.5, 100},
		{hundred, 1, 1},
		{hundred, 0, 1},     // below range: the smallest
		{hundred, 150, 100}, // above range: the largest
	}
	for _, tt := range tests {
		orig := slices.Clone(tt.samples)
		if got := Percentile(tt.samples, tt.p); got != tt.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tt.samples, tt.p, got, tt.want)
		}
		if !slices.Equal(orig, tt.samples) {
			t.Errorf("Percentile modified its input")
		}
	}
}

func TestMeanCV(t *testing.T) {
	tests := []struct {
		xs       []float64
		mean, cv float64
	}{
		{nil, 0, 0},
		{[]float64{5}, 5, 0},
		{[]float64{1000, 3000}, 2000, 0.5},
		{[]float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, 0.4}, // σ = 2 (population)
		{[]float64{0, 0}, 0, 0},
	}
	for _, tt := range tests {
		mean, cv := meanCV(tt.xs)
		if mean != tt.mean || cv != tt.cv {
			t.Errorf("meanCV(%v) = %v, %v; want %v, %v", tt.xs, mean, cv, tt.mean, tt.cv)
		}
	}
}
