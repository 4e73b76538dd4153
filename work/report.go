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

	// Progress is the work units done over time, for throughput over
	// time; none for custom work, whose count the harness does not see.
	Progress Progress `json:"progress,omitzero"`

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

// OffCPUPct is the share of its wall time the worker did not run, in
// percent: OffCPU/WallTime·100, 0 without wall time.
func (r *Report) OffCPUPct() float64 {
	if r.WallTime <= 0 {
		return 0
	}
	return float64(r.OffCPU) / float64(r.WallTime) * 100
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

// Progress is a worker's cumulative work unit count over time, sampled at
// bucket boundaries on the guest's CLOCK_MONOTONIC. Boundaries are
// multiples of Every (absolute times, not relative to the worker's start),
// so the series of all the workers of a run share them.
//
// Units[i], for every point but the last, is the count at Start +
// i*Every: strictly, the count at the worker's first checkpoint at or after
// that boundary, so a point may include up to one checkpoint interval's
// work past it (tens of microseconds for spinning work; for a worker that
// waits, up to the wait). Units[0] is the count at the worker's start, 0,
// Start being the boundary at or before it. A worker that did not reach a
// checkpoint for a while (not run, or waiting) repeats the same count over
// the boundaries it missed. The last point is the final count (WorkUnits)
// at End, when the worker stopped, in general not a boundary: End is after
// the boundary of the point before it and less than Every later. (When the
// stop fell exactly on a boundary, the last point is that boundary's and
// End is Every after the point before it.) Units[i+1]-Units[i] is thus the
// work done between points i and i+1, the last interval being the partial
// bucket before the stop.
//
// Every starts at 100 ms. A series holds at most 512 points; a longer run
// doubles Every and keeps the points at multiples of the new width (when
// Start is not one, the series starts one old Every earlier, at 0). Every
// is thus 100 ms times a power of two, and a finer series can be reduced to
// a coarser one's boundaries by keeping the points that fall on them.
type Progress struct {
	// Start is the time of Units[0], a multiple of Every.
	Start time.Duration `json:"start"`
	// Every is the distance between boundaries.
	Every time.Duration `json:"every"`
	// Units is the cumulative count at each point.
	Units []uint64 `json:"units"`
	// End is the time of the last point, the worker's stop.
	End time.Duration `json:"end"`
}

// At returns the time of point i: Start + i*Every, End for the last.
func (p Progress) At(i int) time.Duration {
	if i == len(p.Units)-1 {
		return p.End
	}
	return p.Start + time.Duration(i)*p.Every
}
