package ktstr_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/scheds/ktstrsched/faults"
)

// TestWatchdogBound checks that the stall watchdog the report states is the
// one the kernel enforces, from the scheduler's first moment: our scheduler
// stops dispatching anything at 0 ms (from its first moment, so the
// harness itself never sees it attached), 500 ms and 5 s after it loads,
// and the kernel must eject it within the timeout plus one watchdog
// interval (half the timeout) of the stall's start. The times are the
// kernel's own, from the stamps of its "enabled" and "disabled" messages.
//
// A stall of every task is caught by the watchdog's backstop in the
// scheduler tick, counted from the watchdog's last check-in, which may
// precede the stall by up to one interval: so it may come as early as
// the timeout minus one interval after the stall began.
func TestWatchdogBound(t *testing.T) {
	bin := "/ktstr/bin/" + faults.BinaryName // in the guest, only the name counts
	if !guest.Active() {
		if testing.Short() {
			t.Skip("boots VMs")
		}
		var err error
		if bin, err = faults.BuildScheduler(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	const timeout = 4 * time.Second
	for _, c := range []struct {
		name  string
		after time.Duration
	}{{"0ms", time.Nanosecond}, {"500ms", 500 * time.Millisecond}, {"5s", 5 * time.Second}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			spec := ktstr.Spec{
				Topology:  ktstr.Topo(1, 1, 2, 1),
				Scheduler: faults.Scheduler(bin, "--stop-after", c.after.String()),
				Watchdog:  timeout,
			}
			f := ktstr.ExpectFailure(t, spec, func(ctx *ktstr.Ctx) error {
				if err := ctx.Cgroups.Create("all"); err != nil {
					return err
				}
				w, err := ctx.Spin("all", 2)
				if err != nil {
					return err
				}
				for ctx.SchedulerAlive() == nil && ctx.Elapsed() < time.Minute {
					time.Sleep(50 * time.Millisecond)
				}
				_, err = w.Stop()
				return err
			}, check.SchedulerEjected, "runnable task stall")
			if f == nil {
				return // in the guest, or the run already failed the test
			}
			enabled, disabled, err := enableDisable(f.Detail)
			if err != nil {
				t.Fatalf("%v in:\n%s", err, f.Detail)
			}
			took := disabled - enabled
			lo, hi := c.after+timeout-timeout/2, c.after+timeout+timeout/2
			t.Logf("stall from +%v, timeout %v: ejected %.3fs after the scheduler was enabled (bound %v-%v)", c.after, timeout, took.Seconds(), lo, hi)
			// The stall starts that long after the scheduler's
			// ops.init, which comes a little before the kernel's
			// "enabled"; the watchdog checks on a 4 ms tick (HZ=250)
			// and from a worker thread: allow 0.5 s either way.
			if took < lo-500*time.Millisecond || took > hi+500*time.Millisecond {
				t.Errorf("ejected %.3fs after enabling, outside %v to %v", took.Seconds(), lo, hi)
			}
		})
	}
}

// kmsgStamp matches a kernel log line's time stamp and text.
var kmsgStamp = regexp.MustCompile(`^(?:<\d+>)?\[\s*(\d+)\.(\d+)\] (.*)$`)

// enableDisable finds the kernel's times of the scheduler's "enabled" and
// "disabled" messages in a failure's detail.
func enableDisable(detail string) (enabled, disabled time.Duration, err error) {
	enabled, disabled = -1, -1
	for _, l := range strings.Split(detail, "\n") {
		m := kmsgStamp.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil || !strings.Contains(m[3], "sched_ext: BPF scheduler") {
			continue
		}
		sec, _ := strconv.Atoi(m[1])
		frac, _ := strconv.ParseFloat("0."+m[2], 64)
		at := time.Duration(sec)*time.Second + time.Duration(frac*float64(time.Second))
		switch {
		case strings.Contains(m[3], " enabled"):
			enabled = at
		case strings.Contains(m[3], " disabled"):
			disabled = at
		}
	}
	if enabled < 0 || disabled < 0 {
		return 0, 0, fmt.Errorf("no stamped enabled and disabled messages (%v, %v)", enabled, disabled)
	}
	return enabled, disabled, nil
}
