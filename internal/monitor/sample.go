package monitor

import "time"

// Sample is one reading of every CPU's runqueue.
type Sample struct {
	// At is the host's time since the monitor started.
	At time.Duration
	// Jiffies is the guest's jiffies_64: its own time. Outside -icount it
	// follows the host's clock, so it also passes while the host holds
	// the vCPUs off: a frozen guest catches up on the ticks it missed as
	// soon as it runs again (see Monitor's held function).
	Jiffies uint64
	// CPUs holds one entry per guest CPU.
	CPUs []CPU
	// SCX is the sched_ext state, nil when no sched_ext scheduler is
	// attached (or the kernel has none).
	SCX *SCX
}

// CPU is one CPU's runqueue.
type CPU struct {
	// NrRunning counts the runqueue's runnable tasks, the running one
	// included (rq->nr_running).
	NrRunning uint32
	// Clock is the runqueue's clock (rq->clock), in ns.
	Clock uint64
	// Idle tells that the CPU runs its idle task.
	Idle bool
	// Curr is the task running on the CPU.
	Curr Task
	// Waiting are the runnable tasks queued on this CPU but not running,
	// with the CPUs they may run on (at most maxWaiting of them).
	Waiting []Waiter
	// SCXNrRunning and LocalDSQ are the sched_ext runqueue's runnable
	// count and its local dispatch queue's depth; meaningful when the
	// Sample's SCX is set.
	SCXNrRunning uint32
	LocalDSQ     uint32
	// Events are this CPU's sched_ext event counters, in the order of
	// Layout's events (nil without sched_ext).
	Events []int64
}

// Task identifies a task.
type Task struct {
	PID    int32
	Comm   string
	Policy uint32
}

// Waiter is a runnable task waiting on a CPU's queue.
type Waiter struct {
	PID int32
	// Allowed is its cpumask (task_struct.cpus_ptr), one bit per CPU.
	Allowed []uint64
}

// allows reports whether the task may run on cpu.
func (w Waiter) allows(cpu int) bool {
	i := cpu / 64
	return i < len(w.Allowed) && w.Allowed[i]&(1<<(cpu%64)) != 0
}

// SCX is the sched_ext scheduler's state in a sample.
type SCX struct {
	// EnableState is the kernel's scx_enable_state: 0 enabling,
	// 1 enabled, 2 disabling, 3 disabled; -1 when unknown.
	EnableState int32
	// GlobalDSQ is the depth of the global dispatch queue (summed over
	// NUMA nodes); UserDSQ the summed depth of the scheduler's own queues
	// and UserDSQs how many it has. -1 when this kernel cannot say.
	GlobalDSQ, UserDSQ, UserDSQs int64
}
