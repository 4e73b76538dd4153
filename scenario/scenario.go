package scenario

import (
	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/plan"
)

// CgroupDef declares a cgroup with its cpuset and its work: creating it,
// setting the cpuset and spawning the workers in one declaration. Name is
// the cgroup, relative to the harness's cgroup parent ("cg0", or "a/b"
// for nesting; parents are created as needed); Cpuset is its cpuset (the
// zero Cpuset sets none); Work lists the work groups it runs, all started
// together (empty means one group of spinners with the default worker
// count, work.DefaultWorkers).
type CgroupDef = plan.CgroupDef

// Step is one phase of a scenario. When it begins its Ops run, then its
// Defs are set up (cgroups created, cpusets set, workers spawned), then
// every worker spawned so far and not yet started starts at once, and the
// step holds for its Hold, which must be set. When the hold ends the
// step's Defs are torn down: their workers stopped, their reports
// collected and their cgroups removed. What the Ops did lasts (see [Op]);
// an [Every] hold runs them again at every interval.
//
// The Ops run before the Defs exist, so they cannot name them; cgroups
// that Ops change belong in the [Backdrop] or are made by an AddCgroup.
// Defs may not reuse the name of a cgroup that exists. Name names the
// step in the timeline and in errors; empty means "step N" (N from 1).
type Step = plan.Step

// Backdrop is what lives across all the steps of a scenario: cgroups
// (Defs, set up before the first step, then Ops, run once) that every
// step may name but none may remove or reuse the name of. Its workers
// start together with the first step's and are stopped when the last
// step has ended.
type Backdrop = plan.Backdrop

// Run runs the steps inside the guest, then checks every cgroup's workers
// against ctx.Assert and records the result in the test's result
// (failures fail the test), as [Check] does. The steps are validated
// against the guest's topology before anything runs ([Prepare]).
//
// It returns the checks' result, and an error when the scenario could not
// be carried out: invalid steps, a cgroup or worker operation that failed,
// the scheduler dying, workers that had to be killed. A body returns that
// error; the check failures are in the test's result already.
func Run(ctx *ktstr.Ctx, steps ...Step) (check.Result, error) {
	return RunWith(ctx, Backdrop{}, steps...)
}

// RunWith is [Run] with a backdrop: cgroups that live across all steps.
func RunWith(ctx *ktstr.Ctx, b Backdrop, steps ...Step) (check.Result, error) {
	return run(ctx, "", nil, b, steps)
}

// run is RunWith with layers of checks merged over ctx.Assert.
// A name prefixes the plan's phases.
func run(ctx *ktstr.Ctx, name string, layers []check.Assert, b Backdrop, steps []Step) (check.Result, error) {
	p, err := Prepare(ctx.Topology, ctx.Duration, b, steps...)
	if err != nil {
		return check.Result{Passed: true}, err
	}
	p.name = name
	groups, err := p.Execute(ctx)
	if name != "" {
		// Catalogue scenarios run one after another reuse cgroup names;
		// naming the scenario keeps their verdicts and figures apart in
		// failure messages and the result file.
		for i := range groups {
			cg := groups[i].Name
			if cg == "" {
				cg = "(parent)"
			}
			groups[i].Name = name + ":" + cg
		}
	}
	res := check.Result{Passed: true}
	if len(groups) > 0 {
		res = Check(ctx, groups, layers...)
	}
	return res, err
}

// Defs runs the cgroups steady for the whole test duration: one step with
// defs held for Frac(1).
func Defs(ctx *ktstr.Ctx, defs ...CgroupDef) (check.Result, error) {
	return Run(ctx, Step{Defs: defs, Hold: Frac(1)})
}

// Check evaluates groups (from [Plan.Execute]) against ctx.Assert and
// records the result in the test's result, where failures fail the test:
// it is ctx.CheckGroups. Layers, when given, are merged over ctx.Assert
// (check.Merge: the last set wins) for these groups only: a scenario's own
// layer, such as a check that does not apply to its workload switched off.
func Check(ctx *ktstr.Ctx, groups []check.Group, layers ...check.Assert) check.Result {
	return ctx.CheckGroupsWith(layers, groups...)
}

// Evaluate evaluates groups (from [Plan.Execute]) against ctx.Assert with
// layers merged on top (check.Merge: the last set wins), and returns the
// result without recording it: failures do not fail the test. It is for
// tests that expect a check to fail and assert on the result.
//
// The groups' reports are still handed to ctx (with no check enabled), so
// that the harness does not check them again when the body ends and their
// figures appear in the test's stats.
func Evaluate(ctx *ktstr.Ctx, groups []check.Group, layers ...check.Assert) check.Result {
	a := check.Merge(append([]check.Assert{ctx.Assert}, layers...)...)
	res := check.Evaluate(a, groups...)
	// Ctx has no way to mark reports as checked without recording a
	// verdict: record them under an Assert that checks nothing.
	saved := ctx.Assert
	defer func() { ctx.Assert = saved }()
	ctx.Assert = check.Assert{}
	ctx.CheckGroups(groups...)
	return res
}
