package check

// Kind classifies a failure: a check's [Failure], or the failure of a whole
// run that the harness reports beside them. It is the one failure kind of
// ktstr: the guest, the host, the result files and `ktstr stats` all use
// these values.
type Kind string

// The failure kinds, one per check (Throughput and WakeLatency cover two
// limits each).
const (
	// Starved: a worker did no work (NotStarved).
	Starved Kind = "starved"
	// Unfair: off-CPU time spread too wide (MaxSpreadPct).
	Unfair Kind = "unfair"
	// Stuck: a worker went unscheduled too long (MaxGap).
	Stuck Kind = "stuck"
	// Isolation: a worker ran outside its cpuset (Isolation).
	Isolation Kind = "isolation"
	// Throughput: work rates too uneven or too low (MaxThroughputCV,
	// MinWorkRate).
	Throughput Kind = "throughput"
	// WakeLatency: wake-ups too slow or too uneven (MaxP99WakeLatency,
	// MaxWakeLatencyCV).
	WakeLatency Kind = "wake-latency"
	// Migration: too many CPU migrations (MaxMigrationRatio).
	Migration Kind = "migration"
	// PageLocality: too many pages off the policy's nodes
	// (MinPageLocality).
	PageLocality Kind = "page-locality"
)

// The host monitor's kinds: it reads the guest kernel's runqueues from the
// host while the test runs.
const (
	// Imbalance: one CPU queued many times more tasks than another CPU
	// they may use (MaxImbalanceRatio).
	Imbalance Kind = "imbalance"
	// DSQDepth: a sched_ext local dispatch queue grew too deep
	// (MaxLocalDSQDepth).
	DSQDepth Kind = "dsq-depth"
	// RqStall: a CPU's runqueue clock stopped while it had runnable tasks
	// (FailOnStall).
	RqStall Kind = "rq-stall"
	// EventRate: too many sched_ext fallback or keep-last events
	// (MaxFallbackRate, MaxKeepLastRate).
	EventRate Kind = "event-rate"
	// WorkConservation: a CPU stayed idle while tasks allowed on it waited
	// elsewhere (MaxIdleWhileWaiting).
	WorkConservation Kind = "work-conservation"
)

// The kinds of a run's own failures, beside the checks': they let a reader
// tell a scheduler bug from a test bug or a harness problem.
const (
	// Body: the test body returned an error or panicked.
	Body Kind = "body"
	// TopologyMismatch: the guest does not see the requested topology.
	TopologyMismatch Kind = "topology-mismatch"
	// SchedulerNotAttached: the sched_ext scheduler did not attach.
	SchedulerNotAttached Kind = "scheduler-not-attached"
	// SchedulerDied: the scheduler process exited during the test.
	SchedulerDied Kind = "scheduler-died"
	// SchedulerEjected: the kernel disabled the scheduler.
	SchedulerEjected Kind = "scheduler-ejected"
	// SchedulerNotDetached: sched_ext was still on after the scheduler
	// stopped.
	SchedulerNotDetached Kind = "scheduler-not-detached"
	// Payload: a payload's checks failed, its output did not parse, or it
	// timed out.
	Payload Kind = "payload"
	// Guest: the harness inside the guest failed.
	Guest Kind = "guest"

	// The host decides these without a guest result.

	// KernelPanic: the guest kernel panicked.
	KernelPanic Kind = "kernel-panic"
	// Timeout: the run did not end in time.
	Timeout Kind = "timeout"
	// Boot: the guest did not boot.
	Boot Kind = "boot"
	// Host: the host side failed.
	Host Kind = "host"
	// NoResult: the guest ended without a result.
	NoResult Kind = "no-result"
)
