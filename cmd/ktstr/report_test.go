package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/report/reporttest"
	"github.com/ktstr-go/ktstr/sidecar"
)

func runReportCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	c := reportCmd()
	var out, errOut bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&errOut)
	c.SetArgs(args)
	c.SilenceUsage, c.SilenceErrors = true, true
	err := c.Execute()
	return out.String(), errOut.String(), err
}

// reportFixture writes two runs: an older one of a passing test, and the
// fixture run (failing, passing, bare and skipped variants); plus a
// corrupt file and one of a newer schema.
func reportFixture(t *testing.T) string {
	root := t.TempDir()
	w := sidecar.NewWriter(filepath.Join(root, sidecar.RunDirName("7.3.4", "abc1234")), reporttest.RunID)
	for _, r := range reporttest.Run() {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	old := reporttest.Passing("TestOld/1n1l1c1t")
	old.RunID, old.Timestamp, old.ProjectCommit = "run-old", reporttest.At.Add(-time.Hour), "def5678"
	if err := sidecar.NewWriter(filepath.Join(root, "old"), "run-old").Write(old); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(root, "bad"+sidecar.FileSuffix)
	if err := os.WriteFile(bad, []byte(`{"schema": 1, "test_name": `), 0o644); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(root, "newer"+sidecar.FileSuffix)
	if err := os.WriteFile(newer, []byte(`{"schema": 99, "test_name": "TestFuture"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestReportCommand(t *testing.T) {
	root := reportFixture(t)
	page := filepath.Join(t.TempDir(), "r.html")
	out, errOut, err := runReportCmd(t, root, "-o", page)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "wrote "+page+": 5 variants (3 passed, 1 failed, 1 skipped)") {
		t.Errorf("stdout %q", out)
	}
	for _, want := range []string{"left out " + filepath.Join(root, "bad.ktstr.json"), "left out " + filepath.Join(root, "newer.ktstr.json"), "a newer ktstr wrote it"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TestStall/1n1l4c1t", "TestOld/1n1l1c1t", "bad.ktstr.json</code>", "newer.ktstr.json</code>"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the page lacks %q", want)
		}
	}

	// --run and --commit select.
	if out, _, err := runReportCmd(t, root, "--run", "run-old", "-o", page); err != nil || !strings.Contains(out, ": 1 variants") {
		t.Errorf("--run: %q, %v", out, err)
	}
	if out, _, err := runReportCmd(t, root, "--commit", "abc1", "-o", page); err != nil || !strings.Contains(out, ": 4 variants") {
		t.Errorf("--commit: %q, %v", out, err)
	}
}

// Without a directory, the latest run under the runs root.
func TestReportLatest(t *testing.T) {
	root := reportFixture(t)
	t.Setenv(sidecar.EnvTargetDir, filepath.Dir(root))
	if err := os.Rename(root, filepath.Join(filepath.Dir(root), "ktstr")); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "r.html")
	out, _, err := runReportCmd(t, "-o", page)
	if err != nil || !strings.Contains(out, ": 4 variants") {
		t.Errorf("latest run: %q, %v", out, err)
	}
}

// Bad input: a clear error, nothing written.
func TestReportBadInput(t *testing.T) {
	root := reportFixture(t)
	empty := t.TempDir()
	outDir := t.TempDir()
	page := filepath.Join(outDir, "r.html")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{empty, "-o", page}, "no result files under " + empty},
		{[]string{filepath.Join(empty, "nope"), "-o", page}, "does not exist"},
		{[]string{root, "--run", "nope", "-o", page}, "no result files of run nope"},
		{[]string{root, "--commit", "ab", "-o", page}, "give 4 or more characters"},
		{[]string{root}, "-o FILE is required"},
		{[]string{root, "-o", filepath.Join(outDir, "no", "r.html")}, "cannot write the report to"},
		{[]string{root, "-o", outDir}, "it is a directory"},
	} {
		_, _, err := runReportCmd(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.args, err, tc.want)
		}
	}
	if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
		t.Errorf("left in the output directory: %v", ents)
	}
}

func TestStatsCompareHTML(t *testing.T) {
	root := statsFixture(t)
	page := filepath.Join(t.TempDir(), "c.html")
	_, errOut, err := runStats(t, "compare", "--dir", root, "--a-kernel", "7.2", "--b-kernel", "7.3", "--color", "never", "--html", page)
	if err == nil || err.Error() != "1 regression" {
		t.Errorf("err = %v, want 1 regression", err)
	}
	b, rerr := os.ReadFile(page)
	if rerr != nil {
		t.Fatalf("no page: %v (stderr %q)", rerr, errOut)
	}
	if !strings.Contains(string(b), "▲ regression") || !strings.Contains(string(b), "worst_spread") {
		t.Error("the page lacks the regression")
	}
	_, _, err = runStats(t, "compare", "--dir", root, "--a-kernel", "7.2", "--b-kernel", "7.3", "--html", filepath.Join(root, "no", "c.html"))
	if err == nil || !strings.Contains(err.Error(), "cannot write the report") {
		t.Errorf("unwritable --html: err = %v", err)
	}
}
