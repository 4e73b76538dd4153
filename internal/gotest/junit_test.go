package gotest

import (
	"encoding/xml"
	"strings"
	"testing"
)

// parseJUnit reads a report back with encoding/xml into the same types.
func parseJUnit(t *testing.T, data []byte) *JUnitSuites {
	t.Helper()
	var s JUnitSuites
	if err := xml.Unmarshal(data, &s); err != nil {
		t.Fatalf("the report does not parse: %v\n%s", err, data)
	}
	return &s
}

func TestJUnitStructure(t *testing.T) {
	r := load(t, "mixed.jsonl")
	data, err := MarshalJUnit(r.JUnit())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), xml.Header) {
		t.Errorf("no XML header")
	}
	s := parseJUnit(t, data)
	if s.Name != "ktstr" || s.Tests != 14 || s.Failures != 5 || s.Skipped != 2 || s.Errors != 0 {
		t.Errorf("testsuites: %+v", *s)
	}
	// One suite per package with entries; notests has none.
	var names []string
	for _, suite := range s.Suites {
		names = append(names, suite.Name)
		if suite.Tests != len(suite.Cases) {
			t.Errorf("%s: tests=%d, %d cases", suite.Name, suite.Tests, len(suite.Cases))
		}
		for _, c := range suite.Cases {
			if c.Classname != suite.Name {
				t.Errorf("%s: classname %q", c.Name, c.Classname)
			}
			if c.Time == "" {
				t.Errorf("%s: no time", c.Name)
			}
		}
	}
	if got := strings.Join(names, " "); got != strings.Join([]string{par, panics, buildfail, skips}, " ") {
		t.Errorf("suites %s", got)
	}
	cases := map[string]JUnitCase{}
	for _, suite := range s.Suites {
		for _, c := range suite.Cases {
			cases[suite.Name+" "+c.Name] = c
		}
	}

	c := cases[par+" TestTopo/1n1l2c2t"]
	if c.Failure == nil || c.Failure.Message != "body: worker 1 of cg0 starved" || c.Time != "0.060" {
		t.Fatalf("failed case: %+v", c)
	}
	// The failure holds the output, newlines and all, framework lines gone.
	if want := "par_test.go:17: --- guest output ---\n    worker 0: 1234 units\n"; !strings.Contains(c.Failure.Text, want) || strings.Contains(c.Failure.Text, "=== RUN") {
		t.Errorf("failure text:\n%s", c.Failure.Text)
	}
	if c.SystemOut != nil || c.Skipped != nil {
		t.Errorf("failed case has system-out or skipped: %+v", c)
	}

	c = cases[skips+" TestGauntlet/gauntlet"]
	if c.Skipped == nil || c.Skipped.Message != "gauntlet variants run with KTSTR_GAUNTLET=1 (ktstr test --gauntlet)" || c.Failure != nil {
		t.Errorf("skipped case: %+v", c)
	}

	c = cases[par+" TestTopo/2n4l4c1t"]
	if c.Failure != nil || c.Skipped != nil || c.SystemOut == nil || !strings.Contains(c.SystemOut.Text, "ktstr: 2n4l4c1t, scheduler EEVDF") {
		t.Errorf("passed case: %+v", c)
	}

	c = cases[buildfail+" "+BuildFailedName]
	if c.Failure == nil || c.Failure.Type != "build" || !strings.Contains(c.Failure.Text, "cannot use") {
		t.Errorf("build failure: %+v", c)
	}

	c = cases[panics+" TestBoom/1n2l2c1t"]
	if c.Failure == nil || !strings.Contains(c.Failure.Text, "goroutine 6 [running]") {
		t.Errorf("panic case: %+v", c)
	}

	// Package output outside tests goes to the suite's system-out ("FAIL"
	// and "ok" lines do not).
	for _, suite := range s.Suites {
		if suite.SystemOut != nil {
			t.Errorf("%s: system-out %q", suite.Name, suite.SystemOut.Text)
		}
		if suite.Timestamp == "" {
			t.Errorf("%s: no timestamp", suite.Name)
		}
	}
}

func TestJUnitUnsafeText(t *testing.T) {
	r := NewRun()
	r.Apply(Event{Action: ActionRun, Package: "p", Test: "TestA"})
	r.Apply(Event{Action: ActionOutput, Package: "p", Test: "TestA", Output: "    a_test.go:1: ktstr: kernel-panic: \x1b[31mOops\x1b[0m\x00 <&> ]]> \xff\n"})
	r.Apply(Event{Action: ActionFail, Package: "p", Test: "TestA", Elapsed: 1})
	r.Apply(Event{Action: ActionFail, Package: "p", Elapsed: 1})
	data, err := MarshalJUnit(r.JUnit())
	if err != nil {
		t.Fatal(err)
	}
	s := parseJUnit(t, data)
	f := s.Suites[0].Cases[0].Failure
	if want := "kernel-panic: Oops\uFFFD <&> ]]> \uFFFD"; f.Message != want {
		t.Errorf("message %q, want %q", f.Message, want)
	}
	if want := "a_test.go:1: ktstr: kernel-panic: Oops\uFFFD <&> ]]> \uFFFD"; f.Text != want {
		t.Errorf("text %q, want %q", f.Text, want)
	}
}
