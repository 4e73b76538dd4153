package ktstr

// TEMPORARY (ktstr-sched fault runs); to be deleted.

import (
	"strings"
	"testing"
	"time"
)

func ZZFaultRun(t *testing.T, spec Spec, body Body, kind string, want ...string) {
	t.Helper()
	topo := spec.topologies()[0]
	t.Run(topo.String(), func(t *testing.T) {
		if inGuest() {
			guestRun(t, spec, topo, body)
			return
		}
		t0 := time.Now()
		r, err := hostBoot(t.Name(), spec, topo, "")
		if err != nil {
			t.Fatal(err)
		}
		fs := r.failures()
		t.Logf("run took %v", time.Since(t0).Round(time.Millisecond))
		for i, f := range fs {
			t.Logf("failure %d: %s: %s\n%s", i, f.Kind, f.Message, f.Detail)
		}
		if r.Result != nil && r.Result.Scheduler != nil {
			t.Logf("scheduler report: exit %q, final state %q, watchdog %q\noutput:\n%s", r.Result.Scheduler.Exit, r.Result.Scheduler.FinalState, r.Result.Scheduler.Watchdog, r.Result.Scheduler.Output)
		}
		if len(fs) == 0 {
			t.Fatalf("the run passed; want a %s failure\nguest output:\n%s", kind, r.Output)
		}
		text := fs[0].Message + "\n" + fs[0].Detail
		if fs[0].Kind != kind {
			t.Fatalf("first failure is %s; want %s\nguest output:\n%s", fs[0].Kind, kind, r.Output)
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("failure does not mention %q", w)
			}
		}
		t.Logf("got, as wanted: %s: %s\nguest output:\n%s", fs[0].Kind, fs[0].Message, r.Output)
	})
}
