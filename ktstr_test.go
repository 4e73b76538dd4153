package ktstr

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/cpuset"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/host"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/work"
)

func TestMain(m *testing.M) { Main(m) }

// spinnersBody runs two cgroups of spinners, the CPUs split between them,
// and checks that every worker progressed on CPUs of its own cpuset only.
func spinnersBody(ctx *Ctx) error {
	cpus := ctx.Topology.CPUs
	half := len(cpus) / 2
	sets := [][]int{cpus[:half], cpus[half:]}
	var groups []*Workers
	for i, set := range sets {
		name := fmt.Sprintf("cg%d", i)
		if err := ctx.Cgroups.Create(name); err != nil {
			return err
		}
		if err := ctx.Cgroups.SetCpuset(name, set); err != nil {
			return err
		}
		w, err := ctx.SpawnSpinners(name, 2)
		if err != nil {
			return err
		}
		groups = append(groups, w)
	}
	for _, w := range groups {
		if err := w.Start(); err != nil {
			return err
		}
	}
	ctx.Sleep(ctx.Duration)
	var errs []error
	for i, w := range groups {
		reports, err := w.Stop()
		if err != nil {
			return err
		}
		for _, r := range reports {
			ctx.Logf("%v", r)
			if r.WorkUnits == 0 {
				errs = append(errs, fmt.Errorf("%v: no progress", r))
			}
			for _, c := range r.CPUs {
				if !slices.Contains(sets[i], c) {
					errs = append(errs, fmt.Errorf("%v: ran on CPU %d outside its cpuset %s", r, c, cpuset.Format(sets[i])))
				}
			}
			if len(r.CPUs) == 0 {
				errs = append(errs, fmt.Errorf("%v: no CPU recorded", r))
			}
		}
	}
	return errors.Join(errs...)
}

// groupsBody returns a body that runs each group in a cgroup of its own
// (cg0, cg1, ...), all started together, for the scenario's duration; the
// end of the body checks the reports.
func groupsBody(groups ...work.Group) Body {
	return func(ctx *Ctx) error {
		var ws []*Workers
		for i, g := range groups {
			cg := fmt.Sprintf("cg%d", i)
			if err := ctx.Cgroups.Create(cg); err != nil {
				return err
			}
			w, err := ctx.Spawn(cg, g)
			if err != nil {
				return err
			}
			ws = append(ws, w)
		}
		for _, w := range ws {
			if err := w.Start(); err != nil {
				return err
			}
		}
		ctx.Sleep(ctx.Duration)
		for _, w := range ws {
			if _, err := w.Stop(); err != nil {
				return err
			}
		}
		return nil
	}
}

func testSpinnersEEVDF(t *testing.T) {
	Run(t, Spec{
		Topologies: []Topology{Topo(1, 1, 2, 1), Topo(1, 2, 2, 2), Topo(2, 2, 2, 1)},
		Duration:   2 * time.Second,
	}, spinnersBody)
}

// vmTest boots body in a VM for spec's first topology, as the subtest named
// by the topology, and hands the outcome to judge on the host: the one way
// this package's tests boot a variant, the way runVariant does with the
// standard judge.
func vmTest(t *testing.T, spec Spec, body Body, judge host.Judge) {
	t.Helper()
	vmTestOn(t, spec, "", body, judge)
}

// vmTestOn is vmTest on the kernel named kernel ("" for the default).
func vmTestOn(t *testing.T, spec Spec, kernel string, body Body, judge host.Judge) {
	t.Helper()
	v := firstVariant(t, spec)
	v.kernel = kernel
	t.Run(v.topo.String(), func(t *testing.T) {
		runJudged(t, spec, v, t.Name(), body, judge)
	})
}

// firstVariant is the base variant of spec's first topology.
func firstVariant(t testing.TB, spec Spec) variant {
	t.Helper()
	profile, err := spec.baseProfile()
	if err != nil {
		t.Fatal(err)
	}
	topo := spec.topologies()[0]
	return variant{preset: topologyPreset(topo), topo: topo, profile: profile}
}

// expectFailure runs body in a VM for spec's first topology and checks that
// the run fails with kind and a message containing each of want. On the
// host it returns the run's first failure (nil if it had none).
func expectFailure(t *testing.T, spec Spec, body Body, kind check.Kind, want ...string) *wire.Failure {
	t.Helper()
	var first *wire.Failure
	vmTest(t, spec, body, func(t *testing.T, r *host.Outcome) {
		fs := r.Failures()
		if len(fs) == 0 {
			t.Fatalf("the run passed; want a %s failure", kind)
		}
		first = &fs[0]
		text := fs[0].Message + "\n" + fs[0].Detail
		if fs[0].Kind != kind {
			t.Fatalf("first failure is %s; want %s:\n%s\nguest output:\n%s", fs[0].Kind, kind, text, r.Output)
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("failure does not mention %q:\n%s", w, text)
			}
		}
		t.Logf("got, as wanted: %s: %s", fs[0].Kind, fs[0].Message)
		if testing.Verbose() {
			t.Logf("detail:\n%s", fs[0].Detail)
		}
	})
	return first
}

func testTopologyMismatchFails(t *testing.T) {
	wrong := Topo(1, 2, 1, 1)
	expectFailure(t, Spec{Topology: Topo(1, 1, 2, 1), bootTopology: &wrong},
		func(*Ctx) error { return nil },
		check.TopologyMismatch, "1n1l2c1t", "LLCs: want 1 [0-1], got 2 [0] [1]")
}

func testSchedulerExitingAtOnceFails(t *testing.T) {
	// A real ELF binary that exits at once with an error, as a broken
	// scheduler would. The spec is evaluated in the guest too, where the
	// host's file system is not: resolve only on the host.
	sh := "/bin/sh"
	if !guest.Active() {
		var err error
		if sh, err = filepath.EvalSymlinks(sh); err != nil {
			t.Skip("no /bin/sh")
		}
	}
	expectFailure(t, Spec{Scheduler: Scheduler{Name: "broken", Path: sh, Args: []string{"-c", "echo cannot load the BPF program >&2; exit 3"}}},
		func(*Ctx) error { return nil },
		check.SchedulerNotAttached, "exited before attaching: exit status 3", "cannot load the BPF program")
}

func testKernelPanicIsReported(t *testing.T) {
	expectFailure(t, Spec{},
		func(*Ctx) error { return os.WriteFile("/proc/sysrq-trigger", []byte("c"), 0) },
		check.KernelPanic, "Kernel panic - not syncing")
}

func testHangingBodyTimesOut(t *testing.T) {
	expectFailure(t, Spec{Timeout: 30 * time.Second},
		func(*Ctx) error { select {} },
		check.Timeout, "timed out after 30s")
}

func testBodyErrorFails(t *testing.T) {
	expectFailure(t, Spec{},
		func(ctx *Ctx) error {
			if err := ctx.Cgroups.Create("left/behind"); err != nil {
				return err
			}
			return errors.New("the body says no")
		},
		check.Body, "the body says no")
}

// TestVM boots real kernels. Its subtests run two at a time (two VMs give
// the best throughput on a 2-core host); once all are done it checks that
// nothing was left behind, whichever way each run ended.
func TestVM(t *testing.T) {
	if !guest.Active() {
		t.Cleanup(func() { checkNothingLeftBehind(t) })
	}
	for _, c := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"Trivial", func(t *testing.T) { Run(t, Spec{}, func(*Ctx) error { return nil }) }},
		{"Spinners", testSpinnersEEVDF},
		{"TopologyMismatch", testTopologyMismatchFails},
		{"SchedulerExitsAtOnce", testSchedulerExitingAtOnceFails},
		{"KernelPanic", testKernelPanicIsReported},
		{"HangingBody", testHangingBodyTimesOut},
		{"BodyError", testBodyErrorFails},
		{"BootNeverReachesInit", testBootRetry},
		{"SchedExt", testSchedExtRuns},
		{"SchedulerDies", testSchedulerDies},
		{"SchedulerEjected", testSchedulerEjected},
		{"WatchdogForced", testWatchdogForced},
		{"VerifierFigures", testVerifierFigures},
		{"SchedulerVars", testSchedulerVars},
		{"SchedulerNeeds", testSchedulerNeeds},
		{"UserlandScheduler", testUserlandScheduler},
		{"WorkerProgress", testWorkerProgress},
		{"ExpectedFailureMet", testExpectedFailureMet},
		{"ExpectedFailureNotMet", testExpectedFailureNotMet},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.f(t)
		})
	}
}

// testBootRetry gives the boot far too little time, so it never reaches
// init: the run must be retried once and then fail as a boot failure.
func testBootRetry(t *testing.T) {
	spec := Spec{bootTimeout: 300 * time.Millisecond}
	vmTest(t, spec, func(*Ctx) error { return nil }, func(t *testing.T, r *host.Outcome) {
		fs := r.Failures()
		if len(fs) == 0 || fs[0].Kind != check.Boot {
			t.Fatalf("failures %+v; want a boot failure", fs)
		}
		if !r.Retried {
			t.Errorf("the boot was not retried")
		}
		if !strings.Contains(fs[0].Detail, "first boot also failed") {
			t.Errorf("the failure does not report the first attempt:\n%s", fs[0].Detail)
		}
		t.Logf("got, as wanted: %s: %s (retried)", fs[0].Kind, fs[0].Message)
	})
}

// checkNothingLeftBehind checks that no QEMU process, VM scratch directory
// or guest RAM file is left.
func checkNothingLeftBehind(t *testing.T) {
	self := strconv.Itoa(os.Getpid())
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 && f[1] == self {
			comm, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "comm"))
			t.Errorf("child process %s (%s) still running", filepath.Base(filepath.Dir(p)), strings.TrimSpace(string(comm)))
		}
	}
	// This process's scratch directory (package host) holds one vm-*
	// directory per running VM.
	vms, _ := filepath.Glob(filepath.Join(os.TempDir(), "ktstr-"+self+"-*", "vm-*"))
	if len(vms) > 0 {
		t.Errorf("VM scratch directories left: %v", vms)
	}
	shm, _ := filepath.Glob("/dev/shm/ktstr*")
	if len(shm) > 0 {
		t.Errorf("guest RAM files left in /dev/shm: %v", shm)
	}
}

// testExpectedFailureMet is a detection test written with the public API:
// a body that errors, expected, passes.
func testExpectedFailureMet(t *testing.T) {
	Run(t, Spec{NoGauntlet: true, Expect: &Expectation{Kind: check.Body, Contains: []string{"on purpose"}}},
		func(*Ctx) error { return errors.New("failing on purpose") })
}

// testExpectedFailureNotMet runs a body that passes where a failure is
// expected, and one that fails another way: the standard judge must fail
// both, saying why, and their result files must say the expectation was
// not met.
func testExpectedFailureNotMet(t *testing.T) {
	for _, c := range []struct {
		name string
		body Body
		want string
	}{
		{"Passes", func(*Ctx) error { return nil }, "not the expected failure: the run passed; the test expects a scheduler-ejected failure"},
		{"OtherFailure", func(*Ctx) error { return errors.New("a body error") }, "not the expected failure: the run failed with body (a body error)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := Spec{Expect: &Expectation{Kind: check.SchedulerEjected}}
			vmTest(t, spec, c.body, func(t *testing.T, r *host.Outcome) {
				var out strings.Builder
				l := &host.WriterLogger{W: &out}
				host.Report(l, r)
				if !l.Failed || !strings.Contains(out.String(), c.want) {
					t.Errorf("the standard judge failed %v, saying:\n%s\nwant a failure saying %q", l.Failed, out.String(), c.want)
				}
				if f := r.ResultFile(); f.Passed || f.Expect == nil || f.Expect.Met {
					t.Errorf("result file: passed %v, expect %+v; want a failure with the expectation not met", f.Passed, f.Expect)
				}
				// The guest leaves the verdict to the host: no FAIL of
				// its own above a test that may pass.
				if c.name == "OtherFailure" && (strings.Contains(string(r.Output), "--- FAIL") || !strings.Contains(string(r.Output), "the host judges")) {
					t.Errorf("guest output:\n%s\nwant no --- FAIL and the note that the host judges", r.Output)
				}
			})
		})
	}
}
