package ktstr

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/host"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// scxCPU0 is the kernel's example scheduler that runs every task on CPU 0:
// each worker gets its share of CPU 0, none starves, and the workers' own
// figures look fair, while the other CPUs sit idle.
var scxCPU0 = Scheduler{Path: "scx_cpu0", Ops: "cpu0"}

// TestMonitor checks what only the host monitor sees.
func TestMonitor(t *testing.T) {
	if !guest.Active() {
		t.Cleanup(func() { checkNothingLeftBehind(t) })
	}
	for _, c := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"WorkNotConserved", testWorkNotConserved},
		{"Off", testMonitorOff},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.f(t)
		})
	}
}

// workNotConserved is the message of the work-conservation check.
var workNotConserved = regexp.MustCompile(`^work not conserved: CPUs? ([0-9,-]+) idle for (\d+\.\d) s while (\d+) runnable tasks? allowed there waited on CPUs? ([0-9,-]+)$`)

// testWorkNotConserved runs four spinners, allowed on all four CPUs, under
// scx_cpu0: the monitor must fail the run for CPUs 1-3 idling while the
// spinners wait on CPU 0, and the guest must have taken a sched_ext dump
// when the monitor first saw it.
func testWorkNotConserved(t *testing.T) {
	// 4 s: the idle stretch, the body less the monitor's warm-up, must
	// exceed the work-conservation limit (2 s under TCG) by far.
	spec := Spec{Topology: Topo(1, 1, 4, 1), Scheduler: scxCPU0, Duration: 4 * time.Second}
	vmTest(t, spec, func(ctx *Ctx) error {
		w, err := ctx.SpawnSpinners("", 4)
		if err != nil {
			return err
		}
		if err := w.Start(); err != nil {
			return err
		}
		ctx.Sleep(ctx.Duration)
		_, err = w.Stop()
		return err
	}, func(t *testing.T, r *host.Outcome) {
		var wc *wire.Failure
		for _, f := range r.Failures() {
			if f.Kind == check.WorkConservation {
				wc = &f
			}
		}
		if wc == nil {
			t.Fatalf("no work-conservation failure; failures %+v\nmonitor:\n%s", r.Failures(), monitorText(r))
		}
		m := workNotConserved.FindStringSubmatch(wc.Message)
		if m == nil {
			t.Fatalf("message %q does not read like %s", wc.Message, workNotConserved)
		}
		if n, _ := strconv.Atoi(m[3]); m[1] != "1-3" || m[4] != "0" || n < 3 {
			t.Errorf("message %q: want CPUs 1-3 idle while 3 or more tasks waited on CPU 0", wc.Message)
		}
		if len(r.Result.MonitorDump) == 0 {
			t.Errorf("the guest took no sched_ext dump for the monitor")
		}
		if f := r.Failures(); !strings.Contains(f[len(f)-len(r.MonitorFindings)].Detail, "--- sched_ext dump") {
			t.Errorf("the first monitor failure does not carry the dump: %+v", f)
		}
		t.Logf("got, as wanted: %s\nmonitor:\n%s", wc.Message, monitorText(r))
	})
}

// testMonitorOff switches the monitor off: no samples, no monitor verdict,
// and the run passes as before.
func testMonitorOff(t *testing.T) {
	spec := Spec{Topology: Topo(1, 1, 2, 1), Assert: check.Assert{MonitorPeriod: check.Disable[time.Duration]()}}
	vmTest(t, spec, func(*Ctx) error { return nil }, func(t *testing.T, r *host.Outcome) {
		if fs := r.Failures(); len(fs) > 0 {
			t.Fatalf("failures: %+v", fs)
		}
		if r.Monitor != nil || r.MonitorOff != "" {
			t.Errorf("monitor ran (%v) or said it was off (%q) though switched off", r.Monitor != nil, r.MonitorOff)
		}
	})
}

func monitorText(r *host.Outcome) string {
	if r.Monitor == nil {
		return r.MonitorOff
	}
	return r.MonitorReport()
}
