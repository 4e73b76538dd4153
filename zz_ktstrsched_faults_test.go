package ktstr_test

// TEMPORARY (ktstr-sched fault runs); to be deleted.

import (
	"os"
	"testing"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scheds/ktstrsched/faults"
)

func TestZZKtstrSchedFaults(t *testing.T) {
	bin := "/" + faults.BinaryName
	if os.Getpid() != 1 {
		var err error
		if bin, err = faults.BuildScheduler(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range faults.FaultCases() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			ktstr.ZZFaultRun(t, c.SpecFor(bin), c.Body, c.WantKind, c.WantText...)
		})
	}
}
