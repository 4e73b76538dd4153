package check_test

import (
	"fmt"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/work"
)

// Layers of configuration: the harness's defaults for a TCG guest, then
// what the scheduler allows, then what the test wants. The last layer that
// sets a field wins; unset fields keep what lies below; Off and Disable
// switch a check off.
func ExampleMerge() {
	defaults := check.Defaults(check.Env{TCG: true})
	scheduler := check.Assert{
		MaxGap:            check.Set(3 * time.Second),
		MaxP99WakeLatency: check.Set(2 * time.Millisecond),
	}
	test := check.Assert{
		Isolation:         check.Off(),
		MaxSpreadPct:      check.Disable[float64](),
		MaxMigrationRatio: check.Set(0.05),
	}
	fmt.Print(check.Merge(defaults, scheduler, test))
	// Output:
	// NotStarved          on       every worker does some work
	// Isolation           off      workers run only on their cpuset
	// MaxGap              3000 ms  longest time a worker went unscheduled
	// MaxSpreadPct        off      off-CPU % spread between a cgroup's workers
	// MaxThroughputCV     unset    CV of work units per CPU-second in a cgroup
	// MinWorkRate         unset    work units per CPU-second of each worker
	// MaxP99WakeLatency   2000 µs  p99 of a cgroup's wake-up latencies
	// MaxWakeLatencyCV    unset    CV of a cgroup's wake-up latencies
	// MaxMigrationRatio   0.05     CPU migrations per checkpoint in a cgroup
	// MinPageLocality     unset    share of each worker's pages on its nodes
	// MaxImbalanceRatio   4        runnable tasks on a CPU over the least loaded CPU they may use
	// MaxLocalDSQDepth    50       depth of a sched_ext local dispatch queue
	// FailOnStall         on       a CPU's runqueue clock stops while it has runnable tasks
	// MaxFallbackRate     200/s    sched_ext select_cpu_fallback events per second
	// MaxKeepLastRate     unset    sched_ext dispatch_keep_last events per second
	// MaxIdleWhileWaiting 2000 ms  a CPU idle while tasks allowed on it wait elsewhere
	// SustainedSamples    5        samples in a row a monitor limit must be exceeded
	// MonitorWarmup       500 ms   time after the body starts before monitor checks count
	// MonitorPeriod       100 ms   time between two monitor samples (off: no monitor)
}

// Two cgroups on disjoint cpusets: in cg0 one worker never ran, in cg1
// one strayed onto a CPU of cg0 and another waited 4.5 s for a CPU.
func ExampleEvaluate() {
	spinner := func(pid int, cg string, units uint64, offCPU time.Duration, cpus ...int) work.Report {
		return work.Report{
			PID: pid, Cgroup: cg, Kind: work.SpinKind, WorkUnits: units,
			WallTime: 10 * time.Second, CPUTime: 10*time.Second - offCPU, OffCPU: offCPU,
			CPUs: cpus, Checkpoints: 100, MaxGap: 50 * time.Millisecond,
		}
	}
	stuck := spinner(202, "cg1", 5400, 4600*time.Millisecond, 3)
	stuck.MaxGap, stuck.MaxGapCPU, stuck.MaxGapAt = 4500*time.Millisecond, 3, 3200*time.Millisecond

	res := check.Evaluate(check.Defaults(check.Env{}),
		check.Group{Name: "cg0", CPUs: []int{0, 1}, Reports: []work.Report{
			spinner(101, "cg0", 9800, 200*time.Millisecond, 0),
			spinner(102, "cg0", 0, 10*time.Second),
		}},
		check.Group{Name: "cg1", CPUs: []int{2, 3}, Reports: []work.Report{
			spinner(201, "cg1", 9700, 300*time.Millisecond, 2, 0),
			stuck,
		}},
	)
	fmt.Println("passed:", res.Passed)
	for _, f := range res.Failures {
		fmt.Printf("%-10s %s\n", f.Kind, f.Message)
	}
	fmt.Print(res.Stats.Format())
	// Output:
	// passed: false
	// starved    cgroup cg0: worker 102 starved (0 work units in 10.0 s)
	// unfair     cgroup cg0: spread 98% (2-100%) over 2 workers on 1 CPU, limit 15%
	// unfair     cgroup cg1: spread 43% (3-46%) over 2 workers on 3 CPUs, limit 15%
	// stuck      cgroup cg1: worker 202 stuck 4500 ms on cpu3 at +3.2 s, limit 2000 ms
	// isolation  cgroup cg1: worker 201 ran on CPUs {0} outside cpuset 2-3
	//             workers  CPUs   units  /worker  off-CPU  spread  max gap       migrations  /checkpoint  units/CPU-s  rate CV  run delay mean/max
	// total       4        0,2-3  24900  4900     -        98%     4500 ms cpu3  0           0            -            0        0/0 ms
	// cgroup cg0  2        0      9800   4900     2-100%   98%     50 ms cpu0    0           0            1000         0        0/0 ms
	// cgroup cg1  2        0,2-3  15100  7550     3-46%    43%     4500 ms cpu3  0           0            1000         0        0/0 ms
}

// The nearest-rank percentile is always one of the samples.
func ExamplePercentile() {
	samples := []time.Duration{40, 10, 30, 20, 50}
	fmt.Println(check.Percentile(samples, 50), check.Percentile(samples, 99), check.Percentile(samples, 20))
	// Output: 30ns 50ns 10ns
}
