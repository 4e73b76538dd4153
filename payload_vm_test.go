package ktstr

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/host"
	"github.com/ktstr-go/ktstr/internal/layout"
	"github.com/ktstr-go/ktstr/payload"
)

// The payload VM tests run Debian's stress-ng, hackbench, cyclictest and
// fio inside the guest. Each skips when its tool is not installed on the
// host (apt-get install stress-ng rt-tests fio); CI installs them.

// payloadVM boots spec's first topology with body and hands the run to
// judge on the host. It skips when a payload's tool is not installed.
func payloadVM(t *testing.T, spec Spec, body Body, judge host.Judge) {
	t.Helper()
	if !guest.Active() {
		for _, p := range spec.Payloads {
			if _, err := host.PayloadBinary(p); err != nil {
				t.Skipf("%s is not installed on the host (Debian package %s): %v", p.Binary, p.Package, err)
			}
		}
	}
	vmTest(t, spec, body, func(t *testing.T, r *host.Outcome) {
		t.Logf("boot %v, total %v (%s)", r.BootTime.Round(time.Millisecond), r.Wall.Round(time.Millisecond), r.Accel)
		judge(t, r)
		if t.Failed() || testing.Verbose() {
			t.Logf("guest output:\n%s", strings.TrimRight(string(r.Output), "\n"))
		}
	})
}

// wantPassed fails t unless the run passed, then checks that the test's
// result file would carry each of the metrics (payload-prefixed names).
func wantPassed(metrics ...string) host.Judge {
	return func(t *testing.T, r *host.Outcome) {
		if fs := r.Failures(); len(fs) > 0 {
			var b strings.Builder
			for _, f := range fs {
				fmt.Fprintf(&b, "%s: %s\n%s\n", f.Kind, f.Message, f.Detail)
			}
			t.Fatalf("the run failed:\n%s", b.String())
		}
		sc := r.ResultFile()
		for _, m := range metrics {
			v, ok := sc.PayloadMetrics[m]
			if !ok {
				t.Errorf("no payload metric %s in the result (have %d)", m, len(sc.PayloadMetrics))
				continue
			}
			t.Logf("%s = %s", m, payload.FormatValue(v))
		}
	}
}

// cgroupCPUUsec reads usage_usec from the cgroup's cpu.stat.
func cgroupCPUUsec(ctx *Ctx, cg string) (int64, error) {
	b, err := os.ReadFile(filepath.Join(ctx.Cgroups.Path(cg), "cpu.stat"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no usage_usec in %s's cpu.stat", cg)
}

// wantCPUInCgroup fails unless the cgroup's tasks used at least min CPU
// time: proof that the payload ran inside it.
func wantCPUInCgroup(ctx *Ctx, cg string, min time.Duration) error {
	us, err := cgroupCPUUsec(ctx, cg)
	if err != nil {
		return err
	}
	ctx.Logf("cgroup %s used %v of CPU", cg, time.Duration(us)*time.Microsecond)
	if time.Duration(us)*time.Microsecond < min {
		return fmt.Errorf("cgroup %s used %v of CPU; want at least %v: the payload did not run in it", cg, time.Duration(us)*time.Microsecond, min)
	}
	return nil
}

func logResult(ctx *Ctx, r *payload.Result, metrics ...string) {
	var parts []string
	for _, m := range metrics {
		parts = append(parts, fmt.Sprintf("%s=%s", m, payload.FormatValue(r.Metrics[m])))
	}
	ctx.Logf("payload %s: exit %d after %v, %d metrics: %s", r.Name, r.ExitCode, r.Duration.Round(time.Millisecond), len(r.Metrics), strings.Join(parts, " "))
}

func testPayloadStressNG(t *testing.T) {
	p := payload.StressNG
	p.Checks = []payload.Check{payload.Min("cpu.bogo-ops", 1), payload.Exists("cpu.bogo-ops-per-second-real-time")}
	payloadVM(t, Spec{Payloads: []payload.Payload{p}}, func(ctx *Ctx) error {
		if err := ctx.Cgroups.Create("load"); err != nil {
			return err
		}
		r, err := ctx.RunPayload(p, PayloadIn("load"), PayloadArgs("--cpu", "2", "--timeout", "2s"), PayloadTimeout(60*time.Second))
		if err != nil {
			return err
		}
		logResult(ctx, r, "cpu.bogo-ops", "cpu.bogo-ops-per-second-real-time")
		return wantCPUInCgroup(ctx, "load", time.Second)
	}, wantPassed("stress-ng.cpu.bogo-ops", "stress-ng.cpu.bogo-ops-per-second-real-time"))
}

func testPayloadHackbench(t *testing.T) {
	p := payload.Hackbench
	p.Checks = []payload.Check{payload.Range("time", 0, 60)}
	payloadVM(t, Spec{Payloads: []payload.Payload{p}}, func(ctx *Ctx) error {
		if err := ctx.Cgroups.Create("msg"); err != nil {
			return err
		}
		// The payload directories are on $PATH.
		if path, err := exec.LookPath("hackbench"); err != nil || path != layout.PayloadPath(p.Name, p.Binary) {
			return fmt.Errorf("hackbench on $PATH: %q, %v; want %s", path, err, layout.PayloadPath(p.Name, p.Binary))
		}
		r, err := ctx.RunPayload(p, PayloadIn("msg"), PayloadArgs("--groups=1", "--loops=100"), PayloadTimeout(60*time.Second))
		if err != nil {
			return err
		}
		logResult(ctx, r, "time", "tasks")
		return wantCPUInCgroup(ctx, "msg", 100*time.Millisecond)
	}, wantPassed("hackbench.time", "hackbench.tasks"))
}

func testPayloadCyclictest(t *testing.T) {
	p := payload.Cyclictest
	p.Checks = []payload.Check{payload.Min("cycles", 100), payload.Exists("max"), payload.Exists("thread.0.avg")}
	payloadVM(t, Spec{Payloads: []payload.Payload{p}}, func(ctx *Ctx) error {
		if err := ctx.Cgroups.Create("lat"); err != nil {
			return err
		}
		// In the background, beside CPU hogs in another cgroup.
		if err := ctx.Cgroups.Create("hogs"); err != nil {
			return err
		}
		hogs, err := ctx.Spin("hogs", 2)
		if err != nil {
			return err
		}
		run, err := ctx.StartPayload(p, PayloadIn("lat"), PayloadArgs("--duration=2s"), PayloadTimeout(60*time.Second))
		if err != nil {
			return err
		}
		procs, err := ctx.Cgroups.Procs("lat")
		if err != nil {
			return err
		}
		if !slices.Contains(procs, run.PID()) {
			return fmt.Errorf("cyclictest (pid %d) is not in cgroup lat: %v", run.PID(), procs)
		}
		r := run.Wait()
		if _, err := hogs.Stop(); err != nil {
			return err
		}
		logResult(ctx, r, "cycles", "min", "avg", "max")
		return nil
	}, wantPassed("cyclictest.max", "cyclictest.avg", "cyclictest.thread.0.max"))
}

func testPayloadFio(t *testing.T) {
	p := payload.Fio
	p.Checks = []payload.Check{payload.Min("read.iops", 1), payload.Min("jobs.*.read.io_kbytes", 1)}
	payloadVM(t, Spec{Payloads: []payload.Payload{p}}, func(ctx *Ctx) error {
		if err := ctx.Cgroups.Create("io"); err != nil {
			return err
		}
		r, err := ctx.RunPayload(p, PayloadIn("io"), PayloadArgs("--runtime=2s"), PayloadTimeout(90*time.Second))
		if err != nil {
			return err
		}
		logResult(ctx, r, "read.iops", "read.bw_kib", "read.lat_mean_us", "read.clat_p99_us")
		return wantCPUInCgroup(ctx, "io", 100*time.Millisecond)
	}, wantPassed("fio.read.iops", "fio.read.bw_kib", "fio.jobs.0.read.iops"))
}

// testPayloadFailures runs payloads that fail three ways: a failed check,
// a timeout, an exit status; each is a payload failure of the test, with
// the payload's output in the detail.
func testPayloadFailures(t *testing.T) {
	hb := payload.Hackbench
	hb.Checks = []payload.Check{payload.Max("time", 0)}
	sng := payload.StressNG
	spec := Spec{Payloads: []payload.Payload{hb, sng, {Name: "true", Binary: "true"}}}
	payloadVM(t, spec, func(ctx *Ctx) error {
		if _, err := ctx.RunPayload(hb, PayloadArgs("--groups=1", "--loops=10")); err != nil {
			return err
		}
		// In the root cgroup: PayloadIn("") is the default.
		if r, err := ctx.RunPayload(payload.Payload{Name: "true", Binary: "true"}, PayloadIn("")); err != nil || !r.Passed() {
			return fmt.Errorf("true: %v, %+v", err, r)
		}
		if _, err := ctx.RunPayload(sng, PayloadArgs("--cpu", "1", "--timeout", "60s"), PayloadTimeout(8*time.Second)); err != nil {
			return err
		}
		// No stressor: stress-ng refuses to run.
		r, err := ctx.RunPayload(sng)
		if err != nil {
			return err
		}
		ctx.Logf("stress-ng without a stressor: exit %d, %v", r.ExitCode, r.Err())
		return nil
	}, func(t *testing.T, r *host.Outcome) {
		fs := r.Failures()
		var got []string
		for _, f := range fs {
			if f.Kind != check.Payload {
				t.Errorf("unexpected %s failure: %s\n%s", f.Kind, f.Message, f.Detail)
				continue
			}
			got = append(got, f.Message)
			t.Logf("got, as wanted: %s: %s", f.Kind, f.Message)
		}
		for _, want := range []string{"payload hackbench: metric time = ", "above max 0",
			"payload stress-ng: timed out after 8s and was stopped",
			"payload stress-ng#2: exit code "} {
			if !strings.Contains(strings.Join(got, "\n"), want) {
				t.Errorf("no failure says %q; got:\n%s", want, strings.Join(got, "\n"))
			}
		}
		for _, f := range fs {
			if strings.HasPrefix(f.Message, "payload hackbench:") && !strings.Contains(f.Detail, "Time:") {
				t.Errorf("the hackbench failure does not quote its output:\n%s", f.Detail)
			}
		}
		// The timed-out stress-ng was stopped gracefully and reported.
		for _, p := range r.Result.Payloads {
			if p.Name == "stress-ng" && (!p.TimedOut || p.Metrics["cpu.bogo-ops"] <= 0) {
				t.Errorf("timed-out stress-ng: %+v; want TimedOut and its bogo-ops", p)
			}
		}
	})
}

// testPayloadKill stops a background payload with Kill and leaves another
// running: the first reports its metrics without failing, the second is
// stopped and noted as left behind.
func testPayloadKill(t *testing.T) {
	p := payload.StressNG
	p.Checks = []payload.Check{payload.Min("cpu.bogo-ops", 1)}
	payloadVM(t, Spec{Payloads: []payload.Payload{p}}, func(ctx *Ctx) error {
		if err := ctx.Cgroups.Create("bg"); err != nil {
			return err
		}
		a, err := ctx.StartPayload(p, PayloadIn("bg"), PayloadArgs("--cpu", "1", "--timeout", "120s"))
		if err != nil {
			return err
		}
		if _, err := ctx.StartPayload(p, PayloadIn("bg"), PayloadArgs("--cpu", "1", "--timeout", "120s")); err != nil {
			return err
		}
		// stress-ng takes seconds to start under emulation, and only then
		// handles SIGINT: stop it once both runs have forked their
		// stressor (two processes each) and run a while.
		for deadline := time.Now().Add(90 * time.Second); ; ctx.Sleep(100 * time.Millisecond) {
			procs, err := ctx.Cgroups.Procs("bg")
			if err != nil {
				return err
			}
			if len(procs) >= 4 {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the stress-ng runs did not start their stressors in 90 s: processes %v", procs)
			}
		}
		ctx.Sleep(2 * time.Second)
		r := a.Kill()
		logResult(ctx, r, "cpu.bogo-ops")
		if !r.Killed || r.Name != "stress-ng" || len(r.Failures) > 0 {
			return fmt.Errorf("killed payload: %+v", r)
		}
		if again := a.Kill(); again != r {
			return fmt.Errorf("a second Kill returned another result")
		}
		return nil
	}, func(t *testing.T, r *host.Outcome) {
		wantPassed("stress-ng.cpu.bogo-ops", "stress-ng#2.cpu.bogo-ops")(t, r)
		if !slices.ContainsFunc(r.Result.Leftovers, func(s string) bool { return strings.HasPrefix(s, "payload stress-ng#2 ") }) {
			t.Errorf("leftovers %q do not name the payload left running", r.Result.Leftovers)
		}
		t.Logf("leftovers: %q", r.Result.Leftovers)
	})
}

// The payload VM tests, two at a time (two VMs give the best throughput
// on a 2-core host).

func TestPayloadCPU(t *testing.T) {
	t.Run("StressNG", func(t *testing.T) { t.Parallel(); testPayloadStressNG(t) })
	t.Run("Hackbench", func(t *testing.T) { t.Parallel(); testPayloadHackbench(t) })
}

func TestPayloadLatencyIO(t *testing.T) {
	t.Run("Cyclictest", func(t *testing.T) { t.Parallel(); testPayloadCyclictest(t) })
	t.Run("Fio", func(t *testing.T) { t.Parallel(); testPayloadFio(t) })
}

func TestPayloadBehaviour(t *testing.T) {
	t.Run("Failures", func(t *testing.T) { t.Parallel(); testPayloadFailures(t) })
	t.Run("Kill", func(t *testing.T) { t.Parallel(); testPayloadKill(t) })
}

func TestPayloadCapture(t *testing.T) {
	if guest.Active() {
		return
	}
	c := newCapture()
	chunk := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB
	for range 17 {
		c.Write([]byte(chunk))
	}
	c.Write([]byte("the end"))
	if len(c.head()) != payload.MaxOutput || !c.cut {
		t.Errorf("kept %d bytes, cut %v; want %d and cut", len(c.head()), c.cut, payload.MaxOutput)
	}
	tail := c.tail()
	if len(tail) != payload.TailBytes || !strings.HasSuffix(tail, "cdefthe end") {
		t.Errorf("tail of %d bytes ending %q", len(tail), tail[max(0, len(tail)-20):])
	}
	small := newCapture()
	small.Write([]byte("a"))
	small.Write([]byte("b"))
	if string(small.head()) != "ab" || small.tail() != "ab" || small.cut {
		t.Errorf("small capture: %q %q %v", small.head(), small.tail(), small.cut)
	}
}
