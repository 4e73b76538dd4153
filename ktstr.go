// Package ktstr tests Linux process schedulers in real kernels.
//
// A ktstr test is an ordinary Go test. It declares a CPU topology, a
// scheduler (EEVDF, or a sched_ext scheduler binary) and a body. [Run] boots
// a kernel in QEMU with exactly that topology, runs the test binary itself as
// the guest's PID 1, runs the body inside the guest, and passes or fails the
// test with what the guest reports:
//
//	func TestMain(m *testing.M) { ktstr.Main(m) }
//
//	func TestSpinners(t *testing.T) {
//		ktstr.Run(t, ktstr.Spec{
//			Topology: ktstr.Topo(1, 2, 2, 1),
//			Duration: 2 * time.Second,
//		}, func(ctx *ktstr.Ctx) error {
//			// runs inside the guest
//			return nil
//		})
//	}
//
// The kernel comes from $KTSTR_KERNEL (a kernel tree, an image, a cache key
// or a version prefix) or, by default, the newest kernel in the cache that
// `ktstr kernel fetch` fills.
package ktstr

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/gauntlet"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/host"
	"github.com/ktstr-go/ktstr/internal/vm"
	"github.com/ktstr-go/ktstr/payload"
)

// Spec declares what a test runs on.
type Spec struct {
	// Topology is the guest's CPU topology. The zero value means the
	// scheduler's Topology, else Topo(1, 1, 2, 1).
	Topology Topology
	// Topologies, when set, runs the test once per topology (Topology is
	// then ignored), each as a subtest named by the topology's label.
	Topologies []Topology
	// Scheduler is the scheduler under test; the zero value is EEVDF.
	Scheduler Scheduler
	// SchedulerArgs are this test's extra scheduler arguments, passed
	// after Scheduler.Args and before the arguments of the flag profile.
	SchedulerArgs []string
	// Duration is how long the body's scenario should run; it is passed to
	// the body as Ctx.Duration. 0 means 2 s.
	Duration time.Duration
	// Timeout bounds one VM run from boot to power-off. 0 derives one from
	// the duration, the CPU count and the accelerator.
	Timeout time.Duration
	// MemoryMB is the guest's RAM. 0 sizes it from the CPU count.
	MemoryMB int
	// Cmdline is appended to the guest kernel's command line.
	Cmdline string
	// Assert is the test's layer of check configuration, merged over the
	// defaults and the scheduler's layer; see package check.
	Assert check.Assert
	// Constraints limit the gauntlet presets the test runs on; zero fields
	// take the scheduler's Constraints.
	Constraints Constraints
	// NoGauntlet leaves the test out of the gauntlet.
	NoGauntlet bool
	// RequiredFlags are scheduler flags every variant runs with;
	// ExcludedFlags are never used. The gauntlet runs every valid
	// combination of the other flags of Scheduler.Flags.
	RequiredFlags, ExcludedFlags []string
	// Watchdog is the sched_ext stall watchdog timeout in force during the
	// test: a runnable task not run for this long gets the scheduler
	// ejected, within Watchdog plus half of it (the watchdog checks every
	// half timeout). The kernel takes it only from the scheduler's ops as
	// they load, so the guest puts it there as the scheduler passes them
	// to the kernel: it is in force from the moment the scheduler
	// attaches. The host reads back from guest memory what the kernel
	// holds, and the report states that. 0 means 4 s under KVM and 10 s
	// under TCG (where host load makes guest time jump); at most 30 s; a
	// negative value keeps the scheduler's own.
	Watchdog time.Duration
	// Deterministic runs TCG with -icount: guest time follows instructions
	// executed (2^shift ns each, KTSTR_ICOUNT_SHIFT, 2 by default), so the
	// host holding QEMU off does not pass time in the guest, at several
	// times less work per guest second; its default checks are spread
	// 25 % and gap 2 s (see check.Defaults). Without it, the time the host
	// held the vCPUs off is measured and taken out of the verdicts where it
	// can be. Also set by KTSTR_DETERMINISTIC=1.
	Deterministic bool
	// Payloads are the binary workloads the body may run (Ctx.RunPayload,
	// Ctx.StartPayload). The host finds each one's binary (a path, or a
	// name on its $PATH) when it builds the VM and packs it with its
	// shared libraries.
	Payloads []payload.Payload
	// Expect, when set, makes the test one that must fail, and fail this
	// way: each variant passes when its run fails as expected, and fails
	// when the run passes or fails otherwise. A detection test (this
	// scheduler must be ejected for a stall, this scenario must fail the
	// gap check) is then an ordinary test.
	Expect *Expectation

	// bootTopology, when set, is booted instead of the topology the guest
	// expects; tests use it to prove the guest's topology check.
	bootTopology *Topology
	// bootTimeout, when set, replaces the derived boot limit; tests use it
	// to prove the retry of a boot that never reaches init.
	bootTimeout time.Duration
}

// Expectation is how a test expects its runs to fail (Spec.Expect): their
// first failure, the primary one the report leads with, must be of Kind,
// and its message or detail must contain each of Contains.
type Expectation struct {
	// Kind is the failure's kind, such as check.SchedulerEjected or
	// check.Stuck.
	Kind check.Kind
	// Contains are texts the failure's message or detail must each
	// contain, such as "runnable task stall".
	Contains []string
}

// Body is a test body. It runs inside the guest; an error fails the test.
type Body func(ctx *Ctx) error

func (s Spec) topologies() []Topology {
	if len(s.Topologies) > 0 {
		return s.Topologies
	}
	switch {
	case s.Topology != (Topology{}):
		return []Topology{s.Topology}
	case s.Scheduler.Topology != (Topology{}):
		return []Topology{s.Scheduler.Topology}
	}
	return []Topology{Topo(1, 1, 2, 1)}
}

func (s Spec) duration() time.Duration {
	if s.Duration <= 0 {
		return 2 * time.Second
	}
	return s.Duration
}

// schedulerArgs are the scheduler's arguments in a variant with profile:
// its own, the test's, then the profile's flags'. The result is a new
// slice; variants never share one.
func (s Spec) schedulerArgs(profile gauntlet.Profile) []string {
	return slices.Concat(s.Scheduler.Args, s.SchedulerArgs, profile.Args())
}

func (s Spec) validate() error {
	if err := s.Scheduler.validate(); err != nil {
		return err
	}
	if s.Scheduler.IsEEVDF() && len(s.SchedulerArgs) > 0 {
		return fmt.Errorf("spec: SchedulerArgs %q but the scheduler is EEVDF; set Scheduler to a sched_ext scheduler", s.SchedulerArgs)
	}
	for _, t := range s.topologies() {
		if err := t.Validate(); err != nil {
			return err
		}
		if why := s.Scheduler.Constraints.admits(t); why != "" {
			return fmt.Errorf("topology %s is outside what scheduler %s can run on: %s; choose a topology within its Constraints", t, s.Scheduler, why)
		}
	}
	if s.Duration < 0 || s.Timeout < 0 || s.MemoryMB < 0 {
		return fmt.Errorf("spec: negative Duration, Timeout or MemoryMB (%v, %v, %d)", s.Duration, s.Timeout, s.MemoryMB)
	}
	if s.Expect != nil && s.Expect.Kind == "" {
		return fmt.Errorf("spec: Expect has no Kind; say which failure the test expects, such as check.SchedulerEjected")
	}
	if s.Watchdog > 0 && (s.Watchdog < time.Millisecond || s.Watchdog > 30*time.Second) {
		return fmt.Errorf("spec: Watchdog %v: the kernel takes a stall watchdog timeout from 1 ms to 30 s (negative keeps the scheduler's own)", s.Watchdog)
	}
	return nil
}

// mainCalled records that the test binary's TestMain called Main: without
// it the binary cannot act as the guest's init.
var mainCalled bool

// Main runs the tests. Call it from TestMain:
//
//	func TestMain(m *testing.M) { ktstr.Main(m) }
//
// On the host it runs m and cleans up every VM and temporary file, also on
// Ctrl-C. Inside a VM, where the test binary is PID 1, it sets the guest up,
// runs the one test the host asked for and powers off. In a worker process
// it runs the worker. Main does not return.
func Main(m *testing.M) {
	mainCalled = true
	guest.Takeover(m)
	os.Exit(host.Main(m))
}

// Run runs body inside a VM for every variant of spec and fails t with
// what went wrong. Each topology is a subtest named by its label (for
// example TestX/1n2l2c1t). Gauntlet variants, one per accepted topology
// preset and scheduler flag profile, are subtests
// TestX/gauntlet/<preset>/<profile>, skipped unless KTSTR_GAUNTLET=1. With
// several kernels (KTSTR_KERNELS), every variant runs once per kernel, as a
// further subtest named by the kernel. Inside the guest, Run runs body for
// the one variant the host asked for.
func Run(t *testing.T, spec Spec, body Body) {
	t.Helper()
	if !mainCalled {
		t.Fatal("ktstr: ktstr.Main was not called; add to this package's tests:\n\tfunc TestMain(m *testing.M) { ktstr.Main(m) }")
	}
	if err := spec.validate(); err != nil {
		t.Fatalf("ktstr: %v", err)
	}
	if runtime.GOOS != "linux" {
		// The package builds everywhere, so a test package can be
		// edited anywhere; its VMs need a Linux host.
		t.Skipf("ktstr: VM tests run on Linux hosts only (this is %s)", runtime.GOOS)
	}
	base, err := spec.baseProfile()
	if err != nil {
		t.Fatalf("ktstr: %v", err)
	}
	kernels := kernelLabels()
	for _, topo := range spec.topologies() {
		v := variant{preset: topologyPreset(topo), topo: topo, profile: base}
		t.Run(topo.String(), func(t *testing.T) {
			forKernels(t, kernels, func(t *testing.T, k string) {
				v.kernel = k
				runVariant(t, spec, v, strings.TrimSuffix(t.Name(), "/"+gauntletLabel(k)), body)
			})
		})
	}
	if spec.NoGauntlet {
		return
	}
	t.Run("gauntlet", func(t *testing.T) {
		if !guest.Active() && !gauntletEnabled() {
			t.Skipf("gauntlet variants run with %s=1 (ktstr test --gauntlet)", GauntletEnv)
		}
		accel, _, err := host.Accel()
		if guest.Active() {
			accel = vm.Accel(guest.Request().Accel)
		} else if err != nil {
			t.Fatalf("ktstr: %v", err)
		}
		presets, _, err := spec.gauntletPresets(accel)
		if err != nil {
			t.Fatalf("ktstr: %v", err)
		}
		profiles, err := spec.profiles()
		if err != nil {
			t.Fatalf("ktstr: %v", err)
		}
		test := strings.TrimSuffix(t.Name(), "/gauntlet")
		for _, p := range presets {
			t.Run(p.Name, func(t *testing.T) {
				for _, prof := range profiles {
					t.Run(prof.Name(), func(t *testing.T) {
						forKernels(t, kernels, func(t *testing.T, k string) {
							v := variant{preset: p, topo: presetTopology(p), profile: prof, gauntlet: true, kernel: k}
							runVariant(t, spec, v, test, body)
						})
					})
				}
			})
		}
	})
}

// runVariant runs one leaf: in the guest, the body; on the host, the VM
// (package host lists, skips or boots it, and judges the outcome).
func runVariant(t *testing.T, spec Spec, v variant, test string, body Body) {
	runJudged(t, spec, v, test, body, nil)
}

// runJudged is runVariant with the host's outcome handed to judge; nil is
// the standard judge. Tests that expect a failure judge it themselves.
func runJudged(t *testing.T, spec Spec, v variant, test string, body Body, judge host.Judge) {
	t.Helper()
	if guest.Active() {
		guest.RunVariant(t, newGuestBody(spec, body))
		return
	}
	host.Run(t, spec.job(v, test, t.Name()), judge)
}

func gauntletLabel(k string) string {
	if k == "" {
		return ""
	}
	return kernelLabel(k)
}
