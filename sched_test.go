package ktstr

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/work"

	"testing"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/host"
)

// scxSimple is the kernel's own example scheduler, built by
// `ktstr sched build`: a real sched_ext scheduler nobody here wrote.
var scxSimple = Scheduler{Path: "scx_simple", Ops: "simple"}

// testSchedExtRuns runs the spinners under scx_simple and checks, inside
// the guest, that sched_ext really is in charge.
func testSchedExtRuns(t *testing.T) {
	sched := scxSimple
	sched.Sysctls = map[string]string{"kernel.sched_rr_timeslice_ms": "50"} // a tunable it "needs"
	Run(t, Spec{Topology: Topo(1, 2, 2, 1), Scheduler: sched, Duration: 2 * time.Second},
		func(ctx *Ctx) error {
			if b, err := os.ReadFile("/proc/sys/kernel/sched_rr_timeslice_ms"); err != nil || strings.TrimSpace(string(b)) != "50" {
				return fmt.Errorf("the scheduler's sysctl was not set at boot: sched_rr_timeslice_ms = %q (%v)", b, err)
			}
			if st := guest.SchedExtState(); st != "enabled" {
				return fmt.Errorf("sched_ext state %q during the body, want enabled", st)
			}
			ops, err := os.ReadFile("/sys/kernel/sched_ext/root/ops")
			if err != nil || strings.TrimSpace(string(ops)) != "simple" {
				return fmt.Errorf("root/ops = %q (%v), want simple", ops, err)
			}
			if ctx.SchedulerPID == 0 {
				return fmt.Errorf("Ctx.SchedulerPID is 0 under a sched_ext scheduler")
			}
			return spinnersBody(ctx)
		})
}

// testSchedulerDies kills the scheduler during the body: the test must fail
// as a scheduler death, with how it died.
func testSchedulerDies(t *testing.T) {
	expectFailure(t, Spec{Scheduler: scxSimple},
		func(ctx *Ctx) error {
			if err := syscall.Kill(ctx.SchedulerPID, syscall.SIGKILL); err != nil {
				return err
			}
			time.Sleep(time.Second)
			return nil
		},
		check.SchedulerDied, "scheduler scx_simple died during the test: signal: killed")
}

// testSchedulerEjected has the kernel throw the scheduler out (SysRq-S, as
// the kernel does on its own for a stall or a runtime error): the test must
// fail as an ejection, quoting the kernel's reason.
func testSchedulerEjected(t *testing.T) {
	expectFailure(t, Spec{Scheduler: scxSimple},
		func(ctx *Ctx) error {
			if err := os.WriteFile("/proc/sysrq-trigger", []byte("S"), 0); err != nil {
				return err
			}
			time.Sleep(time.Second)
			return nil
		},
		check.SchedulerEjected, "scheduler scx_simple was ejected by the kernel", "sysrq")
}

// testWatchdogForced checks that the guest put the stall watchdog timeout
// into the ops of a scheduler it does not control, that the kernel holds it
// (as the host reads it from guest memory: the timeout, and the watchdog's
// period at half of it), and that the report says so.
func testWatchdogForced(t *testing.T) {
	spec := Spec{Scheduler: scxSimple, Watchdog: 3 * time.Second}
	vmTest(t, spec, func(ctx *Ctx) error { ctx.Sleep(time.Second); return nil }, func(t *testing.T, r *host.Outcome) {
		if fs := r.Failures(); len(fs) > 0 {
			t.Fatalf("%s: %s\n%s", fs[0].Kind, fs[0].Message, fs[0].Detail)
		}
		rep := r.Result.Scheduler
		if w := rep.WatchdogInForce; w == nil || w.Timeout != 3*time.Second || w.Interval != 1500*time.Millisecond {
			t.Errorf("watchdog in force %+v, want 3s checked every 1.5s (report: %s)", w, rep.Watchdog)
		}
		want := "3s, checked every 1.5s (read from guest memory; set by ktstr in the scheduler's ops, which asked for none (the kernel's default is 30s))"
		if rep.Watchdog != want {
			t.Errorf("watchdog %q, want %q", rep.Watchdog, want)
		}
	})
}

// testSchedulerNeeds runs scx_central, which reads the kernel's
// configuration from /boot/config-<release> (Debian's kernel has no
// /proc/config.gz), with files and a cgroup parent of its own: the guest
// must have all three in place before the scheduler starts.
func testSchedulerNeeds(t *testing.T) {
	sched := Scheduler{
		Path: "scx_central", Ops: "central",
		Files: map[string]string{
			"/etc/mysched.conf": "testdata/scheduler-files/mysched.conf",
			"/opt/mysched":      "testdata/scheduler-files",
		},
		CgroupParent: "/workload/ktstr",
		Topology:     Topo(1, 1, 4, 1),
		Constraints:  Constraints{MinCPUs: 2}, // a central CPU and one to run tasks on
		// scx_central's central CPU dispatches tasks into the other
		// CPUs' local DSQs, where one waits for its CPU even while
		// another it may use idles. Seen under TCG: CPU 1 idle 1.0 s
		// beside a task in CPU 3's queue (CI, the host compiling), and
		// 2.3 s beside a busy loop; over the default (1 s, 2 s under
		// TCG), not what this test is about, and far from a CPU
		// stranded for good.
		Assert: check.Assert{MaxIdleWhileWaiting: check.Set(3 * time.Second)},
	}
	Run(t, Spec{Scheduler: sched, Duration: 2 * time.Second}, func(ctx *Ctx) error {
		for path, want := range map[string]string{
			"/etc/mysched.conf":                "slice_us = 5000\n",
			"/opt/mysched/mysched.conf":        "slice_us = 5000\n",
			"/opt/mysched/layers/default.json": `{"layers": ["batch", "interactive"]}` + "\n",
			"/boot/config-" + kernelRelease():  "CONFIG_SCHED_CLASS_EXT=y\n",
		} {
			b, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("a file the scheduler needs is missing: %w", err)
			}
			if !strings.Contains(string(b), want) {
				return fmt.Errorf("%s lacks %q", path, want)
			}
		}
		if err := ctx.Cgroups.Create("cg0"); err != nil {
			return err
		}
		if got, want := ctx.Cgroups.Path("cg0"), "/sys/fs/cgroup/workload/ktstr/cg0"; got != want {
			return fmt.Errorf("test cgroup at %s, want %s under the scheduler's cgroup parent", got, want)
		}
		if err := ctx.Cgroups.Remove("cg0"); err != nil {
			return err
		}
		return spinnersBody(ctx)
	})
}

// kernelRelease is uname -r.
func kernelRelease() string {
	var u unix.Utsname
	_ = unix.Uname(&u)
	return unix.ByteSliceToString(u.Release[:])
}

// testUserlandScheduler runs scx_userland, which makes every scheduling
// decision in user space and hands each one to its BPF side with a
// bpf(BPF_MAP_UPDATE_ELEM) call: every one of those calls passes the
// supervisor that put the watchdog timeout into the scheduler's ops. A
// spinner and a bursty worker must progress and the timeout must be in
// force all the same. (With a spinner per CPU, scx_userland starves the
// kernel's own worker threads and the watchdog ejects it, with or without
// the supervisor: a finding about scx_userland, not this test's subject.)
func testUserlandScheduler(t *testing.T) {
	spec := Spec{Scheduler: Scheduler{Path: "scx_userland", Ops: "userland", AttachTimeout: time.Minute},
		Topology: Topo(1, 1, 2, 1), Duration: 3 * time.Second}
	body := groupsBody(work.Group{Type: work.Spin(), Workers: 1}, work.Group{Type: work.Bursty(5*time.Millisecond, 20*time.Millisecond), Workers: 1})
	vmTest(t, spec, body, func(t *testing.T, r *host.Outcome) {
		host.Report(t, r)
		if r.Result == nil || r.Result.Scheduler == nil {
			return
		}
		rep := r.Result.Scheduler
		if w := rep.WatchdogInForce; w == nil || w.Timeout != host.DefaultWatchdog(r.Accel) {
			t.Errorf("watchdog in force %+v, want %v (report: %s)", w, host.DefaultWatchdog(r.Accel), rep.Watchdog)
		}
	})
}
