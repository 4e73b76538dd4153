package ktstrsched_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/scheds/ktstrsched/faults"
)

func TestMain(m *testing.M) { ktstr.Main(m) }

// inGuest reports whether this is the test binary running as the guest's
// init. (The harness's own predicate is unexported.)
func inGuest() bool { return os.Getpid() == 1 }

// schedulerBinary builds cmd/ktstr-sched into a directory of t's on the
// host. In the guest, where there is neither the go command nor the
// sources, the harness starts the binary it packed and only the base name
// matters.
func schedulerBinary(t *testing.T) string {
	if inGuest() {
		return "/" + faults.BinaryName
	}
	t0 := time.Now()
	bin, err := faults.BuildScheduler(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s in %v", bin, time.Since(t0).Round(time.Millisecond))
	return bin
}

// TestVM runs ktstr-sched's default policy in VMs.
func TestVM(t *testing.T) {
	bin := schedulerBinary(t)
	t.Run("Default", func(t *testing.T) {
		ktstr.Run(t, ktstr.Spec{
			Topologies: []ktstr.Topology{ktstr.Topo(1, 1, 2, 1), ktstr.Topo(1, 2, 2, 1)},
			Scheduler:  faults.Scheduler(bin, "-v"),
			Duration:   2 * time.Second,
		}, defaultBody)
	})
	// A watchdog of the scheduler's own (the host reports it: "the
	// scheduler's own was 10s") and a small hold on every requeued task:
	// still a healthy scheduler.
	t.Run("Options", func(t *testing.T) {
		ktstr.Run(t, ktstr.Spec{
			Topology:  ktstr.Topo(1, 1, 2, 1),
			Scheduler: faults.Scheduler(bin, "-v", "--timeout", "10s", "--slow-dispatch", "5ms"),
			Duration:  2 * time.Second,
		}, defaultBody)
	})
}

// defaultBody checks that ktstr is the scheduler in charge, then runs two
// cgroups of spinners, the CPUs split between them, and checks that every
// worker progressed on CPUs of its own cpuset only.
func defaultBody(ctx *ktstr.Ctx) error {
	ops, err := os.ReadFile("/sys/kernel/sched_ext/root/ops")
	if err != nil || strings.TrimSpace(string(ops)) != "ktstr" {
		return fmt.Errorf("root/ops = %q (%v), want ktstr", ops, err)
	}
	return defaultBodyNoOps(ctx)
}

func defaultBodyNoOps(ctx *ktstr.Ctx) error {
	cpus := ctx.Topology.CPUs
	half := len(cpus) / 2
	sets := [][]int{cpus[:half], cpus[half:]}
	var groups []*ktstr.Workers
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
			ctx.Logf("%v (max gap %v)", r, r.MaxGap)
			if r.WorkUnits == 0 {
				errs = append(errs, fmt.Errorf("%v: no progress", r))
			}
			for _, c := range r.CPUs {
				if !slices.Contains(sets[i], c) {
					errs = append(errs, fmt.Errorf("%v: ran on CPU %d outside its cpuset %v", r, c, sets[i]))
				}
			}
		}
	}
	return errors.Join(errs...)
}
