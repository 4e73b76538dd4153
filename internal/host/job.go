// Package host is the host side of a ktstr test: it resolves the kernel,
// packs the initramfs, boots one VM per test variant, judges the outcome,
// and writes the variant's result file. Package ktstr builds a [Job] from
// the user's Spec once per variant and hands it here; nothing rewrites it in
// transit.
package host

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/gauntlet"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/payload"
)

// Job is one test variant to boot, as the host sees it.
type Job struct {
	// Name is the variant's full test name, the one the guest runs.
	Name string
	// Variant describes it for listings, budgets and shards.
	Variant gauntlet.Variant
	// Topology is what the guest must see.
	Topology wire.Shape
	// Kernel names the kernel (a tree, image, cache key or version
	// prefix); "" means $KTSTR_KERNEL, else the newest cached.
	Kernel string
	// Scheduler is the scheduler under test; the zero value is EEVDF.
	Scheduler Scheduler
	// Payloads are the binaries to pack for the body.
	Payloads []payload.Payload
	// Duration is the body's scenario duration.
	Duration time.Duration
	// Timeout bounds the run; 0 derives one.
	Timeout time.Duration
	// MemoryMB is the guest's RAM; 0 sizes it.
	MemoryMB int
	// Cmdline is what the test adds to the guest kernel's command line.
	Cmdline string
	// Assert are the layers of check configuration over the defaults: the
	// scheduler's, then the test's.
	Assert []check.Assert
	// Deterministic asks for deterministic mode under TCG.
	Deterministic bool
	// Watchdog is the test's stall watchdog timeout: 0 for the default,
	// negative for the scheduler's own.
	Watchdog time.Duration
	// CgroupParent is the cgroup the guest makes test cgroups in.
	CgroupParent string
	// Expect, when set, is the failure the run must end in: the standard
	// judge then passes the test when it does and fails it otherwise.
	Expect *Expectation

	// Program, when set, is the guest program to run instead of the test
	// Name (wire.Request.Program), with Args: one the binary registered
	// with guest.RegisterProgram.
	Program string
	Args    []string
	// Files are packed into the guest, keyed by guest path: files with
	// their mode, directories whole, ELF executables with their shared
	// libraries.
	Files map[string]string
	// Terminal, when set, makes the guest's console the user's terminal:
	// the run then has no time limit.
	Terminal *Terminal
	// Stdout and Stderr, when set, get the guest Program's own standard
	// output and error (guest.Env's) as they arrive.
	Stdout, Stderr io.Writer

	// BootTopology, when set, is booted instead of Topology; tests use it
	// to prove the guest's topology check.
	BootTopology *wire.Shape
	// BootTimeout, when set, replaces the derived boot limit; tests use it
	// to prove the retry of a boot that never reaches init.
	BootTimeout time.Duration
}

// Expectation is a failure a Job expects: its first failure must be of
// Kind, with each of Contains in its message or detail.
type Expectation struct {
	Kind     check.Kind
	Contains []string
}

// Met reports whether the run's failures meet the expectation, and says
// why not when they do not.
func (e *Expectation) Met(fs []wire.Failure) (bool, string) {
	want := string(e.Kind)
	if len(e.Contains) > 0 {
		want += fmt.Sprintf(" failure containing %q", e.Contains)
	} else {
		want += " failure"
	}
	if len(fs) == 0 {
		return false, "the run passed; the test expects a " + want
	}
	f := fs[0]
	if f.Kind != e.Kind {
		return false, fmt.Sprintf("the run failed with %s (%s); the test expects a %s", f.Kind, f.Message, want)
	}
	text := f.Message + "\n" + f.Detail
	for _, c := range e.Contains {
		if !strings.Contains(text, c) {
			return false, fmt.Sprintf("the run failed with %s, but its message does not contain %q: %s", f.Kind, c, f.Message)
		}
	}
	return true, ""
}

// Terminal connects a guest's console to the user's terminal.
type Terminal struct {
	// Size is the terminal's size and type, given to the guest.
	Size wire.Terminal
	// In is what the user types (the terminal in raw mode, or a pipe
	// from it); Out gets the console.
	In  *os.File
	Out io.Writer
}

// Scheduler is the sched_ext scheduler of a Job.
type Scheduler struct {
	// Name is how reports name it ("eevdf" for none).
	Name string
	// Path is its binary on the host, or a bare name looked up when the VM
	// is built (scx.Find); "" means EEVDF.
	Path string
	// Args are all its arguments in this variant.
	Args []string
	// Ops is the ops name the kernel must report, if set.
	Ops string
	// AttachTimeout bounds the wait for it to attach.
	AttachTimeout time.Duration
	// Files are packed into the guest, keyed by guest path.
	Files map[string]string
	// RunStats has the kernel count its BPF programs' runs and run time
	// (as $KTSTR_BPF_STATS=1 does for every run).
	RunStats bool
	// Sysctls are recorded in the result file (they reach the kernel
	// through Cmdline).
	Sysctls map[string]string
}

// EEVDF reports whether s is the kernel's own scheduler.
func (s Scheduler) EEVDF() bool { return s.Path == "" }
