package gotest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// Fixtures in testdata are recorded `go test -json` streams: see
// testdata/README.md for how they were made.

// load replays a recorded stream into a Run.
func load(t *testing.T, name string) *Run {
	t.Helper()
	r := NewRun()
	replay(t, name, func(ev Event) { r.Apply(ev) })
	return r
}

// replay calls fn for each event of testdata/name.
func replay(t *testing.T, name string, fn func(Event)) {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := NewDecoder(f)
	for {
		ev, err := d.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		fn(ev)
	}
}

func findTest(t *testing.T, r *Run, pkg, name string) *Test {
	t.Helper()
	p := r.Package(pkg)
	if p == nil {
		t.Fatalf("no package %s", pkg)
	}
	for _, x := range p.Tests {
		if x.Name == name {
			return x
		}
	}
	t.Fatalf("no test %s in %s", name, pkg)
	return nil
}

// tree renders a package's tests: one per line, indented by depth, with
// status and whether it is a leaf.
func tree(p *Package) string {
	var b strings.Builder
	for _, t := range p.Tests {
		depth := strings.Count(t.Name, "/")
		leaf := ""
		if t.Leaf() {
			leaf = " leaf"
		}
		fmt.Fprintf(&b, "%s%s %s%s\n", strings.Repeat("  ", depth), t.Name, t.Status, leaf)
	}
	return b.String()
}

const (
	par       = "example.com/fix/par"
	panics    = "example.com/fix/panics"
	buildfail = "example.com/fix/buildfail"
	notests   = "example.com/fix/notests"
	skips     = "example.com/fix/skips"
)

func TestRunTree(t *testing.T) {
	r := load(t, "mixed.jsonl")
	var pkgs []string
	for _, p := range r.Packages {
		pkgs = append(pkgs, p.Path+" "+p.Status.String())
	}
	if got, want := strings.Join(pkgs, "\n"), strings.Join([]string{
		par + " FAIL", panics + " FAIL", buildfail + " FAIL", notests + " SKIP", skips + " PASS",
	}, "\n"); got != want {
		t.Errorf("packages:\n%s\nwant:\n%s", got, want)
	}
	want := `TestTopo FAIL
  TestTopo/1n2l2c1t PASS leaf
  TestTopo/1n1l2c2t FAIL leaf
  TestTopo/2n4l4c1t PASS leaf
TestPlain PASS leaf
TestNested FAIL
  TestNested/gauntlet FAIL
    TestNested/gauntlet/tiny-1llc FAIL
      TestNested/gauntlet/tiny-1llc/default PASS leaf
      TestNested/gauntlet/tiny-1llc/lowlat FAIL leaf
TestParentFails FAIL
  TestParentFails/child PASS leaf
`
	if got := tree(r.Package(par)); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
	// TestNeverRuns never started: the panic ended the binary first.
	if got, want := tree(r.Package(panics)), "TestOK PASS leaf\nTestBoom FAIL\n  TestBoom/1n2l2c1t FAIL leaf\n"; got != want {
		t.Errorf("panics tree:\n%s\nwant:\n%s", got, want)
	}
	if got := len(r.Package(par).Variants()); got != 7 {
		t.Errorf("%d variants in par, want 7", got)
	}
	// par: 5 passed, 2 failed; panics: 1 and 1; skips: 1 passed, 2
	// skipped. Tests with subtests do not count.
	if c := r.Counts(); c != (Counts{Done: 12, Passed: 7, Failed: 3, Skipped: 2}) {
		t.Errorf("counts %+v", c)
	}
}

func TestRunElapsedAndTimes(t *testing.T) {
	r := load(t, "mixed.jsonl")
	x := findTest(t, r, par, "TestTopo/1n2l2c1t")
	if x.Elapsed != 90*time.Millisecond {
		t.Errorf("elapsed %v", x.Elapsed)
	}
	if x.Started.IsZero() || !x.Resumed.After(x.Started) {
		t.Errorf("started %v resumed %v: a parallel test resumes after it starts", x.Started, x.Resumed)
	}
	if p := r.Package(par); p.Elapsed != 118*time.Millisecond || p.Started.IsZero() {
		t.Errorf("package elapsed %v started %v", p.Elapsed, p.Started)
	}
}

func TestRunParallelInterleaving(t *testing.T) {
	// Stop the replay just after TestTopo/2n4l4c1t passed: 1n2l2c1t has
	// continued and runs, 1n1l2c2t is still paused.
	r := NewRun()
	var snapshot []string
	replay(t, "mixed.jsonl", func(ev Event) {
		ch := r.Apply(ev)
		if ev.Test == "TestTopo/2n4l4c1t" && ev.Action == ActionPass {
			if len(ch.Finished) != 1 || ch.Finished[0].Name != ev.Test {
				t.Errorf("finished %v", ch.Finished)
			}
			for _, x := range r.Running() {
				snapshot = append(snapshot, x.Name)
			}
			snapshot = append(snapshot, findTest(t, r, par, "TestTopo/1n1l2c2t").Status.String())
		}
	})
	if got := strings.Join(snapshot, " "); got != "TestTopo/1n2l2c1t PAUSE" {
		t.Errorf("mid-run: %s", got)
	}
	// Output of interleaved tests goes to each its own.
	x := findTest(t, r, par, "TestTopo/1n1l2c2t")
	if strings.Contains(x.Output(), "2n4l4c1t") || !strings.Contains(x.Output(), "ktstr: body: worker 1 of cg0 starved") {
		t.Errorf("1n1l2c2t output:\n%s", x.Output())
	}
}

func TestRunOutputSplitAcrossEvents(t *testing.T) {
	r := load(t, "mixed.jsonl")
	out := findTest(t, r, par, "TestPlain").Output()
	// fmt.Print("partial "), then "line ", then Println: one line; then a
	// 5000-byte line test2json sent in several events.
	if !strings.Contains(out, "\npartial line done\n") {
		t.Errorf("partial writes not joined:\n%.200s", out)
	}
	if !strings.Contains(out, "\n"+strings.Repeat("x", 5000)+"\n") {
		t.Error("the long line was not put back together")
	}
}

func TestRunBuildFailure(t *testing.T) {
	r := load(t, "mixed.jsonl")
	p := r.Package(buildfail)
	if p.Status != Failed || p.FailedBuild != "example.com/fix/buildfail [example.com/fix/buildfail.test]" {
		t.Fatalf("status %v, failed build %q", p.Status, p.FailedBuild)
	}
	if !strings.Contains(p.BuildOutput, `bf.go:3:23: cannot use "not an int"`) {
		t.Errorf("build output %q", p.BuildOutput)
	}
	if got := p.Reason(); got != `buildfail/bf.go:3:23: cannot use "not an int" (untyped string constant) as int value in return statement` {
		t.Errorf("reason %q", got)
	}
	if len(p.Tests) != 0 {
		t.Errorf("tests %v", p.Tests)
	}
	if n := r.Package(notests); n.Status != Skipped || len(n.Tests) != 0 {
		t.Errorf("no test files: %v %v", n.Status, n.Tests)
	}
}

func TestRunCount(t *testing.T) {
	// -count=2: each test runs twice, each run a Test of its own.
	r := load(t, "count2.jsonl")
	if got, want := tree(r.Package(skips)), `TestGauntlet PASS
  TestGauntlet/1n2l2c1t PASS leaf
  TestGauntlet/gauntlet SKIP leaf
TestAllSkipped SKIP leaf
TestGauntlet PASS
  TestGauntlet/1n2l2c1t PASS leaf
  TestGauntlet/gauntlet SKIP leaf
TestAllSkipped SKIP leaf
`; got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
}

func TestRunUnfinished(t *testing.T) {
	// -timeout 2s: the binary panics with two parallel subtests running;
	// neither gets an outcome event, the package fails.
	r := NewRun()
	var finished []string
	replay(t, "timeout.jsonl", func(ev Event) {
		ch := r.Apply(ev)
		if ch.PackageDone {
			for _, x := range ch.Finished {
				finished = append(finished, x.Name)
			}
		}
	})
	if got := strings.Join(finished, " "); got != "TestHangs TestHangs/1n2l2c1t TestHangs/1n1l2c2t" {
		t.Errorf("finished by the package's end: %s", got)
	}
	p := r.Package("example.com/fix/timeout")
	for _, name := range []string{"TestHangs/1n2l2c1t", "TestHangs/1n1l2c2t"} {
		x := findTest(t, r, p.Path, name)
		if x.Status != Failed || !x.Unfinished || x.Elapsed < 2*time.Second {
			t.Errorf("%s: %v unfinished=%v elapsed=%v", name, x.Status, x.Unfinished, x.Elapsed)
		}
		if got := x.Reason(p); got != "did not finish: panic: test timed out after 2s" {
			t.Errorf("%s: reason %q", name, got)
		}
	}
}

func TestRunFinish(t *testing.T) {
	// A stream cut short (go killed): Finish fails what is open.
	now := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	r := NewRun()
	r.Now = func() time.Time { return now }
	r.Apply(Event{Action: ActionStart, Package: "p"})
	r.Apply(Event{Action: ActionRun, Package: "p", Test: "TestA", Time: now.Add(-4 * time.Second)})
	r.Apply(Event{Action: ActionRun, Package: "p", Test: "TestA/x", Time: now.Add(-3 * time.Second)})
	r.Apply(Event{Action: ActionPause, Package: "p", Test: "TestA/x"})
	if got := len(r.Running()); got != 0 {
		t.Errorf("%d running; a paused test does not run", got)
	}
	done := r.Finish()
	if len(done) != 2 {
		t.Fatalf("finished %v", done)
	}
	x := done[1]
	if x.Name != "TestA/x" || x.Status != Failed || !x.Unfinished || x.Elapsed != 3*time.Second {
		t.Errorf("%+v", x)
	}
	if r.Package("p").Status != Failed {
		t.Error("package not failed")
	}
	if got := x.Reason(r.Package("p")); got != "did not finish: the test process ended first" {
		t.Errorf("reason %q", got)
	}
}

func TestRunningOrder(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := NewRun()
	for i, name := range []string{"TestA/b", "TestA/a", "TestA/c"} {
		r.Apply(Event{Action: ActionRun, Package: "p", Test: name, Time: t0.Add(time.Duration(i) * time.Second)})
		r.Apply(Event{Action: ActionPause, Package: "p", Test: name, Time: t0.Add(time.Duration(i) * time.Second)})
	}
	// Resumed in another order than started: the longest running first.
	r.Apply(Event{Action: ActionCont, Package: "p", Test: "TestA/c", Time: t0.Add(5 * time.Second)})
	r.Apply(Event{Action: ActionCont, Package: "p", Test: "TestA/b", Time: t0.Add(6 * time.Second)})
	var names []string
	for _, x := range r.Running() {
		names = append(names, x.Name)
	}
	if got := strings.Join(names, " "); got != "TestA/c TestA/b" {
		t.Errorf("running %s", got)
	}
}
