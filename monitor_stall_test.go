package ktstr_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/host"
	"github.com/ktstr-go/ktstr/scheds/ktstrsched/faults"
)

// TestMonitorSeesStall runs our scheduler with the stall fault on a cgroup
// whose two spinners are the only work: they wait, never dispatched, while
// both CPUs idle. The host monitor must see it seconds before the kernel's
// watchdog (6 s here) ejects the scheduler, and the guest must take a
// sched_ext dump then, while the scheduler still runs.
func TestMonitorSeesStall(t *testing.T) {
	bin := "/ktstr/bin/" + faults.BinaryName
	if !guest.Active() {
		var err error
		if bin, err = faults.BuildScheduler(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	spec := ktstr.Spec{
		Topology:  ktstr.Topo(1, 1, 2, 1),
		Scheduler: faults.Scheduler(bin, "--stall-cgroup", faults.CgroupDir+"/victim", "--timeout", "6s"),
		Watchdog:  -1, // the scheduler's own 6 s
		Timeout:   60 * time.Second,
	}
	ktstr.VMTest(t, spec, func(ctx *ktstr.Ctx) error {
		if err := ctx.Cgroups.Create("victim"); err != nil {
			return err
		}
		w, err := ctx.SpawnSpinners("victim", 2)
		if err != nil {
			return err
		}
		if err := w.Start(); err != nil {
			return err
		}
		for ctx.SchedulerAlive() == nil && ctx.Elapsed() < 30*time.Second {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Second)
		_, err = w.Stop()
		return err
	}, func(t *testing.T, r *host.Outcome) {
		fs := r.Failures()
		if len(fs) == 0 || fs[0].Kind != check.SchedulerEjected {
			t.Fatalf("failures %+v; want the ejection first", fs)
		}
		var wc *int
		for i, f := range fs {
			if f.Kind == check.WorkConservation {
				wc = &i
				break
			}
		}
		if wc == nil {
			t.Fatalf("the monitor did not see the stall; failures %+v\n%s", fs, r.MonitorReport())
		}
		f := fs[*wc]
		// The victims' threads wait, how many of them depends on when
		// each was queued; the CPUs are the guest's two.
		if !regexp.MustCompile(`^work not conserved: CPUs 0-1 idle for \d+\.\d s while \d+ runnable tasks? allowed there waited on CPUs? [0-9,-]+$`).MatchString(f.Message) {
			t.Errorf("message %q: want both CPUs idle while the victims wait", f.Message)
		}
		if r.Monitor.Flagged == nil || r.Monitor.Flagged.At > 5*time.Second {
			t.Errorf("the monitor flagged %+v; want it within 5 s of the body's start, before the 6 s watchdog", r.Monitor.Flagged)
		}
		if !strings.Contains(f.Detail, "Debug dump triggered by SysRq-D") {
			t.Errorf("no SysRq-D dump with the monitor's failure:\n%s", f.Detail)
		}
		// The scheduler's own state, read at the same moment: its
		// variables by name, the stall fault's cgroup among them.
		md := r.Result.SchedulerMaps
		switch {
		case md == nil:
			t.Error("no scheduler maps with the failure")
		case !strings.HasPrefix(md.When, "when the host monitor first saw a limit exceeded: "):
			t.Errorf("scheduler maps read %s; want them read when the monitor saw the stall", md.When)
		default:
			for _, re := range []string{`(?m)^\.bss \(map \d+, Array, \.bss\)$`, `(?m)^  stall_cgid = [1-9]\d*$`, `(?m)^    stalled: [1-9]\d*$`, `(?m)^  cgroup_faults = true$`} {
				if !regexp.MustCompile(re).MatchString(md.Text) {
					t.Errorf("the scheduler maps do not match %s:\n%s", re, md.Text)
				}
			}
		}
		t.Logf("got, as wanted: %s (flagged at +%v)", f.Message, r.Monitor.Flagged.At.Round(100*time.Millisecond))
	})
}
