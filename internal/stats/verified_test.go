package stats

import (
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/sidecar"
)

// TestVerifiedInsns compares the verified instructions of a scheduler's
// BPF programs between two commits: growth past both thresholds (+10 % and
// +100 instructions) regresses, smaller growth or a shrink of a small
// callback does not, and a shrink past them improves.
func TestVerifiedInsns(t *testing.T) {
	f := newFixture(t)
	enq, disp, run := sidecar.VerifiedInsnsMetric("simple_enqueue"), sidecar.VerifiedInsnsMetric("qmap_dispatch"), sidecar.VerifiedInsnsMetric("simple_running")
	f.add("7.3.4", "aaaaaaa", "TestX", true, sidecar.Metrics{
		enq: 1000, disp: 19242, run: 13, sidecar.MetricTotalVerifiedInsns: 20255,
	})
	f.add("7.3.4", "bbbbbbb", "TestX", true, sidecar.Metrics{
		enq:                              1150,  // +15 %, +150: regression
		disp:                             17000, // -12 %, -2242: improvement
		run:                              20,    // +54 % but +7 instructions: unchanged
		sidecar.MetricTotalVerifiedInsns: 18170, // -10.3 %: improvement
	})
	rep, err := Compare(f.read(), Options{A: Filter{DimCommit: {"aaaaaaa"}}, B: Filter{DimCommit: {"bbbbbbb"}}})
	if err != nil {
		t.Fatal(err)
	}
	for metric, want := range map[string]Verdict{
		enq: Regression, run: Unchanged, disp: Improvement, sidecar.MetricTotalVerifiedInsns: Improvement,
	} {
		c := change(t, rep, "TestX", metric)
		if c.Verdict != want || c.Polarity != LowerBetter || c.Unit != "insns" || c.RelThreshold != 0.10 || c.AbsThreshold != 100 {
			t.Errorf("%s: %+v, want %s, lower better, 10 %% and 100 insns", metric, c, want)
		}
	}
	if rep.Regressions != 1 || rep.Err() == nil {
		t.Errorf("%d regressions (%v), want 1", rep.Regressions, rep.Err())
	}
	// The total first (the registry's order), then the programs by name.
	var order []string
	for _, c := range rowChanges(rep, "TestX") {
		order = append(order, c.Metric)
	}
	if got, want := strings.Join(order, " "), strings.Join([]string{sidecar.MetricTotalVerifiedInsns, disp, enq, run}, " "); got != want {
		t.Errorf("order %s, want %s", got, want)
	}
}

// rowChanges is the changes of test's row.
func rowChanges(rep *Report, test string) []Change {
	for _, row := range rep.Rows {
		if row.Key.Test == test {
			return row.Changes
		}
	}
	return nil
}

// TestVerifiedInsnsLookup: the family answers for any program's name, not
// for its bare prefix, and a policy file can set one program's threshold.
func TestVerifiedInsnsLookup(t *testing.T) {
	name := sidecar.VerifiedInsnsMetric("qmap_cpuctl_set_weight")
	m, ok := Lookup(name)
	if !ok || m.Name != name || m.Polarity != LowerBetter || m.Rel != 0.10 {
		t.Errorf("Lookup(%s) = %+v, %v", name, m, ok)
	}
	if _, ok := Lookup(sidecar.MetricVerifiedInsnsPrefix); ok {
		t.Errorf("the bare prefix is registered")
	}
	pol, err := ParsePolicy([]byte(`{"per_metric_percent": {"` + name + `": 50}}`))
	if err != nil {
		t.Fatal(err)
	}
	if m := (Thresholds{Policy: pol}).For(name); m.Rel != 0.5 || m.Polarity != LowerBetter {
		t.Errorf("policy: %+v", m)
	}
	reg := Registry()
	if last := reg[len(reg)-1]; last.Name != "verified_insns.<program>" {
		t.Errorf("the registry ends with %q, want the family", last.Name)
	}
}
