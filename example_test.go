package ktstr_test

import (
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/check"
)

// A test of the kernel's own scheduler (EEVDF): two cgroups, one LLC each,
// with two spinners in each. Run boots a VM with exactly that topology; the
// body runs inside it. The workers' reports are checked when the body ends
// (starvation, fairness, cpuset isolation, gaps); any failure fails the
// test, with the stats, the timeline and the kernel's words.
//
// The package's tests need, once:
//
//	func TestMain(m *testing.M) { ktstr.Main(m) }
func ExampleRun() {
	testSpinners := func(t *testing.T) {
		ktstr.Run(t, ktstr.Spec{
			Topology: ktstr.Topo(1, 2, 2, 1), // 1 node, 2 LLCs of 2 cores: 4 CPUs
			Duration: 3 * time.Second,
		}, func(ctx *ktstr.Ctx) error {
			for i, llc := range ctx.Topology.LLCs {
				name := []string{"cg0", "cg1"}[i]
				if err := ctx.Cgroups.Create(name); err != nil {
					return err
				}
				if err := ctx.Cgroups.SetCpuset(name, llc); err != nil {
					return err
				}
				w, err := ctx.Spin(name, 2)
				if err != nil {
					return err
				}
				defer w.Stop()
			}
			ctx.Sleep(ctx.Duration)
			return nil
		})
	}
	_ = testSpinners
}

// A test of a sched_ext scheduler with named flags: the base variant runs
// with the required flags; `ktstr test --gauntlet` (KTSTR_GAUNTLET=1) also
// runs every valid flag combination on every topology preset the
// scheduler's constraints admit. The check layer here tightens the gap
// limit over the defaults for this test only.
func ExampleSpec() {
	qmap := ktstr.Scheduler{
		Path: "scx_qmap", // looked up in the cache `ktstr sched build` fills, then on $PATH
		Ops:  "qmap",
		Flags: []ktstr.Flag{
			{Name: "slice", Args: []string{"-s", "5000"}},
			{Name: "lowpri", Args: []string{"-l"}},
		},
		Constraints: ktstr.Constraints{MinLLCs: 2},
	}
	spec := ktstr.Spec{
		Topology:  ktstr.Topo(1, 2, 2, 1),
		Scheduler: qmap,
		Duration:  2 * time.Second,
		Assert:    check.Assert{MaxGap: check.Set(time.Second)},
	}
	_ = spec
}

// A detection test: the scheduler must be ejected by the kernel's stall
// watchdog, and the test passes when it is. A run that passes, or fails
// another way, fails the test and says how it failed instead.
func ExampleExpectation() {
	testStallIsCaught := func(t *testing.T) {
		ktstr.Run(t, ktstr.Spec{
			Scheduler:     ktstr.Scheduler{Path: "./scx_mine"},
			SchedulerArgs: []string{"--stall-after-ms", "500"},
			Expect: &ktstr.Expectation{
				Kind:     check.SchedulerEjected,
				Contains: []string{"runnable task stall"},
			},
		}, func(ctx *ktstr.Ctx) error {
			w, err := ctx.Spin("", 2)
			if err != nil {
				return err
			}
			ctx.Sleep(ctx.Duration)
			_, err = w.Stop()
			return err
		})
	}
	_ = testStallIsCaught
}
