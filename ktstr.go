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
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/guest"
)

// Spec declares what a test runs on.
type Spec struct {
	// Topology is the guest's CPU topology. The zero value means
	// Topo(1, 1, 2, 1).
	Topology Topology
	// Topologies, when set, runs the test once per topology (Topology is
	// then ignored), each as a subtest named by the topology's label.
	Topologies []Topology
	// Scheduler is the scheduler under test; the zero value is EEVDF.
	Scheduler Scheduler
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
	// Deterministic runs TCG with -icount: guest time follows instructions
	// executed, so timings inside the guest do not depend on host load, at
	// several times lower speed. Also set by KTSTR_DETERMINISTIC=1.
	Deterministic bool

	// bootTopology, when set, is booted instead of the topology the guest
	// expects; tests use it to prove the guest's topology check.
	bootTopology *Topology
	// bootTimeout, when set, replaces the derived boot limit; tests use it
	// to prove the retry of a boot that never reaches init.
	bootTimeout time.Duration
}

// Body is a test body. It runs inside the guest; an error fails the test.
type Body func(ctx *Ctx) error

func (s Spec) topologies() []Topology {
	if len(s.Topologies) > 0 {
		return s.Topologies
	}
	if s.Topology == (Topology{}) {
		return []Topology{Topo(1, 1, 2, 1)}
	}
	return []Topology{s.Topology}
}

func (s Spec) duration() time.Duration {
	if s.Duration <= 0 {
		return 2 * time.Second
	}
	return s.Duration
}

func (s Spec) validate() error {
	for _, t := range s.topologies() {
		if err := t.Validate(); err != nil {
			return err
		}
	}
	if s.Duration < 0 || s.Timeout < 0 || s.MemoryMB < 0 {
		return fmt.Errorf("spec: negative Duration, Timeout or MemoryMB (%v, %v, %d)", s.Duration, s.Timeout, s.MemoryMB)
	}
	return s.Scheduler.validate()
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
	if work := os.Getenv(guest.WorkerEnv); work != "" {
		if err := guest.RunWorker(work); err != nil {
			fmt.Fprintln(os.Stderr, "ktstr worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getpid() == 1 {
		guestMain(m) // never returns
	}
	os.Exit(hostMain(m))
}

// Run runs body inside a VM for every topology of spec, each as a subtest
// named by the topology label (for example TestX/1n2l2c1t). On the host it
// boots the VMs and fails t with what went wrong; inside the guest it runs
// body.
func Run(t *testing.T, spec Spec, body Body) {
	t.Helper()
	if !mainCalled {
		t.Fatal("ktstr: ktstr.Main was not called; add to this package's tests:\n\tfunc TestMain(m *testing.M) { ktstr.Main(m) }")
	}
	if err := spec.validate(); err != nil {
		t.Fatalf("ktstr: %v", err)
	}
	for _, topo := range spec.topologies() {
		t.Run(topo.String(), func(t *testing.T) {
			if inGuest() {
				guestRun(t, spec, topo, body)
				return
			}
			hostRun(t, spec, topo)
		})
	}
}
