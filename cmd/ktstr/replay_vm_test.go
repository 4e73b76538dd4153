package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/sidecar"
)

// TestReplayEndToEnd runs a scratch module's suite with `ktstr test`
// while one test fails, mends it, and replays the run: exactly the failed
// variant runs again, and the summary says it passes now.
func TestReplayEndToEnd(t *testing.T) {
	vmPrereqs(t)
	bin := ktstrBinary(t)
	src, err := os.ReadFile("testdata/replay/replay_test.go.txt")
	if err != nil {
		t.Fatal(err)
	}
	dir, write, run := scratchModule(t, "replay_test.go", src)
	run("go", "mod", "tidy")
	write("FAIL", nil)
	out, code := runKtstr(t, bin, dir, "test", "--", ".")
	if code == 0 || !strings.Contains(out, "TestFlaky") {
		t.Fatalf("the first run exited %d; want a failure of TestFlaky:\n%s", code, out)
	}
	if err := os.Remove(filepath.Join(dir, "FAIL")); err != nil {
		t.Fatal(err)
	}
	out, code = runKtstr(t, bin, dir, "test", "--replay")
	if code != 0 || !strings.Contains(out, "1 of 1 failed variants pass now") || !strings.Contains(out, "now passes:    TestFlaky/1n1l2c1t") {
		t.Fatalf("the replay exited %d; want 0 and TestFlaky passing now:\n%s", code, out)
	}
	results, err := sidecar.ReadDir(filepath.Join(dir, "target", "ktstr"))
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string][]string{}
	for _, r := range results {
		if !r.Skipped {
			runs[r.RunID] = append(runs[r.RunID], r.TestName)
		}
	}
	if len(runs) != 2 {
		t.Fatalf("runs %v; want the first and the replay", runs)
	}
	for id, names := range runs {
		if len(names) == 1 && names[0] != "TestFlaky/1n1l2c1t" {
			t.Errorf("run %s ran %v; the replay must run only TestFlaky/1n1l2c1t", id, names)
		}
	}
	out, code = runKtstr(t, bin, dir, "test", "--replay")
	if code != 0 || !strings.Contains(out, "had no failed variants; nothing to replay") {
		t.Errorf("replaying a green run exited %d:\n%s", code, out)
	}
	out, code = runKtstr(t, bin, dir, "test", "--replay", "--", "-run", "TestSteady")
	if code == 0 || !strings.Contains(out, "--replay picks the variants itself") {
		t.Errorf("--replay with -run exited %d:\n%s", code, out)
	}
}
