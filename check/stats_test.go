package check

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/work"
)

// statsGroups is a two-cgroup run with every figure filled in.
func statsGroups() []Group {
	us := time.Microsecond
	return []Group{
		{Name: "cg0", CPUs: []int{0, 1}, Nodes: []int{0}, Reports: []work.Report{
			rep(101, cpus(0, 1), offCPU(10), func(r *work.Report) {
				r.WorkUnits, r.Migrations, r.Checkpoints = 9000, 4, 400
				r.MaxGap, r.MaxGapCPU = 40*ms, 1
				r.WakeLatencies = []time.Duration{50 * us, 70 * us, 90 * us, 400 * us}
				r.RunDelay = 300 * ms
				r.NUMAPages = map[int]uint64{0: 900, 1: 100}
			}),
			rep(102, cpus(1), offCPU(22), func(r *work.Report) {
				r.WorkUnits, r.Migrations, r.Checkpoints = 7020, 0, 390
				r.MaxGap, r.MaxGapCPU = 120*ms, 0
				r.WakeLatencies = []time.Duration{60 * us, 80 * us}
				r.RunDelay = 1100 * ms
				r.NUMAPages = map[int]uint64{0: 1000}
			}),
		}},
		{Name: "cg1", CPUs: []int{2, 3}, Reports: []work.Report{
			rep(201, cpus(2), offCPU(5), func(r *work.Report) {
				r.WorkUnits, r.Migrations, r.Checkpoints = 9500, 1, 475
				r.MaxGap, r.MaxGapCPU = 250*ms, 2
				r.RunDelay = 100 * ms
			}),
			rep(202, cpus(3), offCPU(7), func(r *work.Report) {
				r.WorkUnits, r.Migrations, r.Checkpoints = 8370, 2, 465
				r.MaxGap, r.MaxGapCPU = 90*ms, 3
				r.RunDelay = 140 * ms
			}),
			rep(203, cpus(2, 3), offCPU(6), messenger, func(r *work.Report) {
				r.WorkUnits, r.Migrations, r.Checkpoints = 400, 30, 100
				r.WakeLatencies = []time.Duration{5 * ms}
				r.RunDelay = 120 * ms
			}),
		}},
	}
}

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-3 }

func TestStats(t *testing.T) {
	s := Evaluate(Assert{}, statsGroups()...).Stats
	if len(s.Cgroups) != 2 {
		t.Fatalf("%d cgroups", len(s.Cgroups))
	}
	c0, c1 := s.Cgroups[0], s.Cgroups[1]
	checks := []struct {
		name      string
		got, want any
	}{
		{"cg0 name", c0.Name, "cg0"},
		{"cg0 workers", c0.Workers, 2},
		{"cg0 CPUs", c0.CPUs, []int{0, 1}},
		{"cg0 units", c0.WorkUnits, uint64(16020)},
		{"cg0 units/worker", c0.UnitsPerWorker, 8010.0},
		{"cg0 off-CPU", []float64{c0.MinOffCPUPct, c0.AvgOffCPUPct, c0.MaxOffCPUPct, c0.SpreadPct}, []float64{10, 16, 22, 12}},
		{"cg0 gap", []any{c0.MaxGap, c0.MaxGapCPU}, []any{120 * ms, 0}},
		{"cg0 migrations", []uint64{c0.Migrations, c0.Checkpoints}, []uint64{4, 790}},
		{"cg0 migration ratio", c0.MigrationRatio, 4.0 / 790},
		{"cg0 rates", []float64{c0.MinWorkRate, c0.MaxWorkRate, c0.ThroughputCV}, []float64{900, 1000, 50.0 / 950}},
		{"cg0 wake", []any{c0.WakeSamples, c0.P99WakeLatency, c0.MedianWakeLatency}, []any{6, 400 * time.Microsecond, 70 * time.Microsecond}},
		{"cg0 wake CV", c0.WakeLatencyCV, math.Sqrt(91750.0/6) / 125},
		{"cg0 run delay", []time.Duration{c0.MeanRunDelay, c0.MaxRunDelay}, []time.Duration{700 * ms, 1100 * ms}},
		{"cg0 pages", []any{c0.Pages, c0.PageLocality}, []any{uint64(2000), 0.9}},
		{"cg1 units/worker", c1.UnitsPerWorker, 6090.0},
		{"cg1 off-CPU", []float64{c1.MinOffCPUPct, c1.AvgOffCPUPct, c1.MaxOffCPUPct, c1.SpreadPct}, []float64{5, 6, 7, 2}},
		{"cg1 rates (messenger left out)", []float64{c1.MinWorkRate, c1.MaxWorkRate}, []float64{900, 1000}},
		{"cg1 wake (messenger left out)", []any{c1.WakeSamples, c1.P99WakeLatency, c1.WakeLatencyCV}, []any{0, time.Duration(0), 0.0}},
		{"cg1 run delay", []time.Duration{c1.MeanRunDelay, c1.MaxRunDelay}, []time.Duration{120 * ms, 140 * ms}},
		{"cg1 no nodes, no pages", []any{c1.Pages, c1.PageLocality}, []any{uint64(0), 1.0}},
		{"total counts", []any{s.Workers, s.CPUs, s.WorkUnits, s.Migrations, s.Checkpoints, s.WakeSamples, s.Pages},
			[]any{5, []int{0, 1, 2, 3}, uint64(34290), uint64(37), uint64(1830), 6, uint64(2000)}},
		{"worst spread", s.WorstSpreadPct, 12.0},
		{"worst gap", []any{s.WorstGap, s.WorstGapCPU, s.WorstGapCgroup}, []any{250 * ms, 2, "cg1"}},
		{"worst migration ratio", s.WorstMigrationRatio, 33.0 / 1040},
		{"worst throughput CV", s.WorstThroughputCV, c1.ThroughputCV},
		{"worst wake", []time.Duration{s.WorstP99WakeLatency, s.WorstMedianWakeLatency}, []time.Duration{400 * time.Microsecond, 70 * time.Microsecond}},
		{"worst wake CV", s.WorstWakeLatencyCV, c0.WakeLatencyCV},
		{"worst run delay", []time.Duration{s.WorstMeanRunDelay, s.WorstMaxRunDelay}, []time.Duration{700 * ms, 1100 * ms}},
		{"worst locality", s.WorstPageLocality, 0.9},
		{"worst units/worker", s.WorstUnitsPerWorker, 6090.0},
	}
	for _, c := range checks {
		if !equalish(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// equalish compares like reflect.DeepEqual, floats approximately.
func equalish(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && approx(a, b)
	case []float64:
		b, ok := b.([]float64)
		return ok && slices.EqualFunc(a, b, approx)
	case []any:
		b, ok := b.([]any)
		return ok && slices.EqualFunc(a, b, equalish)
	}
	return reflect.DeepEqual(a, b)
}

func TestStatsFormat(t *testing.T) {
	tests := []struct {
		name   string
		groups []Group
		want   string
	}{
		{
			name:   "every figure",
			groups: statsGroups(),
			want: "" +
				"            workers  CPUs  units  /worker  off-CPU  spread  max gap      migrations  /checkpoint  units/CPU-s  rate CV  wake p99/p50  wake CV  samples  run delay mean/max  locality\n" +
				"total       5        0-3   34290  6090     -        12%     250 ms cpu2  37          0.0317       -            0.05     400/70 µs     0.99     6        700/1100 ms         0.9\n" +
				"cgroup cg0  2        0-1   16020  8010     10-22%   12%     120 ms cpu0  4           0.0051       900-1000     0.05     400/70 µs     0.99     6        700/1100 ms         0.9\n" +
				"cgroup cg1  3        2-3   18270  6090     5-7%     2%      250 ms cpu2  33          0.0317       900-1000     0.05     -             -        0        120/140 ms          -\n",
		},
		{
			name: "no wake samples, no pages, the parent cgroup",
			groups: []Group{
				cg("", rep(1, cpus(0, 2)), rep(2, units(0), cpus(1))),
				{Name: "empty"},
			},
			want: "" +
				"                 workers  CPUs  units  /worker  off-CPU  spread  max gap     migrations  /checkpoint  units/CPU-s  rate CV  run delay mean/max\n" +
				"total            2        0-2   1000   500      -        0%      20 ms cpu0  0           0            -            1        0/0 ms\n" +
				"cgroup (parent)  2        0-2   1000   500      0%       0%      20 ms cpu0  0           0            0-500        1        0/0 ms\n" +
				"cgroup empty     0        -     0      0        -        0%      -           0           0            -            0        0/0 ms\n",
		},
		{
			name: "nothing",
			want: "" +
				"       workers  CPUs  units  /worker  off-CPU  spread  max gap  migrations  /checkpoint  run delay mean/max\n" +
				"total  0        -     0      0        -        0%      -        0           0            0/0 ms\n",
		},
	}
	for _, tt := range tests {
		s := Evaluate(Assert{}, tt.groups...).Stats
		if got := s.Format(); got != tt.want {
			t.Errorf("%s: Format:\n%s\nwant:\n%s", tt.name, got, tt.want)
		}
		if s.String() != s.Format() {
			t.Errorf("%s: String() != Format()", tt.name)
		}
	}
}
