// Package demo is a small ktstr suite: the one `make demo` runs, and a
// starting point for your own.
package demo

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
)

// TestMain hands the test binary to ktstr: on the host it runs the tests,
// inside a VM it is the guest's init.
func TestMain(m *testing.M) { ktstr.Main(m) }

// TestTwoCgroups runs two cgroups of CPU spinners, one per LLC, under the
// kernel's default scheduler, and checks that every worker made progress on
// the CPUs of its own cgroup only.
func TestTwoCgroups(t *testing.T) {
	ktstr.Run(t, ktstr.Spec{
		Topology:  ktstr.Topo(1, 2, 2, 1), // 1 NUMA node, 2 LLCs, 2 cores per LLC, 1 thread per core
		Scheduler: ktstr.EEVDF,
		Duration:  2 * time.Second,
	}, func(ctx *ktstr.Ctx) error {
		var groups []*ktstr.Workers
		for i, llc := range ctx.Topology.LLCs {
			name := fmt.Sprintf("cg%d", i)
			if err := ctx.Cgroups.Create(name); err != nil {
				return err
			}
			if err := ctx.Cgroups.SetCpuset(name, llc); err != nil {
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
					errs = append(errs, fmt.Errorf("%v: starved", r))
				}
				for _, cpu := range r.CPUs {
					if !slices.Contains(ctx.Topology.LLCs[i], cpu) {
						errs = append(errs, fmt.Errorf("%v: ran on CPU %d outside its cpuset", r, cpu))
					}
				}
			}
		}
		return errors.Join(errs...)
	})
}

// TestSMTSiblings shows a test over several topologies: each runs as its own
// subtest, TestSMTSiblings/1n1l2c2t and TestSMTSiblings/1n2l1c2t.
func TestSMTSiblings(t *testing.T) {
	ktstr.Run(t, ktstr.Spec{
		Topologies:  []ktstr.Topology{ktstr.Topo(1, 1, 2, 2), ktstr.Topo(1, 2, 1, 2)},
		Duration:    time.Second,
		Constraints: ktstr.Constraints{RequiresSMT: true}, // the gauntlet's SMT presets only
	}, func(ctx *ktstr.Ctx) error {
		for cpu, sib := range ctx.Topology.Siblings {
			if len(sib) != 2 {
				return fmt.Errorf("CPU %d has SMT siblings %v; want 2 threads per core", cpu, sib)
			}
		}
		ctx.Logf("siblings: %v, LLCs: %v", ctx.Topology.Siblings, ctx.Topology.LLCs)
		return nil
	})
}
