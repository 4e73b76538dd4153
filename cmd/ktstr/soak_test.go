package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/internal/gotest"
)

// TestSoakReport replays a recorded run with two failed variants twice:
// each round is reported, and the failures are counted by kind and test.
func TestSoakReport(t *testing.T) {
	var calls [][]string
	o := &soakOptions{rounds: 2, goArgs: gotest.ParseArgs([]string{"-run", "TestBody"}), goCmd: fakeGo(t, "ktstr.jsonl", 1, &calls)}
	var out bytes.Buffer
	failed, err := runSoak(context.Background(), o, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 {
		t.Fatalf("go ran %d times, want 2", len(calls))
	}
	if got := strings.Join(calls[0][:5], " "); got != "test -json -count=1 -run TestBody" {
		t.Errorf("go %s", got)
	}
	if !strings.Contains(strings.Join(calls[0], " "), "./examples/schedulers") {
		t.Errorf("default packages missing: %q", calls[0])
	}
	report := out.String()
	if failed == 0 {
		t.Fatalf("no failures counted:\n%s", report)
	}
	for _, want := range []string{
		"round 1/2: ", "round 2/2: ", "FAILED TestBodyFails/1n2l1c1t (body)",
		"0 of them infrastructure",
		"TestBodyPanics/1n1l1c1t  2      body  test body panicked: assignment to entry in nil map",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}
