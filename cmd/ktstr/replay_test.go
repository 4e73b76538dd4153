package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/sidecar"
)

func TestReplayOf(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	r := func(run, name, pkg, kernel string, passed, skipped bool, at time.Duration) sidecar.Result {
		return sidecar.Result{RunID: run, TestName: name, Package: pkg, KernelVersion: kernel, Passed: passed, Skipped: skipped,
			ProjectCommit: "abc1234", Timestamp: t0.Add(at)}
	}
	results := []sidecar.Result{
		r("old", "TestOld/1n1l2c1t", ".", "7.2", false, false, 0),
		r("new", "TestQmap/1n2l2c1t", "examples/schedulers", "7.3", false, false, time.Hour),
		r("new", "TestQmap/gauntlet/tiny-1llc/none", "examples/schedulers", "7.3", false, false, time.Hour),
		r("new", "TestSimple/1n2l2c1t", "examples/schedulers", "7.3", true, false, time.Hour),
		r("new", "TestVM/Spinners/1n1l2c1t", ".", "7.3", false, true, time.Hour),
		r("new", "TestVM/Trivial/1n1l2c1t", ".", "7.3", false, false, time.Hour),
	}
	p, err := replayOf(results, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Run != "new" || !p.Gauntlet || !slices.Equal(p.Kernels, []string{"7.3"}) ||
		!slices.Equal(p.Failed, []string{"TestQmap/1n2l2c1t", "TestQmap/gauntlet/tiny-1llc/none", "TestVM/Trivial/1n1l2c1t"}) ||
		!slices.Equal(p.Packages, []string{".", "examples/schedulers"}) || p.RunPattern != "^(TestQmap|TestVM)$" {
		t.Errorf("latest run: %+v", p)
	}
	p, err = replayOf(results, "old")
	if err != nil || p.Gauntlet || !slices.Equal(p.Failed, []string{"TestOld/1n1l2c1t"}) || !slices.Equal(p.Kernels, []string{"7.2"}) {
		t.Errorf("run old: %+v, %v", p, err)
	}
	if _, err := replayOf(nil, ""); !errors.Is(err, errNoRuns) {
		t.Errorf("no results: %v", err)
	}
	if _, err := replayOf(results, "nope"); err == nil || !strings.Contains(err.Error(), "no result files of run nope") {
		t.Errorf("unknown run: %v", err)
	}
	old := results[0]
	old.Package = ""
	if _, err := replayOf([]sidecar.Result{old}, ""); err == nil || !strings.Contains(err.Error(), "does not say its package") {
		t.Errorf("no package: %v", err)
	}
	var out strings.Builder
	replayOutcome(&out, &replayPlan{Run: "new", Failed: []string{"A", "B", "C"}},
		[]sidecar.Result{{TestName: "A", Passed: true}, {TestName: "B"}})
	for _, want := range []string{"1 of 3 failed variants pass now", "now passes:    A", "still fails:   B", "did not run:   C"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("outcome lacks %q:\n%s", want, out.String())
		}
	}
}
