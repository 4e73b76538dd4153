package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/stats"
	"github.com/ktstr-go/ktstr/sidecar"
)

// runStats runs `ktstr stats args…` and returns its output and error.
func runStats(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	c := statsCmd()
	var out, errOut bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errOut)
	c.SetArgs(args)
	c.SilenceUsage = true
	c.SilenceErrors = true
	err := c.Execute()
	return out.String(), errOut.String(), err
}

// statsFixture writes two runs, kernel 7.2.0 and 7.3.0, of two tests; on
// 7.3.0 TestSlow's spread doubles.
func statsFixture(t *testing.T) string {
	root := t.TempDir()
	at := time.Date(2026, 4, 27, 10, 0, 0, 0, time.UTC)
	for i, k := range []string{"7.2.0", "7.3.0"} {
		w := sidecar.NewWriter(filepath.Join(root, sidecar.RunDirName(k, "abc1234")), "run-"+k)
		host := &sidecar.Host{KernelRelease: "6.1.0", Arch: "x86_64", OnlineCPUs: 2 + i}
		for _, r := range []sidecar.Result{
			{TestName: "TestSlow/1n2l2c1t", Passed: true, Stats: sidecar.Stats{Overall: sidecar.Metrics{sidecar.MetricWorstSpread: float64(10 * (i + 1))}}},
			{TestName: "TestFine/1n2l2c1t", Passed: true, Stats: sidecar.Stats{Overall: sidecar.Metrics{sidecar.MetricTotalIterations: 1000}}},
		} {
			r.KernelVersion, r.ProjectCommit, r.Topology, r.Scheduler = k, "abc1234", "1n2l2c1t", "eevdf"
			r.Host, r.RunSource, r.Timestamp = host, sidecar.SourceLocal, at.Add(time.Duration(i)*time.Hour)
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func TestStatsCompareCommand(t *testing.T) {
	root := statsFixture(t)
	out, _, err := runStats(t, "compare", "--dir", root, "--a-kernel", "7.2", "--b-kernel", "7.3", "--color", "never")
	if err == nil || err.Error() != "1 regression" || !errors.Is(err, stats.ErrRegression) {
		t.Errorf("err = %v, want 1 regression", err)
	}
	for _, want := range []string{"TestSlow/1n2l2c1t  worst_spread  10 %  20 %  +10 (+100.0%)  REGRESSION",
		"1 regression, 0 improvements", "online_cpus: 2 → 3"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Reversed: an improvement, exit status 0.
	out, _, err = runStats(t, "compare", "--dir", root, "--a-kernel", "7.3", "--b-kernel", "7.2", "--json")
	if err != nil {
		t.Fatalf("reversed: %v", err)
	}
	var rep stats.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Improvements != 1 || rep.Regressions != 0 {
		t.Errorf("JSON: %v %+v", err, rep)
	}
	// A threshold above the change: no regression.
	if _, _, err := runStats(t, "compare", "--dir", root, "--a-kernel", "7.2", "--b-kernel", "7.3", "--threshold", "200"); err != nil {
		t.Errorf("--threshold 200: %v", err)
	}
	// A policy file.
	pol := filepath.Join(t.TempDir(), "policy.json")
	os.WriteFile(pol, []byte(`{"per_metric_percent": {"worst_spread": 500}}`), 0o644)
	if _, _, err := runStats(t, "compare", "--dir", root, "--a-kernel", "7.2", "--b-kernel", "7.3", "--policy", pol); err != nil {
		t.Errorf("--policy: %v", err)
	}
	os.WriteFile(pol, []byte(`{"bogus": 1}`), 0o644)
	if _, _, err := runStats(t, "compare", "--dir", root, "--a-kernel", "7.2", "--b-kernel", "7.3", "--policy", pol); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("bad policy: %v", err)
	}
	// Shared --kernel makes the sides alike.
	if _, _, err := runStats(t, "compare", "--dir", root, "--kernel", "7.2"); err == nil || !strings.Contains(err.Error(), "same sidecars") {
		t.Errorf("alike sides: %v", err)
	}
	// Empty directory.
	if _, _, err := runStats(t, "compare", "--dir", t.TempDir(), "--a-kernel", "1", "--b-kernel", "2"); err == nil || !strings.Contains(err.Error(), "no sidecars") {
		t.Errorf("empty dir: %v", err)
	}
	// A sidecar of a newer schema is refused.
	os.WriteFile(filepath.Join(root, "future"+sidecar.FileSuffix), []byte(`{"schema": 99}`), 0o644)
	if _, _, err := runStats(t, "compare", "--dir", root, "--a-kernel", "7.2", "--b-kernel", "7.3"); err == nil || !errors.Is(err, sidecar.ErrNewerSchema) {
		t.Errorf("newer schema: %v", err)
	}
	// A corrupt one is skipped with a warning.
	os.Remove(filepath.Join(root, "future"+sidecar.FileSuffix))
	os.WriteFile(filepath.Join(root, "bad"+sidecar.FileSuffix), []byte(`{`), 0o644)
	_, warn, err := runStats(t, "compare", "--dir", root, "--a-kernel", "7.2", "--b-kernel", "7.3")
	if !errors.Is(err, stats.ErrRegression) || !strings.Contains(warn, "skipped") || !strings.Contains(warn, "bad.ktstr.json") {
		t.Errorf("corrupt sidecar: %v, %q", err, warn)
	}
}

func TestStatsListCommands(t *testing.T) {
	root := statsFixture(t)
	out, _, err := runStats(t, "list", "--dir", root)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "RUN") || !strings.HasPrefix(lines[1], "7.3.0-abc1234") || !strings.Contains(lines[2], "x86_64") {
		t.Errorf("list:\n%s", out)
	}
	_, hint, err := runStats(t, "list", "--dir", filepath.Join(t.TempDir(), "none"))
	if err != nil || !strings.Contains(hint, "no sidecars") {
		t.Errorf("list of nothing: %v %q", err, hint)
	}

	out, _, err = runStats(t, "list-metrics")
	if err != nil || !strings.Contains(out, "worst_spread") || !regexp.MustCompile(`worst_spread +lower +5 +25% +%`).MatchString(out) || !strings.Contains(out, "payload.*") {
		t.Errorf("list-metrics: %v\n%s", err, out)
	}
	out, _, err = runStats(t, "list-metrics", "--json")
	var ms []stats.Metric
	if err != nil || json.Unmarshal([]byte(out), &ms) != nil || len(ms) != len(stats.Registry())+1 {
		t.Errorf("list-metrics --json: %v\n%s", err, out)
	}

	out, _, err = runStats(t, "list-values", "--dir", root, "--json")
	var vals map[string][]string
	if err != nil || json.Unmarshal([]byte(out), &vals) != nil || strings.Join(vals["kernel"], " ") != "7.2.0 7.3.0" || strings.Join(vals["flags"], " ") != "-" {
		t.Errorf("list-values: %v\n%s", err, out)
	}
	out, _, err = runStats(t, "list-values", "--dir", root)
	if err != nil || !strings.Contains(out, "kernel         --kernel         7.2.0  7.3.0") {
		t.Errorf("list-values:\n%s", out)
	}

	out, _, err = runStats(t, "show-host", "--dir", root, "--run", "7.2.0-abc1234")
	if err != nil || !strings.Contains(out, "online_cpus: 2\n") || !strings.Contains(out, "cpu_model: (unknown)") {
		t.Errorf("show-host: %v\n%s", err, out)
	}
	out, _, err = runStats(t, "show-host", "--dir", root)
	if err != nil || !strings.Contains(out, "online_cpus: 3\n") {
		t.Errorf("show-host, newest run: %v\n%s", err, out)
	}
	if _, _, err := runStats(t, "show-host", "--dir", root, "--run", "nope"); err == nil {
		t.Errorf("show-host of a missing run succeeded")
	}
}
