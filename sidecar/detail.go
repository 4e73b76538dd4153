package sidecar

// The parts of a result that explain it rather than compare it: what each
// worker did, how throughput moved, each check's figure against its limit
// and the texts a failure comes with. ktstr report draws them; ktstr stats
// does not compare them.

// Worker is one worker process of the test body.
type Worker struct {
	// Cgroup is the cgroup it ran in ("basic/steady-llc:cg0" in a
	// catalogue run), Kind its work type and Index its place in its
	// work group.
	Cgroup string `json:"cgroup"`
	Kind   string `json:"kind"`
	Index  int    `json:"index"`
	// PID is its process id in the guest.
	PID int `json:"pid,omitempty"`
	// WorkUnits counts the units of work it did.
	WorkUnits uint64 `json:"work_units"`
	// OffCPUPct is the share of its wall time it did not run, percent:
	// waiting runnable, or sleeping by design.
	OffCPUPct float64 `json:"off_cpu_pct"`
	// MaxGapMS is the longest it went unscheduled while it wanted to run,
	// ms; MaxGapCPU the CPU it was on after that gap; MaxGapAtMS when the
	// gap ended, ms from the test body's start (from the worker's own
	// start when the body's start is not known).
	MaxGapMS   float64 `json:"max_gap_ms"`
	MaxGapCPU  int     `json:"max_gap_cpu"`
	MaxGapAtMS float64 `json:"max_gap_at_ms"`
	// CPUs are the CPUs it was seen on.
	CPUs []int `json:"cpus,omitempty"`
	// Exit tells how it ended when it did not report normally.
	Exit string `json:"exit,omitempty"`
}

// Series is a named time series.
type Series struct {
	// Name is what the series measures: a cgroup's name for throughput.
	Name string `json:"name"`
	// AtMS is each point's time, ms from the test body's start, and
	// Values the value there.
	AtMS   []float64 `json:"at_ms"`
	Values []float64 `json:"values"`
}

// CheckFigure is one check's figure against the limit in force: the
// variant's worst case (the worst cgroup, worker or CPU).
type CheckFigure struct {
	// Name is the setting of check.Assert that holds the limit
	// ("MaxSpreadPct"), Kind the failure kind it reports.
	Name string `json:"name"`
	Kind string `json:"kind"`
	// What says what the figure measures.
	What string `json:"what"`
	// Value is the figure and Unit its unit ("%", "ms", "µs", "/s", or
	// "" for a ratio).
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
	// Limit is the limit, nil when the check was not in force.
	Limit *float64 `json:"limit,omitempty"`
	// Floor tells that the limit is a minimum, not a maximum.
	Floor bool `json:"floor,omitempty"`
}

// Over reports whether the figure is past its limit. The verdict can
// still differ: a monitor limit must be exceeded for some samples in a
// row, and time the host held the VM off is taken out of gaps.
func (c CheckFigure) Over() bool {
	if c.Limit == nil {
		return false
	}
	if c.Floor {
		return c.Value < *c.Limit
	}
	return c.Value > *c.Limit
}

// BPF is what the kernel reported of a sched_ext scheduler's BPF
// programs: the verifier's work on each once it was loaded, and its runs
// until just before the scheduler was stopped.
type BPF struct {
	// Programs are the scheduler's programs, in the order the kernel
	// numbered them.
	Programs []BPFProgram `json:"programs,omitempty"`
	// Notes say which figures could not be had, and why.
	Notes []string `json:"notes,omitempty"`
}

// BPFProgram is one BPF program of the scheduler. A zero figure was not
// reported.
type BPFProgram struct {
	// Name is the program's name ("simple_enqueue"), Type its program
	// type ("StructOps").
	Name string `json:"name"`
	Type string `json:"type"`
	// VerifiedInsns is how many instructions the verifier processed to
	// prove the program safe, every path it explored counted: the cost
	// of loading it, which the kernel caps at a million.
	VerifiedInsns uint32 `json:"verified_insns,omitempty"`
	// XlatedBytes and JitedBytes are its size as the kernel rewrote it
	// and as the JIT compiled it.
	XlatedBytes uint32 `json:"xlated_bytes,omitempty"`
	JitedBytes  uint32 `json:"jited_bytes,omitempty"`
	// Counted tells that the kernel counted the program's runs; RunCount
	// and RunTimeNS are then its runs and their total time, ns, and
	// unknown otherwise.
	Counted   bool   `json:"counted,omitempty"`
	RunCount  uint64 `json:"run_count,omitempty"`
	RunTimeNS uint64 `json:"run_time_ns,omitempty"`
}

// AvgRunNS is the program's mean time per run, ns; false when its runs
// were not counted or it never ran.
func (p BPFProgram) AvgRunNS() (float64, bool) {
	if !p.Counted || p.RunCount == 0 {
		return 0, false
	}
	return float64(p.RunTimeNS) / float64(p.RunCount), true
}

// VerifiedInsns sums the verified instructions of the programs; false
// when some program's count is unknown (or there are none), as a partial
// sum would compare wrongly with a full one.
func (b *BPF) VerifiedInsns() (uint64, bool) {
	if b == nil || len(b.Programs) == 0 {
		return 0, false
	}
	var sum uint64
	for _, p := range b.Programs {
		if p.VerifiedInsns == 0 {
			return 0, false
		}
		sum += uint64(p.VerifiedInsns)
	}
	return sum, true
}

// Logs are the texts that explain a run, each cut to its last
// MaxLogBytes.
type Logs struct {
	// Scheduler is the sched_ext scheduler's output, and SchedulerExit
	// how its process ended.
	Scheduler     string `json:"scheduler,omitempty"`
	SchedulerExit string `json:"scheduler_exit,omitempty"`
	// SchedulerRetried, when set, says why the scheduler's first start
	// failed (it exited before attaching and was started once more).
	SchedulerRetried string `json:"scheduler_retried,omitempty"`
	// SchedExtState is /sys/kernel/sched_ext/state after the scheduler
	// stopped.
	SchedExtState string `json:"sched_ext_state,omitempty"`
	// Detail is the first failure's supporting text: the kernel's reason
	// for ejecting a scheduler, a stack, a log tail.
	Detail string `json:"detail,omitempty"`
	// Dump is the sched_ext debug dump taken when the host monitor first
	// saw a limit exceeded.
	Dump string `json:"dump,omitempty"`
	// SchedulerMaps is the sched_ext scheduler's BPF maps, rendered
	// through their BTF, as the guest read them nearest the failure; its
	// first line says when. Unlike the other texts it keeps its start:
	// the global variables come first.
	SchedulerMaps string `json:"scheduler_maps,omitempty"`
	// Console is the end of the kernel console, kept for failed runs.
	Console string `json:"console,omitempty"`
}

// MaxLogBytes is how much of each text Logs keeps, from the end.
const MaxLogBytes = 32 << 10
