package stats

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/sidecar"
)

// fixture writes sidecars the way tests do and reads them back.
type fixture struct {
	t    *testing.T
	root string
	ws   map[string]*sidecar.Writer
	n    int
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, root: t.TempDir(), ws: map[string]*sidecar.Writer{}}
}

// add writes a sidecar of test on kernel (run directory kernel-commit).
// Each call is a distinct variant (a kernel argument numbers them), as
// repeated runs would land in other directories.
func (f *fixture) add(kernel, commit, test string, passed bool, m sidecar.Metrics, mut ...func(*sidecar.Result)) {
	f.t.Helper()
	dir := filepath.Join(f.root, sidecar.RunDirName(kernel, commit))
	w := f.ws[dir]
	if w == nil {
		w = sidecar.NewWriter(dir, "run-"+kernel+"-"+commit)
		f.ws[dir] = w
	}
	f.n++
	r := sidecar.Result{
		TestName: test, Topology: "1n2l2c1t", Scheduler: "scx_simple", WorkType: "spin",
		KernelVersion: kernel, ProjectCommit: commit, Passed: passed, RunSource: sidecar.SourceLocal,
		Stats:      sidecar.Stats{Overall: m},
		KernelArgs: []string{fmt.Sprintf("ktstr.n=%d", f.n)},
		Timestamp:  time.Date(2026, 4, 27, 10, 0, f.n, 0, time.UTC),
	}
	if !passed {
		r.Failures = []string{"failed"}
	}
	for _, fn := range mut {
		fn(&r)
	}
	if err := w.Write(r); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) read() []sidecar.Result {
	f.t.Helper()
	rs, err := sidecar.ReadDir(f.root)
	if err != nil {
		f.t.Fatal(err)
	}
	return rs
}

func kernels(a, b string) Options {
	return Options{A: Filter{DimKernel: {a}}, B: Filter{DimKernel: {b}}}
}

// change finds a metric's change in the report.
func change(t *testing.T, rep *Report, test, metric string) Change {
	t.Helper()
	for _, row := range rep.Rows {
		if row.Key.Test != test {
			continue
		}
		for _, c := range row.Changes {
			if c.Metric == metric {
				return c
			}
		}
	}
	t.Fatalf("no change of %s in %s", metric, test)
	return Change{}
}

func standardFixture(t *testing.T) *fixture {
	f := newFixture(t)
	const a, b, c = "7.2.0", "7.3.0", "abc1234"
	// A regression, averaged: A's spread is (8+12)/2 = 10, B's 20: +10 ≥ 5
	// and +100 % ≥ 25 %. A's failed run (spread 90) is excluded.
	f.add(a, c, "TestSpread", true, sidecar.Metrics{sidecar.MetricWorstSpread: 8})
	f.add(a, c, "TestSpread", true, sidecar.Metrics{sidecar.MetricWorstSpread: 12})
	f.add(a, c, "TestSpread", false, sidecar.Metrics{sidecar.MetricWorstSpread: 90})
	f.add(b, c, "TestSpread", true, sidecar.Metrics{sidecar.MetricWorstSpread: 20})
	// An improvement of a higher-is-better metric: +500 ≥ 100, +50 % ≥ 10 %.
	f.add(a, c, "TestIter", true, sidecar.Metrics{sidecar.MetricTotalIterations: 1000})
	f.add(b, c, "TestIter", true, sidecar.Metrics{sidecar.MetricTotalIterations: 1500})
	// Noise: past the relative threshold but not the absolute one (gap
	// +100 ms, +100 %, abs 500), and past the absolute but not the
	// relative one (+1000 iterations, +1 %).
	f.add(a, c, "TestNoise", true, sidecar.Metrics{sidecar.MetricWorstGapMS: 100, sidecar.MetricTotalIterations: 100000})
	f.add(b, c, "TestNoise", true, sidecar.Metrics{sidecar.MetricWorstGapMS: 200, sidecar.MetricTotalIterations: 101000})
	// From zero: two stalls where there were none (abs 2 ≥ 1, relative
	// infinite); both zero: not compared; a payload metric without
	// polarity: changed.
	f.add(a, c, "TestStall", true, sidecar.Metrics{sidecar.MetricStallCount: 0, sidecar.MetricMaxDSQDepth: 0},
		func(r *sidecar.Result) { r.PayloadMetrics = map[string]float64{"iops": 1000} })
	f.add(b, c, "TestStall", true, sidecar.Metrics{sidecar.MetricStallCount: 2, sidecar.MetricMaxDSQDepth: 0},
		func(r *sidecar.Result) { r.PayloadMetrics = map[string]float64{"iops": 500} })
	// Rows only one side has.
	f.add(a, c, "TestGone", true, sidecar.Metrics{sidecar.MetricWorstSpread: 1})
	f.add(b, c, "TestNew", true, sidecar.Metrics{sidecar.MetricWorstSpread: 1})
	// A row whose B side only failed or was skipped: not compared.
	f.add(a, c, "TestBroken", true, sidecar.Metrics{sidecar.MetricWorstSpread: 1})
	f.add(b, c, "TestBroken", false, sidecar.Metrics{sidecar.MetricWorstSpread: 99})
	f.add(b, c, "TestBroken", false, nil, func(r *sidecar.Result) { r.Skipped, r.Failures = true, nil })
	return f
}

func TestCompare(t *testing.T) {
	f := standardFixture(t)
	rep, err := Compare(f.read(), kernels("7.2", "7.3"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rep.Slicing) != "[kernel]" || len(rep.Pairing) != len(Dims)-1 {
		t.Errorf("slicing %v, pairing %v", rep.Slicing, rep.Pairing)
	}
	c := change(t, rep, "TestSpread", sidecar.MetricWorstSpread)
	if c.A != 10 || c.B != 20 || c.Delta != 10 || *c.Rel != 1 || c.Verdict != Regression || c.Unit != "%" {
		t.Errorf("spread: %+v", c)
	}
	if c := change(t, rep, "TestIter", sidecar.MetricTotalIterations); c.Verdict != Improvement {
		t.Errorf("iterations: %+v", c)
	}
	if c := change(t, rep, "TestNoise", sidecar.MetricWorstGapMS); c.Verdict != Unchanged || *c.Rel != 1 {
		t.Errorf("gap (relative only): %+v", c)
	}
	if c := change(t, rep, "TestNoise", sidecar.MetricTotalIterations); c.Verdict != Unchanged || c.Delta != 1000 {
		t.Errorf("iterations (absolute only): %+v", c)
	}
	if c := change(t, rep, "TestStall", sidecar.MetricStallCount); c.Verdict != Regression || c.Rel != nil {
		t.Errorf("stalls from zero: %+v", c)
	}
	if c := change(t, rep, "TestStall", PayloadPrefix+"iops"); c.Verdict != Changed {
		t.Errorf("payload metric: %+v", c)
	}
	for _, row := range rep.Rows {
		for _, c := range row.Changes {
			if c.Metric == sidecar.MetricMaxDSQDepth {
				t.Errorf("zero on both sides compared: %+v", c)
			}
		}
	}
	if rep.Regressions != 2 || rep.Improvements != 1 || rep.Changed != 1 || rep.Unchanged != 2 {
		t.Errorf("counts: %d regressions, %d improvements, %d changed, %d unchanged",
			rep.Regressions, rep.Improvements, rep.Changed, rep.Unchanged)
	}
	if len(rep.NewInB) != 1 || rep.NewInB[0].Test != "TestNew" || len(rep.RemovedFromA) != 1 || rep.RemovedFromA[0].Test != "TestGone" {
		t.Errorf("new %v, removed %v", rep.NewInB, rep.RemovedFromA)
	}
	if len(rep.NotCompared) != 1 || rep.NotCompared[0].Key.Test != "TestBroken" ||
		rep.NotCompared[0].B != (Side{Runs: 2, Failed: 1, Skipped: 1}) {
		t.Errorf("not compared: %+v", rep.NotCompared)
	}
	// Side totals count the excluded runs.
	if rep.A.Side != (Side{Runs: 8, Passed: 7, Failed: 1}) || rep.B.Side != (Side{Runs: 7, Passed: 5, Failed: 1, Skipped: 1}) {
		t.Errorf("sides: A %+v, B %+v", rep.A.Side, rep.B.Side)
	}
	// The exit decision.
	err = rep.Err()
	var re *RegressionError
	if !errors.Is(err, ErrRegression) || !errors.As(err, &re) || err.Error() != "2 regressions" || rep.ExitCode() != 1 {
		t.Errorf("Err = %v, ExitCode = %d", err, rep.ExitCode())
	}

	// Reversed, the regressions are improvements and the exit is clean.
	rev, err := Compare(f.read(), kernels("7.3", "7.2"))
	if err != nil {
		t.Fatal(err)
	}
	if rev.Regressions != 1 || rev.Improvements != 2 {
		// TestIter regresses backwards.
		t.Errorf("reversed: %d regressions, %d improvements", rev.Regressions, rev.Improvements)
	}
	if len(rev.NewInB) != 1 || rev.NewInB[0].Test != "TestGone" {
		t.Errorf("reversed new: %v", rev.NewInB)
	}
}

func TestCompareExitClean(t *testing.T) {
	f := newFixture(t)
	f.add("1.0", "aaaaaaa", "TestA", true, sidecar.Metrics{sidecar.MetricWorstSpread: 20})
	f.add("2.0", "aaaaaaa", "TestA", true, sidecar.Metrics{sidecar.MetricWorstSpread: 10})
	rep, err := Compare(f.read(), kernels("1.0", "2.0"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Err() != nil || rep.ExitCode() != 0 || rep.Improvements != 1 {
		t.Errorf("improvement only: Err %v, exit %d, %d improvements", rep.Err(), rep.ExitCode(), rep.Improvements)
	}
	rep2, _ := Compare(f.read(), kernels("2.0", "1.0"))
	if err := rep2.Err(); err == nil || err.Error() != "1 regression" {
		t.Errorf("one regression: %v", err)
	}
}

func TestThresholdOverrides(t *testing.T) {
	f := standardFixture(t)
	rs := f.read()
	// --threshold 150: the spread's +100 % no longer counts; the stall
	// from zero still does.
	opt := kernels("7.2", "7.3")
	pct := 150.0
	opt.Thresholds.Percent = &pct
	rep, err := Compare(rs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if c := change(t, rep, "TestSpread", sidecar.MetricWorstSpread); c.Verdict != Unchanged || c.RelThreshold != 1.5 {
		t.Errorf("--threshold 150: %+v", c)
	}
	if rep.Regressions != 1 {
		t.Errorf("--threshold 150: %d regressions, want 1", rep.Regressions)
	}

	// A policy: the spread's per-metric percent (50) lets its +100 %
	// count, the gap's lowered absolute threshold makes its +100 ms a
	// regression, the payload metric given a polarity regresses, and
	// default_percent (5) keeps the iterations' +50 % an improvement.
	p, err := ParsePolicy([]byte(`{
		"default_percent": 5,
		"per_metric_percent": {"worst_spread": 50},
		"metrics": {"worst_gap_ms": {"abs": 50}, "payload.iops": {"polarity": "higher"}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	expect := func(rep *Report, test, metric string, want Verdict, rel float64) {
		t.Helper()
		if c := change(t, rep, test, metric); c.Verdict != want || c.RelThreshold != rel {
			t.Errorf("%s: %+v, want %s at %v", metric, c, want, rel)
		}
	}
	rep, err = Compare(rs, Options{A: opt.A, B: opt.B, Thresholds: Thresholds{Policy: p}})
	if err != nil {
		t.Fatal(err)
	}
	expect(rep, "TestSpread", sidecar.MetricWorstSpread, Regression, 0.5)
	expect(rep, "TestNoise", sidecar.MetricWorstGapMS, Regression, 0.05)
	expect(rep, "TestStall", PayloadPrefix+"iops", Regression, 0.05)
	expect(rep, "TestIter", sidecar.MetricTotalIterations, Improvement, 0.05)
	// With --threshold 150 too: per-metric entries still win, but
	// --threshold beats default_percent.
	opt.Thresholds.Policy = p
	rep, err = Compare(rs, opt)
	if err != nil {
		t.Fatal(err)
	}
	expect(rep, "TestSpread", sidecar.MetricWorstSpread, Regression, 0.5)
	expect(rep, "TestNoise", sidecar.MetricWorstGapMS, Unchanged, 1.5)
	expect(rep, "TestIter", sidecar.MetricTotalIterations, Unchanged, 1.5)
	th := Thresholds{Policy: p}
	if m := th.For(sidecar.MetricTotalIterations); m.Rel != 0.05 || m.Abs != 100 || m.Polarity != HigherBetter {
		t.Errorf("default_percent: %+v", m)
	}
	if m := th.For("payload.other"); m.Rel != 0.05 || m.Polarity != Unknown || m.Name != "payload.other" {
		t.Errorf("unregistered: %+v", m)
	}

	for _, bad := range []string{
		`{"default_percentage": 5}`,
		`{"metrics": {"worst_spread": {"pct": 5}}}`,
		`{"default_percent": -1}`,
		`{"metrics": {"worst_spread": {"abs": -1}}}`,
		`{"metrics": {"worst_spread": {"polarity": "sideways"}}}`,
		`[]`,
	} {
		if _, err := ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("ParsePolicy(%s) accepted", bad)
		}
	}
}

func TestPairingAndSlicing(t *testing.T) {
	f := newFixture(t)
	m := sidecar.Metrics{sidecar.MetricWorstSpread: 10}
	f.add("7.2.0", "aaaaaaa", "TestA", true, m)
	f.add("7.3.0", "aaaaaaa-dirty", "TestA", true, m)
	f.add("7.3.0", "bbbbbbb", "TestA", true, m)
	rs := f.read()

	// Slicing only the kernel pairs by commit: 7.2/aaaaaaa has no
	// partner at aaaaaaa-dirty, so nothing pairs.
	rep, err := Compare(rs, kernels("7.2", "7.3"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 0 || len(rep.RemovedFromA) != 1 || len(rep.NewInB) != 2 {
		t.Errorf("kernel slice: rows %d, removed %d, new %d", len(rep.Rows), len(rep.RemovedFromA), len(rep.NewInB))
	}
	// Slicing kernel and commit pairs them; a commit prefix matches the
	// dirty label.
	opt := Options{A: Filter{DimKernel: {"7.2"}, DimCommit: {"aaaaaaa"}}, B: Filter{DimKernel: {"7.3"}, DimCommit: {"aaaa"}}}
	rep, err = Compare(rs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 || rep.B.Runs != 1 || fmt.Sprint(rep.Slicing) != "[kernel commit]" {
		t.Errorf("kernel+commit slice: %+v", rep)
	}
	// Both B commits together average.
	opt.B[DimCommit] = []string{"aaaaaaa", "bbbbbbb"}
	rep, err = Compare(rs, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 || rep.Rows[0].B.Runs != 2 || !rep.Rows[0].B.Mixed {
		t.Errorf("two commits on B: %+v", rep.Rows)
	}

	// Errors: sides alike, or a slicing dimension given on one side only.
	if _, err := Compare(rs, Options{A: Filter{DimKernel: {"7.2"}}, B: Filter{DimKernel: {"7.2"}}}); err == nil || !strings.Contains(err.Error(), "same sidecars") {
		t.Errorf("identical sides: %v", err)
	}
	if _, err := Compare(rs, Options{}); err == nil {
		t.Errorf("no filters accepted")
	}
	if _, err := Compare(rs, Options{A: Filter{DimKernel: {"7.2"}}, B: Filter{}}); err == nil || !strings.Contains(err.Error(), "--b-kernel") {
		t.Errorf("one-sided: %v", err)
	}
	// The test filter.
	rep, err = Compare(rs, Options{A: Filter{DimKernel: {"7.2"}}, B: Filter{DimKernel: {"7.3"}}, Test: "Nope"})
	if err != nil || rep.A.Runs != 0 {
		t.Errorf("test filter: %v, %+v", err, rep.A)
	}
}

func TestFilterMatch(t *testing.T) {
	r := sidecar.Result{KernelVersion: "7.3.4+deb13-amd64", ProjectCommit: "abc1234-dirty", Flags: []string{"steal", "llc"}, Scheduler: "scx_simple"}
	for _, c := range []struct {
		d    Dim
		w    string
		want bool
	}{
		{DimKernel, "7.3.4+deb13-amd64", true},
		{DimKernel, "7.3.4", true},
		{DimKernel, "7.3", true},
		{DimKernel, "7", true},
		{DimKernel, "7.3.40", false},
		{DimKernel, "7.2", false},
		{DimCommit, "abc1234-dirty", true},
		{DimCommit, "abc1234", true},
		{DimCommit, "abc1", true},
		{DimCommit, "abc", false},
		{DimCommit, "abc1234567890abcdef", true},
		{DimCommit, "abd1234", false},
		{DimKernelCommit, "-", true},
		{DimKernelCommit, "abc1234", false},
		{DimFlags, "llc,steal", true},
		{DimFlags, "steal,llc", true},
		{DimFlags, "steal", false},
		{DimFlags, "none", false},
		{DimScheduler, "scx_simple", true},
		{DimScheduler, "scx", false},
		{DimTopology, "-", true},
	} {
		if got := (Filter{c.d: {c.w}}).Match(&r); got != c.want {
			t.Errorf("%s=%q: %v, want %v", c.d, c.w, got, c.want)
		}
	}
	none := sidecar.Result{}
	if !(Filter{DimFlags: {"none"}}).Match(&none) || (Filter{DimFlags: {"llc"}}).Match(&none) {
		t.Errorf("empty flag set")
	}
	if !(Filter{DimKernel: {"6.1", "7.3"}}).Match(&r) {
		t.Errorf("values do not OR")
	}
	if (Filter{DimKernel: {"7.3"}, DimScheduler: {"eevdf"}}).Match(&r) {
		t.Errorf("dimensions do not AND")
	}
}

func TestHostDiff(t *testing.T) {
	f := newFixture(t)
	m := sidecar.Metrics{sidecar.MetricWorstSpread: 10}
	f.add("1.0", "aaaaaaa", "TestA", true, m, func(r *sidecar.Result) {
		r.Host = &sidecar.Host{KernelRelease: "6.1.0", Arch: "x86_64", MemoryKB: 1000, SchedTunables: map[string]string{"kernel.sched_a": "1"}}
	})
	f.add("2.0", "aaaaaaa", "TestA", true, m, func(r *sidecar.Result) {
		r.Host = &sidecar.Host{KernelRelease: "6.2.0", Arch: "x86_64", CPUModel: "X", SchedTunables: map[string]string{"kernel.sched_b": "2"}}
	})
	rep, err := Compare(f.read(), kernels("1.0", "2.0"))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(rep.HostDiff)
	want := "[{cpu_model (unknown) X} {memory_kb 1000 (unknown)} {kernel_release 6.1.0 6.2.0} {sched_tunables.kernel.sched_a 1 (absent)} {sched_tunables.kernel.sched_b (absent) 2}]"
	if got != want {
		t.Errorf("HostDiff =\n%s\nwant\n%s", got, want)
	}
	if d := HostDiff(nil, &sidecar.Host{}); len(d) != 1 || d[0] != (HostDelta{"host", "(absent)", "recorded"}) {
		t.Errorf("one host missing: %v", d)
	}
	if d := HostDiff(nil, nil); d != nil {
		t.Errorf("no hosts: %v", d)
	}
}

func TestWriteText(t *testing.T) {
	f := standardFixture(t)
	f.add("7.2.0", "abc1234", "TestHost", true, nil, func(r *sidecar.Result) { r.Host = &sidecar.Host{KernelRelease: "6.14.2"} })
	f.add("7.3.0", "abc1234", "TestHost", true, nil, func(r *sidecar.Result) { r.Host = &sidecar.Host{KernelRelease: "6.15.0"} })
	rep, err := Compare(f.read(), kernels("7.2", "7.3"))
	if err != nil {
		t.Fatal(err)
	}
	var plain, color, all bytes.Buffer
	if err := rep.WriteText(&plain, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	rep.WriteText(&color, TextOptions{Color: true})
	rep.WriteText(&all, TextOptions{All: true})
	out := plain.String()
	t.Logf("\n%s", out)
	for _, want := range []string{
		"A: kernel=7.2: 9 sidecars, 8 passed (excluded: 1 failed, 0 skipped)",
		"B: kernel=7.3: 8 sidecars, 6 passed (excluded: 1 failed, 1 skipped)",
		"sliced by kernel; paired by test (all rows: commit=abc1234 kernel_commit=- scheduler=scx_simple topology=1n2l2c1t work_type=spin flags=- source=local)",
		"TestSpread  worst_spread",
		"10 %", "20 %", "+10 (+100.0%)", "REGRESSION",
		"TestIter", "improvement",
		"+2 (from 0)",
		"payload.iops", "changed",
		"2 regressions, 1 improvement, 1 changed, 2 unchanged over 5 compared rows",
		"new in B (1):\n  TestNew [",
		"gone from A (1):\n  TestGone [",
		"not compared, a side had no passing run (1):\n  TestBroken [",
		"A: 1/1 passed  B: 0/2 passed, 1 failed, 1 skipped",
		"host context differs (A → B):\n  kernel_release: 6.14.2 → 6.15.0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	if strings.Contains(out, "\x1b[") || strings.Contains(out, "worst_gap_ms") {
		t.Errorf("plain text has colour or unchanged metrics")
	}
	if !strings.Contains(color.String(), red+"TestSpread") || !strings.Contains(color.String(), green+"TestIter") {
		t.Errorf("coloured text lacks colours:\n%s", color.String())
	}
	if !strings.Contains(all.String(), "worst_gap_ms") {
		t.Errorf("--all lacks unchanged metrics")
	}
	// JSON: no infinities, round-trips.
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Regressions != 2 || len(back.Rows) != len(rep.Rows) || back.Rows[1].Changes[0].Polarity != HigherBetter ||
		!strings.Contains(string(data), `"verdict":"regression"`) || !strings.Contains(string(data), `"polarity":"lower"`) {
		t.Errorf("JSON round trip: %s", data)
	}
}

func TestRegistry(t *testing.T) {
	reg := Registry()
	want := map[string]struct {
		p        Polarity
		abs, rel float64
	}{
		"worst_spread":                 {LowerBetter, 5, 0.25},
		"worst_gap_ms":                 {LowerBetter, 500, 0.5},
		"total_migrations":             {LowerBetter, 10, 0.3},
		"worst_migration_ratio":        {LowerBetter, 0.05, 0.2},
		"max_imbalance_ratio":          {LowerBetter, 1, 0.25},
		"max_dsq_depth":                {LowerBetter, 10, 0.5},
		"stall_count":                  {LowerBetter, 1, 0.5},
		"worst_p99_wake_latency_us":    {LowerBetter, 50, 0.25},
		"worst_median_wake_latency_us": {LowerBetter, 20, 0.25},
		"worst_wake_latency_cv":        {LowerBetter, 0.1, 0.25},
		"total_iterations":             {HigherBetter, 100, 0.1},
		"worst_mean_run_delay_us":      {LowerBetter, 50, 0.25},
		"worst_run_delay_us":           {LowerBetter, 100, 0.5},
		"worst_iterations_per_worker":  {HigherBetter, 10, 0.1},
		"worst_page_locality":          {HigherBetter, 0.05, 0.1},
	}
	seen := map[string]bool{}
	for _, m := range reg {
		if seen[m.Name] {
			t.Errorf("%s registered twice", m.Name)
		}
		seen[m.Name] = true
		if m.Doc == "" {
			t.Errorf("%s has no description", m.Name)
		}
		if w, ok := want[m.Name]; ok && (m.Polarity != w.p || m.Abs != w.abs || m.Rel != w.rel) {
			t.Errorf("%s: %+v, want %+v", m.Name, m, w)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("%s not registered", name)
		}
		if _, ok := Lookup(name); !ok {
			t.Errorf("Lookup(%s) failed", name)
		}
	}
	if _, ok := Lookup("payload.iops"); ok {
		t.Errorf("payload metric registered")
	}
	reg[0].Abs = -1
	if Registry()[0].Abs == -1 {
		t.Errorf("Registry returns the registry itself")
	}
	// Polarity text.
	for _, p := range []Polarity{Unknown, LowerBetter, HigherBetter} {
		b, _ := p.MarshalText()
		var q Polarity
		if err := q.UnmarshalText(b); err != nil || q != p {
			t.Errorf("polarity %v round trip: %v %v", p, q, err)
		}
	}
}

func TestValuesAndRuns(t *testing.T) {
	f := newFixture(t)
	f.add("7.2.0", "aaaaaaa", "TestA", true, nil, func(r *sidecar.Result) {
		r.Flags = []string{"b", "a"}
		r.Host = &sidecar.Host{Arch: "x86_64"}
	})
	f.add("7.2.0", "aaaaaaa", "TestB", false, nil)
	f.add("7.3.0", "bbbbbbb", "TestA", true, nil, func(r *sidecar.Result) { r.RunSource = sidecar.SourceCI })
	rs := f.read()
	vals := Values(rs)
	for d, want := range map[Dim]string{
		DimKernel: "[7.2.0 7.3.0]", DimCommit: "[aaaaaaa bbbbbbb]", DimFlags: "[- a,b]",
		DimSource: "[ci local]", DimKernelCommit: "[-]", DimScheduler: "[scx_simple]",
	} {
		if got := fmt.Sprint(vals[d]); got != want {
			t.Errorf("values of %s: %s, want %s", d, got, want)
		}
	}
	runs := Runs(rs)
	if len(runs) != 2 || runs[0].Name != "7.3.0-bbbbbbb" || runs[1].Tests != 2 || runs[1].Failed != 1 ||
		runs[1].Arch != "x86_64" || runs[0].Arch != None || fmt.Sprint(runs[1].RunIDs) != "[run-7.2.0-aaaaaaa]" {
		t.Errorf("runs: %+v", runs)
	}
	if !runs[1].First.Before(runs[1].Last) {
		t.Errorf("first/last: %+v", runs[1])
	}
	if sel := SelectRun(rs, "7.2.0-aaaaaaa"); len(sel) != 2 {
		t.Errorf("SelectRun by name: %d", len(sel))
	}
	if sel := SelectRun(rs, "run-7.3.0-bbbbbbb"); len(sel) != 1 {
		t.Errorf("SelectRun by run id: %d", len(sel))
	}
	if sel := SelectRun(rs, ""); len(sel) != 1 || sel[0].KernelVersion != "7.3.0" {
		t.Errorf("SelectRun newest: %+v", sel)
	}
}

// Gauntlet profiles pair across sides sliced by flags.
func TestComparePairsFlagProfiles(t *testing.T) {
	mk := func(profile string, flags []string, spread float64) sidecar.Result {
		return sidecar.Result{TestName: "TestQ/gauntlet/tiny-1llc/" + profile, Flags: flags, Passed: true, Topology: "1n1l4c1t",
			Stats: sidecar.Stats{Overall: sidecar.Metrics{sidecar.MetricWorstSpread: spread}}}
	}
	rs := []sidecar.Result{mk("default", nil, 10), mk("short-slice", []string{"short-slice"}, 30), mk("batch", []string{"batch"}, 10)}
	rep, err := Compare(rs, Options{A: Filter{DimFlags: {"none"}}, B: Filter{DimFlags: {"short-slice"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 || rep.Rows[0].Key.Test != "TestQ/gauntlet/tiny-1llc/{flags}" || rep.Regressions != 1 {
		t.Errorf("rows %+v, %d regressions", rep.Rows, rep.Regressions)
	}
}

// A run across kernels names each variant by its kernel; sliced by
// kernel, the variants pair without that element.
func TestComparePairsAcrossKernels(t *testing.T) {
	mk := func(label, version string, spread float64) sidecar.Result {
		return sidecar.Result{TestName: "TestQ/scx_qmap/1n2l2c1t/" + label, KernelLabel: label, KernelVersion: version, Passed: true,
			Topology: "1n2l2c1t", Scheduler: "scx_qmap", Stats: sidecar.Stats{Overall: sidecar.Metrics{sidecar.MetricWorstSpread: spread}}}
	}
	rs := []sidecar.Result{mk("build-6.12.118-tree-x", "6.12.118", 10), mk("debian-7.3.4_deb13-amd64", "7.3.4+deb13-amd64", 30)}
	rep, err := Compare(rs, Options{A: Filter{DimKernel: {"6.12"}}, B: Filter{DimKernel: {"7.3"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 || rep.Rows[0].Key.Test != "TestQ/scx_qmap/1n2l2c1t/{kernel}" || rep.Regressions != 1 {
		t.Errorf("rows %+v, %d regressions", rep.Rows, rep.Regressions)
	}
	// Not sliced by kernel, the names stay whole.
	if got := pairName(&rs[0], []Dim{DimCommit}); got != rs[0].TestName {
		t.Errorf("pairName not sliced by kernel = %q", got)
	}
}
