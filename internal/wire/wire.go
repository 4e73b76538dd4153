// Package wire is the format of what the host and the guest say to each other
// over the virtio-serial port: a stream of JSON values, one per message.
//
// The host speaks first with a [Request]; the guest answers with a stream of
// [Message]s that ends with exactly one carrying a [Result]. The host answers
// the messages that ask for it with a [Reply] of the same kind; it
// acknowledges the result that way as soon as it has decoded it, and the
// guest powers off only after that acknowledgement (or after a bounded wait),
// because what is still queued in the virtio ring when the VM stops is lost.
// Anything the guest
// prints on its standard output or error travels as [KindOutput] messages, so
// the kernel console (a slow 16550 UART) carries only kernel messages.
package wire

import (
	"fmt"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/work"
)

// PortName is the name of the virtio-serial port the guest looks for in
// /sys/class/virtio-ports/*/name.
const PortName = "ktstr.0"

// Shape is a CPU topology: NUMA nodes, last-level caches, cores per LLC and
// threads per core. LLCs are spread evenly over the nodes.
type Shape struct {
	Nodes   int `json:"nodes"`
	LLCs    int `json:"llcs"`
	Cores   int `json:"cores"`
	Threads int `json:"threads"`
}

// CPUs is the number of logical CPUs of the shape.
func (s Shape) CPUs() int { return s.LLCs * s.Cores * s.Threads }

// String is the shape's topology label, "{nodes}n{llcs}l{cores}c{threads}t",
// for example "1n2l4c2t".
func (s Shape) String() string {
	return fmt.Sprintf("%dn%dl%dc%dt", s.Nodes, s.LLCs, s.Cores, s.Threads)
}

// Scheduler says which sched_ext scheduler the guest must start before the
// test body. A nil *Scheduler means the kernel's default (EEVDF).
type Scheduler struct {
	// Name is the scheduler's display name.
	Name string `json:"name"`
	// Path is where the binary is in the guest.
	Path string `json:"path"`
	// Args are its arguments, without argv[0].
	Args []string `json:"args,omitempty"`
	// Ops, when set, is the sched_ext ops name that must appear in
	// /sys/kernel/sched_ext/root/ops once it is attached.
	Ops string `json:"ops,omitempty"`
	// AttachTimeout bounds the wait for state "enabled".
	AttachTimeout time.Duration `json:"attach_timeout"`
	// Watchdog, when positive, is the stall watchdog timeout the guest
	// puts into the scheduler's ops as it loads them, in place of the
	// scheduler's own.
	Watchdog time.Duration `json:"watchdog,omitempty"`
	// LibraryPath, when set, becomes LD_LIBRARY_PATH: directories of
	// libraries the guest's loader would not search by default.
	LibraryPath []string `json:"library_path,omitempty"`
	// RunStats has the kernel count each of its BPF programs' runs and
	// run time while it runs (BPF stats), at a cost to every callback.
	RunStats bool `json:"run_stats,omitempty"`
}

// Request tells the guest what to run.
type Request struct {
	// Test is the full name of the Go (sub)test to run, as t.Name() gives it.
	Test string `json:"test"`
	// Topology is what the guest must see; it checks before running anything.
	Topology Shape `json:"topology"`
	// Scheduler is nil for EEVDF.
	Scheduler *Scheduler `json:"scheduler,omitempty"`
	// Duration is the scenario duration the test body is given.
	Duration time.Duration `json:"duration"`
	// Verbose mirrors go test -v.
	Verbose bool `json:"verbose,omitempty"`
	// ExpectFailure tells that the test expects the run to fail
	// (ktstr.Spec.Expect): the host judges the failures against what it
	// expects, so the guest does not fail its own test on them, which
	// would print a FAIL above a test that passes.
	ExpectFailure bool `json:"expect_failure,omitempty"`
	// Assert is the merged check configuration (defaults for the
	// accelerator, then the scheduler's, then the test's).
	Assert check.Assert `json:"assert"`
	// Accel is the accelerator the VM runs on ("kvm" or "tcg").
	Accel string `json:"accel"`
	// Deterministic tells that guest time follows instructions (-icount).
	Deterministic bool `json:"deterministic,omitempty"`
	// CgroupParent is the cgroup, relative to the cgroup v2 root, that
	// test cgroups are made in ("/ktstr", or the scheduler's).
	CgroupParent string `json:"cgroup_parent"`
	// Kernels lists the kernel labels of the run when there are several,
	// so the guest builds the same subtest tree as the host.
	Kernels []string `json:"kernels,omitempty"`
	// Symbols are the addresses of KernelSymbols in this kernel, when the
	// host has them from an earlier boot of it (the guest boots with
	// nokaslr, so they do not change); the guest then need not read
	// /proc/kallsyms, which takes about a second under TCG.
	Symbols map[string]uint64 `json:"symbols,omitempty"`
	// Program, when set, names what the guest runs instead of a Go test:
	// one the guest binary registered (package guest, RegisterProgram),
	// such as the ktstr command's shell. Test then only names the run.
	Program string `json:"program,omitempty"`
	// Args are the program's arguments.
	Args []string `json:"args,omitempty"`
	// Terminal, when set, tells that the guest's console is the user's
	// terminal, of this size: an interactive program runs on it.
	Terminal *Terminal `json:"terminal,omitempty"`
}

// Terminal is the size of the user's terminal, in characters.
type Terminal struct {
	Rows uint16 `json:"rows"`
	Cols uint16 `json:"cols"`
	// Term is the host's $TERM, for programs that draw on it.
	Term string `json:"term,omitempty"`
}

// Phase is a named point of the body's timeline.
type Phase struct {
	Name string        `json:"name"`
	At   time.Duration `json:"at"`
	// End is when the phase ended; 0 for the last one until the body ends.
	End time.Duration `json:"end,omitempty"`
}

// Kind tells which field of a [Message] is set.
type Kind string

// The message kinds.
const (
	KindHello  Kind = "hello"  // the guest's init runs and has read the request
	KindOutput Kind = "output" // a chunk of the guest program's stdout/stderr
	KindEvent  Kind = "event"  // a milestone (scheduler attached, body started, ...)
	// KindStdout and KindStderr carry a chunk of a Request.Program's own
	// standard output and error (the command of the ktstr command's
	// shell --exec), kept apart from the harness's output so the host
	// can hand them to its own.
	KindStdout Kind = "stdout"
	KindStderr Kind = "stderr"
	// KindResult carries the final result. The host acknowledges it with
	// a Reply of this kind; the guest powers off after that.
	KindResult Kind = "result"
	// KindWatchdog asks the host to read the stall watchdog in force from
	// guest memory, an account independent of what the guest did to set
	// it; Symbols carries the addresses it needs. The host answers with a
	// Reply whose Watchdog holds what it read.
	KindWatchdog Kind = "watchdog"
	// KindSymbols gives the host the addresses of KernelSymbols, from the
	// guest's /proc/kallsyms, before the scheduler starts: the host
	// monitor reads guest memory through them.
	KindSymbols Kind = "symbols"
	// KindDump is a Reply the host sends unasked: the host monitor saw a
	// limit exceeded, and the guest takes a sched_ext dump (SysRq-D) while
	// the failure is there, which its Result then carries.
	KindDump Kind = "dump"
)

// The milestones a KindEvent message's Text names.
const (
	EventBodyStart = "body-start"
	EventBodyEnd   = "body-end"
)

// KernelSymbols are the guest kernel symbols a KindSymbols or KindWatchdog
// message carries: where the host finds the runqueues, the jiffies and
// the sched_ext state in guest memory. The first five are in every kernel;
// the page table root translates per-CPU memory allocated after boot; the
// sched_ext ones are missing from a kernel without sched_ext. Kernels
// before struct scx_sched (6.12 LTS) keep the scheduler's state in static
// variables instead of behind scx_root: the last four are theirs.
var KernelSymbols = []string{
	"phys_base", "page_offset_base", "runqueues", "__per_cpu_offset", "jiffies_64",
	"init_top_pgt", "scx_root", "scx_watchdog_interval", "scx_enable_state_var",
	"scx_watchdog_timeout", "scx_ops_enable_state_var", "global_dsqs", "dsq_hash",
}

// RequiredSymbols is how many of KernelSymbols, the first ones, every
// kernel has and the host monitor cannot do without.
const RequiredSymbols = 5

// HasRequiredSymbols reports whether syms holds every required symbol.
func HasRequiredSymbols(syms map[string]uint64) bool {
	for _, s := range KernelSymbols[:RequiredSymbols] {
		if syms[s] == 0 {
			return false
		}
	}
	return true
}

// Watchdog is the sched_ext stall watchdog as the kernel holds it.
type Watchdog struct {
	// Timeout is the root scheduler's watchdog_timeout: a runnable task
	// not run for longer gets it ejected.
	Timeout time.Duration `json:"timeout"`
	// Interval is how often the watchdog checks (scx_watchdog_interval;
	// half the timeout on kernels without that variable).
	Interval time.Duration `json:"interval"`
}

// Reply is the host's answer to a guest message that asks for one.
type Reply struct {
	Kind     Kind      `json:"kind"`
	Text     string    `json:"text,omitempty"`
	Err      string    `json:"err,omitempty"`
	Watchdog *Watchdog `json:"watchdog,omitempty"`
}

// Message is one guest-to-host message.
type Message struct {
	Kind   Kind    `json:"kind"`
	Text   string  `json:"text,omitempty"`
	Result *Result `json:"result,omitempty"`
	// Symbols maps kernel symbol names to their addresses.
	Symbols map[string]uint64 `json:"symbols,omitempty"`
	// At is the guest's monotonic time since init started.
	At time.Duration `json:"at"`
	// Clock is the guest's CLOCK_MONOTONIC when the message was sent,
	// the clock worker reports are stamped with; the host places the
	// guest's clock on its own from it.
	Clock time.Duration `json:"clock,omitempty"`
}

// Result is what the guest reports at the end.
type Result struct {
	Passed bool `json:"passed"`
	// Failures lists every failure found; the first is the primary one.
	Failures []Failure `json:"failures,omitempty"`
	// Topology is what the guest saw.
	Topology *GuestTopology `json:"topology,omitempty"`
	// Scheduler describes the sched_ext scheduler run, if any.
	Scheduler *SchedulerReport `json:"scheduler,omitempty"`
	// Workers lists every worker process the test body ran.
	Workers []work.Report `json:"workers,omitempty"`
	// Checks is every scheduling check the guest evaluated, merged.
	Checks *check.Result `json:"checks,omitempty"`
	// Timeline lists the phases the body marked (scenario steps).
	Timeline []Phase `json:"timeline,omitempty"`
	// BodyStart is the guest's CLOCK_MONOTONIC when the test body
	// started: the instant Timeline's At and End count from, on the clock
	// of the workers' Start and Progress, so that BodyStart + At places a
	// phase among the workers' series.
	BodyStart time.Duration `json:"body_start,omitempty"`
	// KernelRelease is uname -r in the guest.
	KernelRelease string `json:"kernel_release,omitempty"`
	// Leftovers lists guest resources (cgroups, processes) the body left
	// behind and the harness had to remove.
	Leftovers []string `json:"leftovers,omitempty"`
	// Payloads lists the payload runs of the body, in the order they
	// ended.
	Payloads []PayloadResult `json:"payloads,omitempty"`
	// MonitorDump is the sched_ext dump the guest took when the host
	// monitor asked (KindDump), one line per entry.
	MonitorDump []string `json:"monitor_dump,omitempty"`
	// SchedulerMaps is the sched_ext scheduler's BPF maps as the guest
	// read them nearest a failure; nil when the run did not fail with a
	// scheduler attached.
	SchedulerMaps *MapDump `json:"scheduler_maps,omitempty"`
	// ExitStatus is a Request.Program's exit status, such as the status of
	// the command the ktstr command's shell ran with --exec.
	ExitStatus int `json:"exit_status,omitempty"`
}

// MapDump is a scheduler's BPF maps as read at one moment, rendered
// through their BTF (package bpfdump).
type MapDump struct {
	// When says at which moment they were read: "when the host monitor
	// first saw a limit exceeded (...)".
	When string `json:"when"`
	// Text is the maps, one heading per map and its contents below.
	Text string `json:"text"`
}

// Failure is one reason a test failed.
type Failure struct {
	Kind    check.Kind `json:"kind"`
	Message string     `json:"message"`
	// Detail is long supporting text: a diff, a log tail, a stack.
	Detail string `json:"detail,omitempty"`
}

// GuestTopology is the CPU topology as the guest kernel reports it in sysfs.
type GuestTopology struct {
	// CPUs lists the online CPU ids.
	CPUs []int `json:"cpus"`
	// LLCs lists the CPU ids sharing each last-level cache, ordered by their
	// lowest CPU.
	LLCs [][]int `json:"llcs"`
	// Nodes lists each NUMA node's CPUs, by node id.
	Nodes [][]int `json:"nodes"`
	// Distances is the NUMA distance matrix, by node id.
	Distances [][]int `json:"distances"`
	// Siblings lists each CPU's SMT siblings (including itself), by CPU id.
	Siblings [][]int `json:"siblings"`
}

// SchedulerReport describes a sched_ext scheduler's life in the guest.
type SchedulerReport struct {
	Name        string        `json:"name"`
	Ops         string        `json:"ops,omitempty"`
	AttachAfter time.Duration `json:"attach_after,omitempty"`
	// Exit describes how the process ended, e.g. "exit status 1".
	Exit string `json:"exit,omitempty"`
	// Output is the tail of its stdout and stderr.
	Output string `json:"output,omitempty"`
	// Watchdog says which stall watchdog timeout was in force and how
	// that is known.
	Watchdog string `json:"watchdog,omitempty"`
	// Retried, when set, says why the first start failed: the scheduler
	// exited before attaching and was started once more.
	Retried string `json:"retried,omitempty"`
	// WatchdogInForce is the watchdog the host read from guest memory
	// once the scheduler had attached; nil when it could not be read.
	WatchdogInForce *Watchdog `json:"watchdog_in_force,omitempty"`
	// FinalState is /sys/kernel/sched_ext/state after it was stopped.
	FinalState string `json:"final_state,omitempty"`
	// Programs are the scheduler's BPF programs with the kernel's figures
	// for each, in the order the kernel numbered them.
	Programs []BPFProgram `json:"programs,omitempty"`
	// ProgramNotes say which of those figures could not be had, and why.
	ProgramNotes []string `json:"program_notes,omitempty"`
}

// BPFProgram is one BPF program of a sched_ext scheduler: what the
// verifier did with it once it was loaded, and how often it ran. A zero
// figure was not reported.
type BPFProgram struct {
	// ID is the kernel's program id.
	ID uint32 `json:"id"`
	// Name is the program's name (the function's full name from its BTF
	// when the kernel's 15 characters cut it), Type its program type
	// ("StructOps", "Syscall", ...).
	Name string `json:"name"`
	Type string `json:"type"`
	// VerifiedInsns is how many instructions the verifier processed to
	// prove the program safe, every path it explored counted (the
	// kernel's verified_insns, at most a million): the load's cost, not
	// the program's size.
	VerifiedInsns uint32 `json:"verified_insns,omitempty"`
	// XlatedBytes and JitedBytes are the sizes of the program as the
	// kernel rewrote it and as the JIT compiled it.
	XlatedBytes uint32 `json:"xlated_bytes,omitempty"`
	JitedBytes  uint32 `json:"jited_bytes,omitempty"`
	// Counted tells that the kernel counted the program's runs (BPF
	// stats were on for the scheduler's life); RunCount and RunTime are
	// then its runs and their total time until just before the scheduler
	// was stopped, and unknown otherwise.
	Counted  bool          `json:"counted,omitempty"`
	RunCount uint64        `json:"run_count,omitempty"`
	RunTime  time.Duration `json:"run_time,omitempty"`
}

// PayloadResult is one payload run of the test body.
type PayloadResult struct {
	// Name is the payload's name, "name#2" for its second run, and so on.
	Name string `json:"name"`
	// ExitCode is the exit status, -1 when a signal ended the payload.
	ExitCode int `json:"exit_code"`
	// Signal names the signal that ended it, if one did.
	Signal   string        `json:"signal,omitempty"`
	Duration time.Duration `json:"duration"`
	// Killed tells that the body (or the end of the body) stopped it;
	// TimedOut that it ran past its timeout.
	Killed   bool `json:"killed,omitempty"`
	TimedOut bool `json:"timed_out,omitempty"`
	// Metrics are its metrics by name, all finite.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}
