package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestVerifierCommand loads scx_simple with `ktstr verifier` in a real VM
// and reads its table, then gives it a program that is not a scheduler.
func TestVerifierCommand(t *testing.T) {
	simple := vmPrereqs(t)
	bin := ktstrBinary(t)
	t.Run("scx_simple", func(t *testing.T) {
		t.Parallel()
		out, code := runKtstr(t, bin, t.TempDir(), "verifier", simple)
		if code != 0 {
			t.Fatalf("ktstr verifier exited %d:\n%s", code, out)
		}
		// name, type, verified insns, xlated, jited, runs, avg ns: the
		// callbacks that run on every switch ran.
		for _, name := range []string{"simple_dispatch", "simple_running"} {
			re := regexp.MustCompile(`(?m)^` + name + `\s+StructOps\s+[1-9]\d*\s+\d+\s+\d+\s+[1-9]\d*\s+\d+\s*$`)
			if !re.MatchString(out) {
				t.Errorf("no row for %s with verified instructions and runs:\n%s", name, out)
			}
		}
		if !regexp.MustCompile(`total \(\d+ programs\)\s+[1-9]\d*`).MatchString(out) {
			t.Errorf("no total row:\n%s", out)
		}
	})
	t.Run("NotAScheduler", func(t *testing.T) {
		t.Parallel()
		out, code := runKtstr(t, bin, t.TempDir(), "verifier", "/bin/true")
		if code != 1 || !strings.Contains(out, "exited before attaching") || !strings.Contains(out, "is /bin/true a sched_ext scheduler?") {
			t.Errorf("ktstr verifier /bin/true exited %d; want 1 saying it is not a scheduler:\n%s", code, out)
		}
	})
}
