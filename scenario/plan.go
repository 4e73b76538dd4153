package scenario

import (
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/internal/plan"
)

// Plan is a scenario validated against a topology and a duration, with
// every cpuset resolved to CPUs: [Prepare] makes one, [Plan.Execute] runs
// it.
type Plan struct {
	p *plan.Plan
	// name, when set, prefixes the plan's phases in the timeline: a
	// catalogue scenario run among others says which one was running.
	name string
}

// Prepare validates a scenario against topology t and test duration d
// (ktstr.Ctx.Topology and Ctx.Duration) before anything runs, and
// resolves its cpusets. It reports every problem it finds at once, each
// line naming the step, the cgroup or operation, and what is wrong: a
// cpuset the topology cannot give ("not enough usable CPUs (3) for 8
// partitions"), a work group with a bad worker count, an operation on an
// unknown cgroup, a missing or zero hold.
func Prepare(t *ktstr.CPUTopology, d time.Duration, b Backdrop, steps ...Step) (*Plan, error) {
	p, err := plan.Prepare(t, d, b, steps...)
	if err != nil {
		return nil, err
	}
	return &Plan{p: p}, nil
}

// Steps returns the number of steps.
func (p *Plan) Steps() int { return len(p.p.Steps) }

// Duration returns the sum of the steps' holds: how long the scenario
// runs, set-up and tear-down aside.
func (p *Plan) Duration() time.Duration { return p.p.Duration() }

// String describes the plan, one line per step, cgroup and operation,
// with the cpusets resolved:
//
//	backdrop:
//	  cgroup cg0, cpus 0-1 (llc 0): 2 × spin
//	step 1 "grow", 1s:
//	  set-cpuset cg0 llc 1 (cpus 2)
func (p *Plan) String() string { return p.p.String() }
