package work

import "time"

// Report is what one worker process measured over its run. Workers fill it
// in themselves; the harness adds PID, Cgroup and the cpuset it expected.
type Report struct {
	// PID is the worker's process id.
	PID int `json:"pid"`
	// Cgroup is the cgroup the worker ran in, relative to the harness's
	// cgroup parent ("" for the parent itself, as host contention runs).
	Cgroup string `json:"cgroup"`
	// Kind is the work type.
	Kind Kind `json:"kind"`
	// Index is the worker's position in its work group (0 is a fan-out's
	// messenger).
	Index int `json:"index"`
	// Messenger marks the waker of a fan-out group; its wake-ups are not
	// wake-up latencies.
	Messenger bool `json:"messenger,omitempty"`

	// WorkUnits counts units of the work type's work done.
	WorkUnits uint64 `json:"work_units"`
	// CPUTime is user plus system time of the worker process.
	CPUTime time.Duration `json:"cpu_time"`
	// WallTime is the time from start to stop.
	WallTime time.Duration `json:"wall_time"`
	// OffCPU is WallTime minus CPUTime: time runnable but waiting, or
	// sleeping.
	OffCPU time.Duration `json:"off_cpu"`

	// CPUs lists every CPU the worker was seen on at a checkpoint.
	CPUs []int `json:"cpus"`
	// Migrations counts CPU changes between consecutive checkpoints.
	Migrations uint64 `json:"migrations"`
	// Checkpoints counts progress checkpoints (where CPU and time are
	// sampled).
	Checkpoints uint64 `json:"checkpoints"`

	// MaxGap is the longest wall time between two consecutive
	// checkpoints (the start and the stop count as checkpoints): a worker
	// that was not run for a while shows here. Voluntary waits (sleeps,
	// waiting for a partner) count only from when the worker was ready to
	// run again.
	MaxGap time.Duration `json:"max_gap"`
	// MaxGapCPU is the CPU the worker was on after that gap.
	MaxGapCPU int `json:"max_gap_cpu"`
	// MaxGapAt is when the gap ended, since the worker started.
	MaxGapAt time.Duration `json:"max_gap_at"`
	// Gaps are the longest gaps, longest first (MaxGap is the first), at
	// most MaxGaps of them: enough to judge the longest gap again once
	// time the host held the VM off is taken out of each.
	Gaps []Gap `json:"gaps,omitempty"`
	// Start is the guest's CLOCK_MONOTONIC when the worker started its
	// work, which places MaxGapAt and Gaps on the guest's clock.
	Start time.Duration `json:"start,omitempty"`

	// WakeLatencies is a uniform sample (reservoir) of the delays between
	// when the worker should have resumed (a sleep ended, a partner woke
	// it) and when it ran. Only for work types that sleep or wait.
	WakeLatencies []time.Duration `json:"wake_latencies,omitempty"`
	// WakeSamples counts every wake-up seen, sampled or not.
	WakeSamples uint64 `json:"wake_samples,omitempty"`

	// RunDelay is the time spent runnable on a run queue and Timeslices
	// the number of times run, from /proc/self/schedstat deltas.
	RunDelay   time.Duration `json:"run_delay"`
	Timeslices uint64        `json:"timeslices"`

	// NUMAPages counts the worker's resident pages per NUMA node, from
	// /proc/self/numa_maps, when a memory policy was set.
	NUMAPages map[int]uint64 `json:"numa_pages,omitempty"`

	// ExpectedCPUs is the cpuset the harness placed the worker in, when
	// it had one; isolation checks compare CPUs against it.
	ExpectedCPUs []int `json:"expected_cpus,omitempty"`
	// Exit tells how the worker ended when it did not report normally,
	// e.g. "killed after the stop deadline".
	Exit string `json:"exit,omitempty"`
}

// MaxGaps is how many of its longest gaps a worker reports.
const MaxGaps = 8

// Gap is one time a worker wanted the CPU and did not run.
type Gap struct {
	// Len is the gap's length.
	Len time.Duration `json:"len"`
	// At is when it ended, since the worker started.
	At time.Duration `json:"at"`
	// CPU is the CPU the worker was on after it.
	CPU int `json:"cpu"`
}
