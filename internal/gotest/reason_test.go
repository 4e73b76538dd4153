package gotest

import (
	"testing"
)

func TestIsFrameworkLine(t *testing.T) {
	for line, want := range map[string]bool{
		"=== RUN   TestX/1n2l2c1t":                    true,
		"=== PAUSE TestX/1n2l2c1t":                    true,
		"=== CONT  TestX/1n2l2c1t":                    true,
		"=== NAME  TestX":                             true,
		"--- PASS: TestX (0.00s)":                     true,
		"--- FAIL: TestX/1n2l2c1t (4.20s)":            true,
		"    --- SKIP: TestX/gauntlet (0.00s)":        true,
		"PASS":                                        true,
		"FAIL":                                        true,
		"ok  \texample.com/p\t0.01s":                  true,
		"FAIL\texample.com/p [build failed]":          true,
		"?   \texample.com/p\t[no test files]":        true,
		"coverage: 81.2% of statements":               true,
		"testing: warning: no tests to run":           true,
		"ktstr budget: 3/5 tests, 13/15s used, 13/15": true,
		"":                                      true,
		"    host.go:262: ktstr: body: starved": false,
		"--- guest output ---":                  false,
		"panic: boom":                           false,
		"FAILED to attach":                      false,
		"okay then":                             false,
	} {
		if got := IsFrameworkLine(line); got != want {
			t.Errorf("IsFrameworkLine(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestKindReason(t *testing.T) {
	for out, want := range map[string]string{
		"    ktstr.go:233: ktstr: body: cg1: worker 3 starved\n":                                    "body: cg1: worker 3 starved",
		"    host.go:262: ktstr: scheduler-died: scx_simple exited with status 1\n        detail\n": "scheduler-died: scx_simple exited with status 1",
		"    host.go:262: ktstr: kernel-panic: Kernel panic - not syncing: Attempted to kill init!": "kernel-panic: Kernel panic - not syncing: Attempted to kill init!",
		"    host.go:262: ktstr: starved: cg0 worker 1: 0 work units\n":                             "starved: cg0 worker 1: 0 work units",
		// ktstr's notes are no failures: a topology label, words with spaces.
		"    ktstr.go:233: ktstr: 1n2l2c1t, scheduler eevdf, kernel 7.3.4, tcg, boot 1s\n":                 "",
		"    ktstr.go:233: ktstr: removed what the body left: cgroup cg0\n":                                "",
		"    ktstr.go:233: ktstr: scheduler scx_simple attached after 120ms (ops \"simple\")\n":            "",
		"    ktstr.go:233: ktstr: 1n1l1c1t, boot 1s\n    ktstr.go:240: ktstr: timeout: no result in 60s\n": "timeout: no result in 60s",
	} {
		got, ok := KindReason(out)
		if got != want || ok != (want != "") {
			t.Errorf("KindReason(%q) = %q, %v; want %q", out, got, ok, want)
		}
	}
}

func TestCleanOutput(t *testing.T) {
	in := "=== RUN   TestX/1n2l2c1t\n" +
		"=== PAUSE TestX/1n2l2c1t\n" +
		"=== CONT  TestX/1n2l2c1t\n" +
		"    ktstr.go:233: --- guest output ---\n" +
		"        === RUN   TestX\n" + // the guest's own log: quoted, kept
		"        --- PASS: TestX (0.08s)\n" +
		"    ktstr.go:233: ktstr: body: starved\r\n" +
		"\n" +
		"--- FAIL: TestX/1n2l2c1t (4.20s)\n"
	want := "ktstr.go:233: --- guest output ---\n" +
		"    === RUN   TestX\n" +
		"    --- PASS: TestX (0.08s)\n" +
		"ktstr.go:233: ktstr: body: starved"
	if got := CleanOutput(in); got != want {
		t.Errorf("CleanOutput:\n%q\nwant\n%q", got, want)
	}
	if got := CleanOutput("=== RUN   TestX\n--- PASS: TestX (0.00s)\n"); got != "" {
		t.Errorf("framework only: %q", got)
	}
}

func TestTestReason(t *testing.T) {
	for _, c := range []struct {
		name, pkg, test, want string
	}{
		{"kind line first", par, "TestTopo/1n1l2c2t", "body: worker 1 of cg0 starved"},
		{"plain t.Fatal", par, "TestNested/gauntlet/tiny-1llc/lowlat", "plain failure without ktstr kind"},
		{"parent's own failure", par, "TestParentFails", "parent's own check failed"},
		// The panic is reported in the parent's output; the variant's own
		// t.Log line is not the reason.
		{"panic in a subtest", panics, "TestBoom/1n2l2c1t", "panic: assignment to entry in nil map [recovered, repanicked]"},
		{"skip", skips, "TestGauntlet/gauntlet", "gauntlet variants run with KTSTR_GAUNTLET=1 (ktstr test --gauntlet)"},
		{"skip at top level", skips, "TestAllSkipped", "needs /dev/kvm"},
		{"passed", par, "TestTopo/1n2l2c1t", ""},
	} {
		r := load(t, "mixed.jsonl")
		x := findTest(t, r, c.pkg, c.test)
		if got := x.Reason(r.Package(c.pkg)); got != c.want {
			t.Errorf("%s: Reason = %q, want %q", c.name, got, c.want)
		}
	}

	// A real ktstr run: the note line ("ktstr: 1n2l1c1t, scheduler …") and
	// the sections come first; the reason is the failure line.
	r := load(t, "ktstr.jsonl")
	const pkg = "example.com/ktfail"
	for test, want := range map[string]string{
		"TestBodyFails/1n2l1c1t":  "body: cg1: worker 3 starved: 0 work units in 1s",
		"TestBodyPanics/1n1l1c1t": "body: test body panicked: assignment to entry in nil map",
		"TestBodyFails/gauntlet":  "gauntlet variants run with KTSTR_GAUNTLET=1 (ktstr test --gauntlet)",
	} {
		if got := findTest(t, r, pkg, test).Reason(r.Package(pkg)); got != want {
			t.Errorf("%s: Reason = %q, want %q", test, got, want)
		}
	}
}

func TestReasonFallbacks(t *testing.T) {
	r := NewRun()
	apply := func(action, test, out string) {
		r.Apply(Event{Action: action, Package: "p", Test: test, Output: out})
	}
	// Only ktstr's notes: the first of them is the reason.
	apply(ActionRun, "TestA", "")
	apply(ActionOutput, "TestA", "=== RUN   TestA\n")
	apply(ActionOutput, "TestA", "    ktstr.go:141: ktstr: no kernel given and none in the cache (/c); run `ktstr kernel fetch`\n")
	apply(ActionFail, "TestA", "")
	// A note, then a plain error: the error.
	apply(ActionRun, "TestB", "")
	apply(ActionOutput, "TestB", "    ktstr.go:233: ktstr: 1n1l1c1t, scheduler eevdf, boot 1s\n")
	apply(ActionOutput, "TestB", "    b_test.go:9: want 3 CPUs, got 2\n")
	apply(ActionFail, "TestB", "")
	// Nothing at all.
	apply(ActionRun, "TestC", "")
	apply(ActionFail, "TestC", "")
	p := r.Package("p")
	for test, want := range map[string]string{
		"TestA": "ktstr: no kernel given and none in the cache (/c); run `ktstr kernel fetch`",
		"TestB": "want 3 CPUs, got 2",
		"TestC": "",
	} {
		if got := findTest(t, r, "p", test).Reason(p); got != want {
			t.Errorf("%s: %q, want %q", test, got, want)
		}
	}
	// A package failing outside its tests (TestMain).
	r.Apply(Event{Action: ActionOutput, Package: "p", Output: "ktstr: KTSTR_SHARD: shard \"5/4\": want 1 ≤ K ≤ N\n"})
	r.Apply(Event{Action: ActionOutput, Package: "p", Output: "FAIL\tp\t0.01s\n"})
	r.Apply(Event{Action: ActionFail, Package: "p"})
	if got, want := p.Reason(), `ktstr: KTSTR_SHARD: shard "5/4": want 1 ≤ K ≤ N`; got != want {
		t.Errorf("package reason %q", got)
	}
}
