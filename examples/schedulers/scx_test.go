package schedulers

import (
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/scenario"
)

// TestMain hands the test binary to ktstr: on the host it runs the tests,
// inside a VM it is the guest's init.
func TestMain(m *testing.M) { ktstr.Main(m) }

// The schedulers under test. Path is a bare name, found when the VM is
// built among the schedulers `ktstr sched build` made for the kernel
// under test. Ops is the name the scheduler gives the kernel: the test
// fails unless /sys/kernel/sched_ext/root/ops reports it, so a stale
// binary or a scheduler that never attached cannot pass as EEVDF.
var (
	simple = ktstr.Scheduler{Name: "scx_simple", Path: "scx_simple", Ops: "simple", Assert: idlesAtTimes}
	qmap   = ktstr.Scheduler{
		Name: "scx_qmap", Path: "scx_qmap", Ops: "qmap",
		// scx_qmap's BPF programs are large (it demonstrates every
		// sub-scheduling feature): under TCG they took 7-20 s to load
		// and verify, too close to the default 30 s on a loaded host.
		AttachTimeout: time.Minute,
		Assert:        idlesAtTimes,
	}
)

// idlesAtTimes is the work-conservation limit of scx_simple and scx_qmap,
// which are not work-conserving and which the host monitor sees: a task
// they queue without a wake-up (in scx_simple's shared DSQ, in qmap's
// FIFOs) waits for a CPU that dispatches, and nothing kicks an idle one,
// which sleeps until something else wakes it. Seen here: CPU 2 idle for
// 0.6 s while a task allowed on it sat in QMAP FIFO[2] and two spinners
// held CPUs 0 and 1 (basic/steady-llc, 1n1l2c2t). Over the runs on 6.12
// and 7.3 the longest such stretch was 0.1-0.9 s, and 1.1 s and 1.4 s for
// scx_simple beside a heavily loaded host (load average 6 on 2 cores):
// over the 1 s default, under the 2 s one for TCG. A scheduler that
// strands a CPU does it for good: TestMonitor's scx_cpu0 leaves CPUs idle
// for the whole run, and TestMonitorSeesStall's stalled scheduler 5.4 s.
// 3 s keeps those apart from the healthy stretches with a margin, also
// on a loaded host.
var idlesAtTimes = check.Assert{MaxIdleWhileWaiting: check.Set(3 * time.Second)}

// topologies are the machines each scheduler runs on. Each asks the same
// question in a different shape, of schedulers whose queues are global
// like these two: do cpusets, placement and migration still work when
// some CPUs share a cache, a core (SMT siblings) or a memory node and
// others do not? Four vCPUs at most, as TCG runs them all on one host
// thread.
var topologies = []ktstr.Topology{
	ktstr.Topo(1, 2, 2, 1), // two LLCs of two cores
	ktstr.Topo(1, 1, 2, 2), // one LLC, two cores of two SMT siblings
	ktstr.Topo(2, 2, 2, 1), // two NUMA nodes, an LLC each
}

// scenarios are the catalogue scenarios (`ktstr scenarios` lists them all)
// every VM runs, one after another, each for the test's Duration. Each
// one reaches a different part of a sched_ext scheduler.
//
// Two are left out on purpose, as under TCG their checks judge something
// other than the scheduler's health:
//
//   - sched-class/mixed: its SCHED_IDLE spinners share the CPUs with
//     normal ones, so by design they wait seconds between slices
//     (scx_simple gives them weight 1 against 100: with 20 ms slices,
//     2 s of the others' run time per slice). Under TCG those waits were
//     1.4-4.4 s against the 5 s gap limit.
//   - fairness/pipe-ping-pong (and futex ping-pong): the two workers of a
//     pair take turns and do the same number of round trips, so their
//     off-CPU spread only compares what a round trip costs each of them
//     in CPU time, which under TCG depends on what the other vCPUs do
//     meanwhile (they share one host thread). Spreads of 44 and 48 %
//     (a pair splitting about 26/74 %) were seen under scx_qmap in 2 of
//     46 runs, one of them with the old adaptive -icount; up to 24 %
//     under EEVDF and 16 % under scx_simple. TestWakeupChains runs them
//     in deterministic mode instead, where they measure the scheduler.
var scenarios = []string{
	// Steady fairness: a cgroup of spinners per LLC, its cpuset that LLC.
	"basic/steady-llc",
	// Spinners beside bursty and io-sync workers: tasks that sleep and
	// wake (select_cpu and enqueue on every wake-up) among tasks that
	// never do.
	"basic/mixed-workloads",
	// Cpusets swapped between two cgroups of running spinners, again and
	// again: tasks queued for CPUs they may no longer use.
	"cpuset/swap",
	// Cgroups created, given a cpuset and removed 20 times a run, which
	// reaches a scheduler's cgroup callbacks when it has them.
	"dynamic/rapid-churn",
	// Tasks moved between nested cgroups on disjoint cpusets.
	"nested/task-move",
	// A SCHED_FIFO worker (the RT class, above sched_ext) takes a CPU
	// away half a second at a time from a cgroup of normal spinners.
	"sched-class/fifo",
	// Two workers per CPU per cgroup, spinning and yielding: nobody may
	// starve when there are more runnable tasks than CPUs.
	"stress/oversubscribed",
}

// TestExampleSchedulers runs the scenarios under each scheduler on each
// topology: one VM per scheduler and topology, as a subtest named
// TestExampleSchedulers/<scheduler>/<topology>. The two schedulers run in
// parallel, two VMs at a time, which is what a 2-core host does best.
//
// A scheduler that dies, stalls or is ejected by the kernel fails the
// test naming the scenario and step it was in; a worker that starves,
// waits too long between runs, runs outside its cpuset or gets an unfair
// share of its cgroup's CPUs fails the scenario's checks, and the log
// shows every scenario's verdict and figures.
func TestExampleSchedulers(t *testing.T) {
	for _, sched := range []ktstr.Scheduler{simple, qmap} {
		t.Run(sched.Name, func(t *testing.T) {
			t.Parallel()
			ktstr.Run(t, ktstr.Spec{
				Scheduler:  sched,
				Topologies: topologies,
				Duration:   2 * time.Second, // per scenario
				// The derived timeout covers one Duration; the body
				// runs len(scenarios) of them.
				Timeout: 3 * time.Minute,
				// The topologies above are chosen by hand; the
				// gauntlet's sweep is TestQmapFlagProfiles' to show.
				NoGauntlet: true,
			}, func(ctx *ktstr.Ctx) error {
				return scenario.RunCatalogue(ctx, scenarios...)
			})
		})
	}
}

// TestWakeupChains runs the ping-pong scenarios, pairs of workers waking
// each other through a pipe or a futex, under each scheduler on the SMT
// topology, in deterministic mode: guest time follows the instructions
// executed, so what a round trip costs no longer depends on when the host
// runs QEMU. Under scx_qmap the spreads were 0.5-3.9 % there against
// 2.2-10.8 % in normal mode on a quiet host (and 44 % once on a loaded
// one), and the p99 wake-up 1.8-2.7 ms against about 20 ms.
// The checks are deterministic mode's defaults (spread 25 %, gap 2 s);
// scx_simple's pipe ping-pong reached 12.7 % here, a spread of its own
// between two pairs.
func TestWakeupChains(t *testing.T) {
	for _, sched := range []ktstr.Scheduler{simple, qmap} {
		t.Run(sched.Name, func(t *testing.T) {
			t.Parallel()
			ktstr.Run(t, ktstr.Spec{
				Scheduler:     sched,
				Topology:      ktstr.Topo(1, 1, 2, 2),
				Duration:      2 * time.Second,
				Timeout:       3 * time.Minute,
				Deterministic: true,
				NoGauntlet:    true,
			}, func(ctx *ktstr.Ctx) error {
				return scenario.RunCatalogue(ctx, "fairness/pipe-ping-pong", "fairness/futex-ping-pong")
			})
		})
	}
}

// TestQmapFlagProfiles shows scheduler flags becoming gauntlet profiles.
// Declared flags are switched on in every valid combination (a flag runs
// only with the flags it Requires, never when excluded): here default,
// short-slice, batch and short-slice+batch, each on every gauntlet preset
// within the Constraints (tiny-1llc and tiny-2llc), as
// TestQmapFlagProfiles/gauntlet/<preset>/<profile>. The gauntlet runs
// with KTSTR_GAUNTLET=1 (`ktstr test --gauntlet`); without it only the
// base variant runs, on 1n2l2c1t with no flag set.
//
// The scenarios are the ones the flags act on: with two workers per CPU
// spinning and yielding, how long a slice lasts and how many tasks are
// dispatched at once decide who runs; the nice sweep moves its workers
// through every nice level, which changes the FIFO each one is queued on.
func TestQmapFlagProfiles(t *testing.T) {
	sched := qmap
	sched.Flags = []ktstr.Flag{
		// 5 ms slices instead of the default 20 ms.
		{Name: "short-slice", Args: []string{"-s", "5000"}},
		// Move up to 8 tasks at a time from the FIFOs to the shared queue.
		{Name: "batch", Args: []string{"-b", "8"}},
		// Let nice -20 tasks overtake the shared queue; scx_qmap's help
		// says to use it with -b, so the flag requires batch.
		{Name: "boost", Args: []string{"-H"}, Requires: []string{"batch"}},
	}
	ktstr.Run(t, ktstr.Spec{
		Scheduler: sched,
		// boost stalls the machine under the nice sweep. In every run
		// with it (4 of 4, both presets) the kernel ejected scx_qmap
		// for a runnable task stall (10.8-12.8 s against the 10 s
		// watchdog): nice-0 tasks (kworkers, the harness, workers)
		// sat in the shared queue while the sweep's workers ran. That
		// fits upstream scx_qmap, which marks a task boosted when it
		// is queued at nice -20 and never unmarks it, so once the
		// sweep has passed -20 its spinners always go first. It is a
		// property of the flag (its author calls the boosting silly, a
		// demonstration of moving tasks between queues), not of the
		// harness or of TCG. The flag stays declared, and excluded,
		// so the profiles come back by deleting one line.
		ExcludedFlags: []string{"boost"},
		Topology:      ktstr.Topo(1, 2, 2, 1),
		Duration:      2 * time.Second,
		Timeout:       2 * time.Minute,
		Constraints:   ktstr.Constraints{MaxCPUs: 4},
	}, func(ctx *ktstr.Ctx) error {
		return scenario.RunCatalogue(ctx, "stress/oversubscribed", "fairness/nice-sweep")
	})
}
