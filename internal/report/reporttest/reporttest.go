// Package reporttest makes result files (sidecars) for tests of reports:
// a failing variant with every figure a page draws, a passing one, a
// skipped one, and one with no figures at all.
package reporttest

import (
	"fmt"
	"math"
	"time"

	"github.com/ktstr-go/ktstr/sidecar"
)

// At is the fixtures' time.
var At = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

// RunID is the fixtures' run id.
const RunID = "run-fixture"

func base(name string) sidecar.Result {
	return sidecar.Result{
		Schema: sidecar.SchemaVersion, TestName: name, Topology: "1n2l2c1t", Scheduler: "ktstrsched",
		KernelVersion: "7.3.4+deb13-amd64", ProjectCommit: "abc1234", Accelerator: sidecar.AccelTCG,
		RunID: RunID, RunSource: sidecar.SourceCI, Timestamp: At,
		Host: &sidecar.Host{CPUModel: "Test CPU", OnlineCPUs: 2, KernelRelease: "6.1.0", Arch: "x86_64"},
	}
}

func limit(v float64) *float64 { return &v }

// Failing is a variant whose scheduler stalled: failures, steps, throughput
// of two cgroups over 4 s, check figures (one over its limit), workers,
// a monitor series with a finding, the scheduler's BPF programs (one that
// never ran, one the kernel gave no figures for) and logs. cpus sets the CPU count and
// points the monitor series' length.
func Failing(name string, cpus, points int) sidecar.Result {
	r := base(name)
	r.Flags = []string{"stall"}
	r.Failures = []string{
		"scheduler-ejected: the kernel ejected ktstrsched: runnable task stall (kworker/0:1[42] failed to run for 6.2s)",
		"work-conservation: work not conserved: CPUs 1-3 idle for 2.9 s while 3 runnable tasks allowed there waited on CPU 0",
	}
	r.Steps = []sidecar.Step{
		{Name: "warm-up", Start: 0, Duration: time.Second},
		{Name: "swap cpusets", Start: time.Second, Duration: 2 * time.Second},
		{Name: "cool-down", Start: 3 * time.Second, Duration: time.Second},
	}
	for c, name := range []string{"cg0", "cg1"} {
		s := sidecar.Series{Name: name}
		for i := range 40 {
			s.AtMS = append(s.AtMS, float64(i*100))
			s.Values = append(s.Values, 1000+500*math.Sin(float64(i+c*7)/5))
		}
		r.Throughput = append(r.Throughput, s)
	}
	r.Checks = []sidecar.CheckFigure{
		{Name: "MaxSpreadPct", Kind: "unfair", What: "off-CPU % spread between a cgroup's workers", Value: 12.5, Unit: "%", Limit: limit(35)},
		{Name: "MaxGap", Kind: "stuck", What: "longest time a worker went unscheduled", Value: 6200, Unit: "ms", Limit: limit(3000)},
		{Name: "MaxThroughputCV", Kind: "throughput", What: "CV of work units per CPU-second in a cgroup", Value: 0.08},
		{Name: "MinWorkRate", Kind: "throughput", What: "work units per CPU-second of the slowest worker", Value: 900, Unit: "/CPU-s", Limit: limit(1000), Floor: true},
		{Name: "MaxIdleWhileWaiting", Kind: "work-conservation", What: "a CPU idle while tasks allowed on it waited", Value: 2900, Unit: "ms", Limit: limit(1000)},
	}
	for i := range 8 {
		r.Workers = append(r.Workers, sidecar.Worker{
			Cgroup: fmt.Sprintf("cg%d", i%2), Kind: "spin", Index: i / 2, PID: 100 + i, WorkUnits: uint64(10000 + 137*i),
			OffCPUPct: 20 + float64(i)*3, MaxGapMS: 40 + float64(i)*10, MaxGapCPU: i % cpus, MaxGapAtMS: 1500 + float64(i)*100, CPUs: []int{0, 1},
		})
	}
	r.Workers[5].MaxGapMS = 6200
	m := &sidecar.Monitor{Samples: points, Judged: points - 5, MaxImbalance: 4, MaxLocalDSQ: 3, MaxGlobalDSQ: 0, MaxUserDSQ: 7,
		IdleWhileWaitingMS: 2900, Findings: []sidecar.MonitorFinding{{Kind: "work-conservation", Message: r.Failures[1], AtMS: float64(points) * 50}},
		Notes:  []string{"no rq.scx.local_dsq in this kernel's BTF: local DSQ depth unknown"},
		Series: &sidecar.MonitorSeries{}}
	for i := range points {
		m.Series.AtMS = append(m.Series.AtMS, float64(i*100))
	}
	for c := range cpus {
		run, dsq := make([]uint32, points), make([]uint32, points)
		for i := range points {
			if c == 0 || i < points/2 {
				run[i] = uint32(1 + (i+c)%4)
				dsq[i] = uint32((i + c) % 3)
			}
		}
		m.Series.NrRunning = append(m.Series.NrRunning, run)
		m.Series.LocalDSQ = append(m.Series.LocalDSQ, dsq)
	}
	r.Monitor = m
	r.HostNoise = &sidecar.HostNoise{HeldMS: 120, Stalls: 1, LongestMS: 60}
	r.Logs = &sidecar.Logs{
		Scheduler:        "ktstrsched: stalling after 1000 ms\n<script>alert(1)</script>",
		SchedulerExit:    "exit status 1",
		SchedulerRetried: "scheduler ktstrsched exited before attaching: exit status 1 (Failed to load skel)",
		Detail:           "sched_ext: BPF scheduler \"ktstrsched\" disabled (runnable task stall)",
		Dump:             "ktstrsched: root\nDebug dump triggered by SysRq-D\nCPU 0 : nr_run=4",
		SchedulerMaps:    "read when the host monitor first saw a limit exceeded\nktstr.bss (map 12, Array, .bss)\n  stall_cgid = 4242\n  stats = {enqueued: 3571, dispatched: 3560}",
		Console:          "[   21.1] sysrq: Trigger sched_ext debug dump\n[   30.4] reboot: Power down",
	}
	r.BPF = &sidecar.BPF{
		Programs: []sidecar.BPFProgram{
			{Name: "ktstr_enqueue", Type: "StructOps", VerifiedInsns: 1843, XlatedBytes: 6120, JitedBytes: 3307, Counted: true, RunCount: 5200, RunTimeNS: 7_540_000},
			{Name: "ktstr_dispatch", Type: "StructOps", VerifiedInsns: 412, XlatedBytes: 1480, JitedBytes: 861, Counted: true, RunCount: 6100, RunTimeNS: 18_300_000},
			{Name: "ktstr_dump", Type: "StructOps", VerifiedInsns: 96, Counted: true}, // never ran
			{Name: "ktstr_exit_info_probe", Type: "Syscall"},                          // nothing reported
		},
		Notes: []string{"BPF program ktstr_exit_info_probe: the kernel gave no verified instruction count (it does from Linux 5.16)"},
	}
	r.Stats = sidecar.Stats{Overall: sidecar.Metrics{sidecar.MetricWorstSpread: 12.5, sidecar.MetricTotalIterations: 80000,
		sidecar.VerifiedInsnsMetric("ktstr_enqueue"): 1843, sidecar.VerifiedInsnsMetric("ktstr_dispatch"): 412, sidecar.VerifiedInsnsMetric("ktstr_dump"): 96}}
	return r
}

// Passing is a passing EEVDF variant with steps, checks and workers but no
// monitor series.
func Passing(name string) sidecar.Result {
	r := base(name)
	r.Scheduler = "eevdf"
	r.Passed = true
	r.Steps = []sidecar.Step{{Name: "step 1", Start: 0, Duration: 2 * time.Second}}
	r.Checks = []sidecar.CheckFigure{{Name: "MaxSpreadPct", Kind: "unfair", What: "off-CPU % spread between a cgroup's workers", Value: 3.1, Unit: "%", Limit: limit(35)}}
	r.Workers = []sidecar.Worker{{Cgroup: "cg0", Kind: "spin", WorkUnits: 5000, OffCPUPct: 1.5, MaxGapMS: 20, MaxGapCPU: 1, MaxGapAtMS: 800, CPUs: []int{0, 1}}}
	r.Stats = sidecar.Stats{Overall: sidecar.Metrics{sidecar.MetricWorstSpread: 3.1},
		Cgroups: map[string]sidecar.Metrics{"basic/steady:cg0": {sidecar.MetricTotalIterations: 5000, sidecar.MetricWorstIterationsPerWorker: 5000}}}
	return r
}

// Bare is a passing variant that holds no figures at all, as an old result
// file or a test without workers does.
func Bare(name string) sidecar.Result {
	r := base(name)
	r.Passed = true
	r.Host = nil
	return r
}

// Skipped is a variant that did not run.
func Skipped(name string) sidecar.Result {
	r := base(name)
	r.Skipped = true
	r.SkipReason = "needs 16 vCPUs, the host allows 4"
	return r
}

// Run is one of each: a failing, a passing, a bare and a skipped variant.
func Run() []sidecar.Result {
	return []sidecar.Result{
		Passing("TestSteady/1n1l2c1t"),
		Failing("TestStall/1n1l4c1t", 4, 200),
		Bare("TestBare/1n1l1c1t"),
		Skipped("TestBig/2n4l4c2t"),
	}
}
