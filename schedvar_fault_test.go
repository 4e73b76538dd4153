package ktstr_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/host"
	"github.com/ktstr-go/ktstr/scheds/ktstrsched/faults"
)

// TestSchedulerVarFault runs our scheduler with no fault, lets the body
// see it schedule, then turns its stop_dispatch variable on through
// ctx.SchedulerVar: from that write on nothing is dispatched, and the
// kernel's watchdog must eject the scheduler for a runnable task stall,
// which the test expects. The failure report must carry the scheduler's
// maps, read nearest the failure, with the switch on and its counters.
func TestSchedulerVarFault(t *testing.T) {
	bin := "/ktstr/bin/" + faults.BinaryName
	if !guest.Active() {
		var err error
		if bin, err = faults.BuildScheduler(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	spec := ktstr.Spec{
		Topology:  ktstr.Topo(1, 1, 2, 1),
		Scheduler: faults.Scheduler(bin),
		Watchdog:  4 * time.Second,
		Timeout:   90 * time.Second,
		Expect:    &ktstr.Expectation{Kind: check.SchedulerEjected, Contains: []string{"runnable task stall"}},
	}
	ktstr.VMTest(t, spec, func(ctx *ktstr.Ctx) error {
		if err := ctx.Cgroups.Create("cg"); err != nil {
			return err
		}
		w, err := ctx.Spin("cg", 2)
		if err != nil {
			return err
		}
		ctx.Sleep(time.Second)
		if err := ctx.SchedulerAlive(); err != nil {
			return err
		}
		stats, err := ctx.SchedulerVar("stats").Text()
		if err != nil {
			return err
		}
		ctx.Logf("healthy after 1 s: stats = %s", stats)
		flag := ctx.SchedulerVar("stop_dispatch")
		if err := flag.Set(true); err != nil {
			return err
		}
		if on, err := flag.Bool(); err != nil || !on {
			return errors.Join(errors.New("stop_dispatch did not read back true"), err)
		}
		ctx.Logf("stop_dispatch set at +%.1fs", ctx.Elapsed().Seconds())
		for ctx.SchedulerAlive() == nil && ctx.Elapsed() < 30*time.Second {
			ctx.Sleep(50 * time.Millisecond)
		}
		_, err = w.Stop()
		return err
	}, func(t *testing.T, r *host.Outcome) {
		host.Report(t, r) // judges the expectation
		for _, f := range r.Failures() {
			if f.Kind == check.Body {
				t.Errorf("the body failed: %s", f.Message)
			}
		}
		if r.Result == nil || r.Result.SchedulerMaps == nil {
			t.Fatal("the failure report holds no scheduler maps")
		}
		md := r.Result.SchedulerMaps
		if !strings.Contains(md.When, "host monitor") && !strings.Contains(md.When, "sched_ext leave") {
			t.Errorf("maps read %s; want them read when the monitor or the harness saw the failure, before the body ended", md.When)
		}
		for _, want := range []string{".bss (map ", "  stop_dispatch = true\n", "  stats = {", "    enqueued: ", ".rodata, frozen)", "  stop_after_ns = 0\n"} {
			if !strings.Contains(md.Text, want) {
				t.Errorf("the maps lack %q:\n%s", want, md.Text)
			}
		}
		file := r.ResultFile()
		if file.Logs == nil || !strings.HasPrefix(file.Logs.SchedulerMaps, "read "+md.When+"\n.bss (map ") {
			t.Errorf("the result file's scheduler maps: %+v", file.Logs)
		}
	})
}
