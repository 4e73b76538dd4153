package plan

import "github.com/ktstr-go/ktstr/work"

// CgroupDef declares a cgroup with its cpuset and its work: creating it,
// setting the cpuset and spawning the workers in one declaration.
type CgroupDef struct {
	// Name is the cgroup, relative to the harness's cgroup parent:
	// "cg0", or "a/b" for nesting (parents are created as needed).
	Name string
	// Cpuset is the cgroup's cpuset; the zero Cpuset sets none.
	Cpuset Cpuset
	// Work lists the work groups the cgroup runs, all started together;
	// empty means one group of spinners with the default worker count
	// (work.DefaultWorkers).
	Work []work.Group
}

// groups returns the def's work groups, applying the default.
func (d CgroupDef) groups() []work.Group {
	if len(d.Work) == 0 {
		return []work.Group{{Type: work.Spin()}}
	}
	return d.Work
}

// Step is one phase of a scenario. When it begins its Ops run, then its
// Defs are set up (cgroups created, cpusets set, workers spawned), then
// every worker spawned so far and not yet started starts at once, and the
// step holds. When the hold ends the step's Defs are torn down: their
// workers stopped, their reports collected and their cgroups removed.
// What the Ops did lasts (see [Op]).
//
// The Ops run before the Defs exist, so they cannot name them; cgroups
// that Ops change belong in the [Backdrop] or are made by an AddCgroup.
type Step struct {
	// Name names the step in the timeline and in errors; empty means
	// "step N" (N from 1).
	Name string
	// Defs are the cgroups that live for this step only. They may not
	// reuse the name of a cgroup that exists.
	Defs []CgroupDef
	// Ops are the changes the step makes when it begins, and at every
	// interval of an [Every] hold.
	Ops []Op
	// Hold is how long the step lasts once its workers started; it must
	// be set.
	Hold Hold
}

// Backdrop is what lives across all the steps of a scenario: cgroups
// (Defs, set up before the first step, then Ops) that every step may name
// but none may remove or reuse the name of. Its workers start together
// with the first step's and are stopped when the last step has ended.
type Backdrop struct {
	// Defs are the cgroups that live for the whole scenario.
	Defs []CgroupDef
	// Ops run once after the Defs are set up, before the first step.
	Ops []Op
}
