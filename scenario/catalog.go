package scenario

import (
	"errors"
	"fmt"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/catalog"
	"github.com/ktstr-go/ktstr/work"
)

// Scenario is a ready-made scenario of the catalogue ([All]).
type Scenario struct {
	// Name is "category/name", e.g. "cpuset/swap".
	Name string
	// Category groups scenarios: basic, cpuset, dynamic, affinity,
	// nested, stress, fairness, sched-class.
	Category string
	// Description says in one line what runs.
	Description string
	// Build returns the scenario's backdrop and steps for a topology and
	// a test duration; they adapt to the topology where they can (one
	// cgroup per LLC, workers per usable CPU).
	Build func(t *ktstr.CPUTopology, d time.Duration) (Backdrop, []Step)
	// Assert is the scenario's own layer of checks, merged over
	// ctx.Assert when Run checks its workers: a check that cannot apply to
	// the workload is switched off here, and the Description says so.
	Assert check.Assert
	// Run runs the scenario in a test body: Build for ctx.Topology and
	// ctx.Duration, run the steps as [RunWith] does, and check the
	// workers against ctx.Assert with Assert merged over it. Its phases
	// and checked groups carry the scenario's name ("cpuset/swap: step
	// 2", "cpuset/swap:cg0").
	Run func(ctx *ktstr.Ctx) (check.Result, error)
}

// fromEntry is the catalogue entry e with a Run that builds and runs it.
func fromEntry(e catalog.Entry) Scenario {
	return Scenario{
		Name: e.Name, Category: e.Category, Description: e.Description, Build: e.Build, Assert: e.Assert,
		Run: func(ctx *ktstr.Ctx) (check.Result, error) {
			b, steps := e.Build(ctx.Topology, ctx.Duration)
			return run(ctx, e.Name, []check.Assert{e.Assert}, b, steps)
		},
	}
}

// All returns the catalogue, ordered by category, then name.
func All() []Scenario {
	entries := catalog.All()
	out := make([]Scenario, len(entries))
	for i, e := range entries {
		out[i] = fromEntry(e)
	}
	return out
}

// Lookup returns the scenario called name ("cpuset/swap"), or an error
// listing the names.
func Lookup(name string) (Scenario, error) {
	e, err := catalog.Lookup(name)
	if err != nil {
		return Scenario{}, err
	}
	return fromEntry(e), nil
}

// RunCatalogue runs the named catalogue scenarios one after another in a
// test body, each for ctx.Duration: the way to put a scheduler through a
// set of scenarios in one VM. Every scenario's checks are recorded in the
// test's result (a failure fails the test) and its verdict and figures
// are logged under its name. The cgroup names repeat from one scenario to
// the next, so failure messages and the result file name each cgroup
// "<scenario>:<cgroup>" ("cpuset/swap:cg0"), and the timeline's phases
// carry the scenario's name: a scheduler that dies is reported with the
// scenario and step it died in.
//
// An unknown name is an error before anything runs. A scenario that
// could not be carried out (see [Run]) does not stop the others, unless
// the sched_ext scheduler under test is gone: then the rest would only
// measure EEVDF. The errors are joined.
func RunCatalogue(ctx *ktstr.Ctx, names ...string) error {
	set := make([]Scenario, len(names))
	for i, name := range names {
		s, err := Lookup(name)
		if err != nil {
			return err
		}
		set[i] = s
	}
	var errs []error
	for _, s := range set {
		t0 := time.Now()
		res, err := s.Run(ctx)
		verdict := "passed"
		if !res.Passed {
			verdict = "FAILED:\n" + res.Err().Error()
		}
		ctx.Logf("=== %s (%v): %s\n%s", s.Name, time.Since(t0).Round(time.Millisecond), verdict, res.Stats.Format())
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Name, err))
		}
		if err := ctx.SchedulerAlive(); err != nil {
			errs = append(errs, fmt.Errorf("after %s: %w", s.Name, err))
			break
		}
	}
	return errors.Join(errs...)
}

// FairnessType returns the work type the fairness scenario of kind k
// runs: the kind's reference defaults, except fan-outs of 3 (groups of 4,
// which 2 workers per CPU divide evenly) and a lighter fan-out-compute
// (64 KiB, 2 multiplications per wake-up), a spin/sleep/yield/io sequence
// for sequence, and for custom FNV-1a rounds, a work function registered
// in every binary that imports this package.
func FairnessType(k work.Kind) work.Type { return catalog.FairnessType(k) }
