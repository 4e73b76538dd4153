package ktstr_test

import (
	"testing"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/scheds/ktstrsched/faults"
)

// TestFaults runs our own sched_ext scheduler (cmd/ktstr-sched) with each
// fault it can inject and checks that the harness reports exactly that
// fault: ejection for a stall, stopped dispatching or a dispatch outside
// the allowed CPUs or an error, death for an exit, starvation, a long gap
// for slow dispatch, and the body's own finding for a pinned cgroup. The
// cases only the host monitor can catch (one CPU doing all the work) are
// skipped until there is one.
func TestFaults(t *testing.T) {
	bin := "/ktstr/bin/" + faults.BinaryName // in the guest, only the name counts
	if !guest.Active() {
		var err error
		if bin, err = faults.BuildScheduler(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range faults.FaultCases() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			// A detection test through the public API: the run must
			// fail this way, and the test passes when it does.
			spec := c.SpecFor(bin)
			spec.NoGauntlet = true
			spec.Expect = &ktstr.Expectation{Kind: c.WantKind, Contains: c.WantText}
			ktstr.Run(t, spec, c.Body)
		})
	}
}
