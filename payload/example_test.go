package payload_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/payload"
)

// A test runs a ready payload in a cgroup and checks a metric. The
// payload is listed in the Spec, so the host packs fio (found on its
// $PATH) into the guest; its failed checks fail the test, and its metrics
// ("fio.read.iops", ...) go to the test's result file.
func Example_test() {
	testFio := func(t *testing.T) {
		fio := payload.Fio
		fio.Checks = []payload.Check{payload.Min("read.iops", 1000)}
		ktstr.Run(t, ktstr.Spec{
			Topology: ktstr.Topo(1, 2, 2, 1),
			Payloads: []payload.Payload{fio, payload.StressNG},
		}, func(ctx *ktstr.Ctx) error {
			for _, cg := range []string{"io", "load"} {
				if err := ctx.Cgroups.Create(cg); err != nil {
					return err
				}
			}
			// CPU load in the background while fio runs.
			load, err := ctx.StartPayload(payload.StressNG, ktstr.PayloadIn("load"),
				ktstr.PayloadArgs("--cpu", "4", "--timeout", "60s"))
			if err != nil {
				return err
			}
			r, err := ctx.RunPayload(fio, ktstr.PayloadIn("io"),
				ktstr.PayloadArgs("--rw=randwrite"), ktstr.PayloadTimeout(time.Minute))
			if err != nil {
				return err
			}
			ctx.Logf("fio: %.0f write IOPS, p99 %.0f µs", r.Metrics["write.iops"], r.Metrics["write.clat_p99_us"])
			load.Kill()
			return nil
		})
	}
	_ = testFio
}

func ExampleExtract() {
	out := []byte(`{"jobs": [{"jobname": "seq", "read": {"iops": 812.5, "lat": [10, 20]}}], "ok": true}`)
	m, err := payload.Extract(payload.FormatJSON, out, nil)
	if err != nil {
		panic(err)
	}
	for _, name := range m.Names() {
		fmt.Println(name, m[name])
	}
	// Output:
	// jobs.0.read.iops 812.5
	// jobs.0.read.lat.0 10
	// jobs.0.read.lat.1 20
}

func ExampleEvaluate() {
	m := payload.Metrics{"jobs.0.read.iops": 812, "jobs.1.read.iops": 1200}
	checks := []payload.Check{
		payload.Min("jobs.*.read.iops", 1000),
		payload.Exists("jobs.0.write.iops"),
		payload.ExitCode(0),
	}
	for _, f := range payload.Evaluate(checks, m, 0) {
		fmt.Println(f)
	}
	// Output:
	// metric jobs.0.read.iops = 812 below min 1000
	// metric jobs.0.write.iops missing; the output has jobs.0.read.iops, jobs.1.read.iops
}

func ExamplePayload_Evaluate() {
	hb := payload.Hackbench
	hb.Checks = []payload.Check{payload.Max("time", 1.5)}
	m, _ := payload.Extract(hb.Output, []byte("Running in process mode with 2 groups using 40 file descriptors each (== 80 tasks)\nTime: 2.25\n"), nil)
	for _, f := range hb.Evaluate(m, 0) {
		fmt.Println(f)
	}
	// Output:
	// payload hackbench: metric time = 2.25 above max 1.5
}

func ExampleFormatFunc() {
	// A tool that prints "ops: N" lines.
	format := payload.FormatFunc("ops-lines", func(stdout, _ []byte) (payload.Metrics, error) {
		m := payload.Metrics{}
		var n float64
		if _, err := fmt.Sscanf(string(stdout), "ops: %g", &n); err != nil {
			return nil, fmt.Errorf("no ops line: %w", err)
		}
		m["ops"] = n
		return m, nil
	})
	m, err := payload.Extract(format, []byte("ops: 4096\n"), nil)
	fmt.Println(m, err)
	// Output:
	// map[ops:4096] <nil>
}
