package sidecar

import (
	"time"
)

// SchemaVersion is the version of the sidecar JSON schema this package
// writes and the newest it reads. It goes up when a field changes meaning
// or is removed; added fields keep it.
const SchemaVersion = 1

// FileSuffix ends every sidecar's file name.
const FileSuffix = ".ktstr.json"

// Run sources (Result.RunSource).
const (
	// SourceLocal marks a run on a developer's machine.
	SourceLocal = "local"
	// SourceCI marks a run where KTSTR_CI or CI is set.
	SourceCI = "ci"
)

// Accelerators (Result.Accelerator).
const (
	// AccelKVM is hardware virtualisation.
	AccelKVM = "kvm"
	// AccelTCG is QEMU's emulation.
	AccelTCG = "tcg"
	// AccelHost is no VM: the run was on the host itself (ktstr run
	// --host, ktstr.RunProgramOnHost).
	AccelHost = "host"
)

// Result is one sidecar: what a test variant was, where it ran and what it
// measured. Fields that were not known are left zero and omitted from the
// JSON.
type Result struct {
	// Schema is the schema version; Writer sets it to SchemaVersion.
	Schema int `json:"schema"`

	// TestName is the full go test name, subtests included
	// ("TestTwoCgroups/1n2l2c1t").
	TestName string `json:"test_name"`
	// Package is the test's package directory relative to the module root
	// ("examples/schedulers", "." for the root), for `ktstr test --replay`.
	Package string `json:"package,omitempty"`
	// Topology is the topology label ("1n2l2c1t").
	Topology string `json:"topology"`
	// Scheduler names the scheduler: "eevdf" or a sched_ext scheduler.
	Scheduler string `json:"scheduler"`
	// Flags are the active scheduler flags of the variant's flag profile.
	Flags []string `json:"flags,omitempty"`
	// WorkType is the work type of the workers ("spin", "mixed", …).
	WorkType string `json:"work_type,omitempty"`
	// Payload names the payload program the test ran, if any.
	Payload string `json:"payload,omitempty"`

	// KernelVersion is the kernel release the guest booted.
	KernelVersion string `json:"kernel_version,omitempty"`
	// KernelLabel is the last element of TestName when the run split the
	// test by kernel (several --kernel), else empty: comparisons across
	// kernels pair the variants without it.
	KernelLabel string `json:"kernel_label,omitempty"`
	// KernelCommit is the HEAD of the kernel's source tree, when the
	// kernel came from one (7 hex, "-dirty" suffix as ProjectCommit).
	KernelCommit string `json:"kernel_commit,omitempty"`
	// ProjectCommit is the commit of the project under test, as
	// ProjectCommit reports it ("unknown" outside git).
	ProjectCommit string `json:"project_commit"`

	// Passed reports that the test passed. A skipped test has Passed
	// false and Skipped true.
	Passed bool `json:"passed"`
	// Skipped reports that the variant did not run.
	Skipped bool `json:"skipped,omitempty"`
	// SkipReason says why it was skipped.
	SkipReason string `json:"skip_reason,omitempty"`
	// Failures are the failure messages, one per failed check or error.
	Failures []string `json:"failures,omitempty"`
	// Expect, when set, is the failure the test expected: Passed then
	// tells whether the run failed that way, and Failures are how it
	// failed.
	Expect *Expect `json:"expect,omitempty"`

	// Stats are the measured statistics, overall and per cgroup.
	Stats Stats `json:"stats"`
	// Steps is the timeline of the scenario's steps.
	Steps []Step `json:"steps,omitempty"`
	// PayloadMetrics are the metrics a payload reported, by name.
	PayloadMetrics map[string]float64 `json:"payload_metrics,omitempty"`

	// Sysctls are the sysctls the guest was given (name → value).
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// KernelArgs are the extra kernel command-line arguments.
	KernelArgs []string `json:"kernel_args,omitempty"`
	// Accelerator is AccelKVM, AccelTCG or AccelHost.
	Accelerator string `json:"accelerator,omitempty"`
	// Deterministic tells that guest time followed instructions executed
	// (TCG with -icount), not the host's clock.
	Deterministic bool `json:"deterministic,omitempty"`
	// HostNoise says how long the host held the VM's virtual CPUs off
	// during the run; nil when it was not measured.
	HostNoise *HostNoise `json:"host_noise,omitempty"`
	// Monitor is what the host monitor saw of the guest's runqueues; nil
	// when it did not run.
	Monitor *Monitor `json:"monitor,omitempty"`
	// Workers are the test body's workers, one entry each.
	Workers []Worker `json:"workers,omitempty"`
	// Throughput is each cgroup's work units per second over time, from
	// the workers' progress.
	Throughput []Series `json:"throughput,omitempty"`
	// Checks are the checks' worst figures against their limits.
	Checks []CheckFigure `json:"checks,omitempty"`
	// BPF holds the sched_ext scheduler's BPF programs with the kernel's
	// figures for each; nil under EEVDF or when they were not read.
	BPF *BPF `json:"bpf,omitempty"`
	// Logs are the texts that explain the run.
	Logs *Logs `json:"logs,omitempty"`
	// Host describes the machine the VM ran on.
	Host *Host `json:"host,omitempty"`

	// Timestamp is when the variant finished.
	Timestamp time.Time `json:"timestamp"`
	// RunID identifies the run the variant belongs to (see RunID).
	RunID string `json:"run_id"`
	// RunSource is SourceLocal or SourceCI (see RunSource).
	RunSource string `json:"run_source"`

	// Path is the file the result was read from (set by ReadFile and
	// ReadDir, never written).
	Path string `json:"-"`
}

// Stats holds a variant's statistics as named numbers. Names are the
// Metric* constants where one applies (the registry of ktstr stats
// compares them, knowing which direction is better); other names are
// allowed and compared with a default policy.
type Stats struct {
	// Overall are the statistics over all workers: totals, and the worst
	// value of any cgroup for the per-cgroup figures.
	Overall Metrics `json:"overall,omitempty"`
	// Cgroups are each cgroup's statistics, by cgroup name, with the
	// same names ("worst_spread" of a cgroup is that cgroup's spread).
	Cgroups map[string]Metrics `json:"cgroups,omitempty"`
}

// Metrics maps metric names to values.
type Metrics map[string]float64

// Names of the statistics, as Stats and the registry of ktstr stats use
// them. Totals sum over workers; "worst" is the worst value of any cgroup
// (largest for lower-is-better metrics, smallest for higher-is-better
// ones).
const (
	MetricTotalWorkers              = "total_workers"                // workers
	MetricTotalCPUs                 = "total_cpus"                   // distinct CPUs the workers may run on
	MetricTotalIterations           = "total_iterations"             // work units done, summed over workers
	MetricTotalMigrations           = "total_migrations"             // CPU changes seen, summed over workers
	MetricWorstSpread               = "worst_spread"                 // max - min off-CPU %, per cgroup
	MetricWorstGapMS                = "worst_gap_ms"                 // longest time a worker was not run, ms
	MetricWorstMigrationRatio       = "worst_migration_ratio"        // migrations per work unit
	MetricWorstP99WakeLatencyUS     = "worst_p99_wake_latency_us"    // p99 wake-up latency, µs
	MetricWorstMedianWakeLatencyUS  = "worst_median_wake_latency_us" // median wake-up latency, µs
	MetricWorstWakeLatencyCV        = "worst_wake_latency_cv"        // σ/μ of wake-up latencies
	MetricWorstWakeLatencyTailRatio = "worst_wake_latency_tail_ratio"
	MetricWorstMeanRunDelayUS       = "worst_mean_run_delay_us" // mean run-queue wait per timeslice, µs
	MetricWorstRunDelayUS           = "worst_run_delay_us"      // largest per-worker run-queue wait per timeslice, µs
	MetricWorstIterationsPerWorker  = "worst_iterations_per_worker"
	MetricWorstPageLocality         = "worst_page_locality" // fraction of pages on the worker's NUMA nodes
	MetricWorstCrossNodeMigration   = "worst_cross_node_migration_ratio"
	MetricMaxImbalanceRatio         = "max_imbalance_ratio"   // monitor: a CPU's load over the least loaded CPU its tasks may use
	MetricMaxDSQDepth               = "max_dsq_depth"         // monitor: deepest sched_ext local DSQ
	MetricStallCount                = "stall_count"           // monitor: stalls seen
	MetricTotalFallback             = "total_fallback"        // monitor: select_cpu fallback events
	MetricTotalKeepLast             = "total_keep_last"       // monitor: dispatch keep-last events
	MetricIdleWhileWaitingMS        = "idle_while_waiting_ms" // monitor: longest a CPU idled while tasks allowed there waited, ms
	MetricMaxFallbackRate           = "max_fallback_rate"     // monitor: highest select_cpu fallback events per second
	MetricMaxKeepLastRate           = "max_keep_last_rate"    // monitor: highest dispatch keep-last events per second
	MetricTotalVerifiedInsns        = "total_verified_insns"  // instructions the verifier processed, summed over the scheduler's BPF programs
	// MetricVerifiedInsnsPrefix followed by a BPF program's name is the
	// instructions the verifier processed for that program of the
	// scheduler (see VerifiedInsnsMetric).
	MetricVerifiedInsnsPrefix = "verified_insns."
)

// VerifiedInsnsMetric is the name of the verified instructions of the
// scheduler's BPF program prog ("verified_insns.simple_enqueue").
func VerifiedInsnsMetric(prog string) string { return MetricVerifiedInsnsPrefix + prog }

// Step is one entry of a scenario's step timeline.
type Step struct {
	// Name describes the step.
	Name string `json:"name"`
	// Start is when the step began, from the scenario's start.
	Start time.Duration `json:"start_ns"`
	// Duration is how long it lasted.
	Duration time.Duration `json:"duration_ns"`
}

// Failed reports whether the variant ran and did not pass.
func (r *Result) Failed() bool { return !r.Passed && !r.Skipped }

// Monitor is what the host monitor saw: it read every CPU's runqueue from
// guest memory each period while the test ran.
type Monitor struct {
	// Samples counts the samples; Judged those in the body's window (after
	// the warm-up) in which the guest's own time went on.
	Samples int `json:"samples"`
	Judged  int `json:"judged"`
	// MaxImbalance is the largest ratio of a CPU's runnable tasks to the
	// least loaded CPU they may run on.
	MaxImbalance float64 `json:"max_imbalance"`
	// MaxLocalDSQ, MaxGlobalDSQ and MaxUserDSQ are the deepest sched_ext
	// dispatch queues (user DSQs summed); -1 when unknown or without
	// sched_ext.
	MaxLocalDSQ  int64 `json:"max_local_dsq"`
	MaxGlobalDSQ int64 `json:"max_global_dsq"`
	MaxUserDSQ   int64 `json:"max_user_dsq"`
	// IdleWhileWaitingMS is the longest time, in guest time, a CPU stayed
	// idle while tasks allowed on it waited elsewhere, ms.
	IdleWhileWaitingMS float64 `json:"idle_while_waiting_ms"`
	// LongestClockStopMS is the longest a CPU's runqueue clock stood still
	// while it had runnable tasks, ms.
	LongestClockStopMS float64 `json:"longest_clock_stop_ms"`
	// EventDeltas counts the sched_ext events over the judged window, and
	// EventRates gives each one's highest rate per second.
	EventDeltas map[string]int64   `json:"event_deltas,omitempty"`
	EventRates  map[string]float64 `json:"event_rates,omitempty"`
	// Findings are the monitor limits the run exceeded, first first.
	Findings []MonitorFinding `json:"findings,omitempty"`
	// Notes say what the monitor could not see, and why.
	Notes []string `json:"notes,omitempty"`
	// Series is the per-CPU time series, down-sampled.
	Series *MonitorSeries `json:"series,omitempty"`
}

// MonitorFinding is a monitor limit a run exceeded.
type MonitorFinding struct {
	// Kind is the check's failure kind (check.Kind).
	Kind    string `json:"kind"`
	Message string `json:"message"`
	// AtMS is when the limit was first exceeded, from the body's start.
	AtMS float64 `json:"at_ms"`
}

// MonitorSeries is a per-CPU time series: each point holds the largest
// value of its span.
type MonitorSeries struct {
	// AtMS is each point's time from the body's start, ms.
	AtMS []float64 `json:"at_ms"`
	// NrRunning has one row per CPU: runnable tasks.
	NrRunning [][]uint32 `json:"nr_running"`
	// LocalDSQ has one row per CPU: sched_ext local DSQ depth; nil
	// without sched_ext.
	LocalDSQ [][]uint32 `json:"local_dsq,omitempty"`
}

// HostNoise is how long the host held a VM's virtual CPUs off (their QEMU
// threads runnable but waiting for a host CPU), which the guest's clock
// counts as time its tasks ran or waited.
type HostNoise struct {
	// HeldMS is the longest any vCPU thread was held off in all, ms.
	HeldMS float64 `json:"held_ms"`
	// Stalls counts stretches of 50 ms or more held off; LongestMS is the
	// longest of them, ms.
	Stalls    int     `json:"stalls"`
	LongestMS float64 `json:"longest_ms,omitempty"`
	// Notes say which verdicts the held-off time was taken out of.
	Notes []string `json:"notes,omitempty"`
}

// Expect is the failure a test expected (ktstr.Spec.Expect).
type Expect struct {
	// Kind is the failure kind the first failure had to have, Contains
	// the texts its message or detail had to contain.
	Kind     string   `json:"kind"`
	Contains []string `json:"contains,omitempty"`
	// Met tells that the run failed that way.
	Met bool `json:"met"`
}
