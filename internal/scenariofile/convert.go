package scenariofile

import (
	"fmt"

	"github.com/ktstr-go/ktstr/internal/plan"
)

// converter turns the decoded file into plan values, recording every
// problem at its line.
type converter struct {
	probs *problems
	// ctx prefixes messages: `step "split": cgroup "cg0": `.
	ctx string
}

// opRef says which of the file's ops (and which of its work groups, for a
// spawn of several) a plan.Op came from: a spawn of n groups is n
// plan.Spawn ops.
type opRef struct {
	op, work int // from 0; work -1 for ops without work groups
}

// stepLabel names a step in messages: `step "split"`, or `step 2`.
func stepLabel(i int, name *string) string {
	if name != nil && *name != "" {
		return fmt.Sprintf("step %q", *name)
	}
	return fmt.Sprintf("step %d", i+1)
}

// step converts [[step]] number i.
func (c *converter) step(i int, s rawStep) (plan.Step, []opRef) {
	path := fmt.Sprintf("step[%d]", i)
	label := stepLabel(i, s.Name)
	st := plan.Step{}
	if s.Name != nil {
		st.Name = *s.Name
	}
	c.ctx = label + ": "
	if s.Hold == nil {
		c.probs.at(path, `%sno hold: add hold = "50%%" (a share of the duration) or hold = "2s"`, c.ctx)
	} else {
		h, err := parseHold(*s.Hold)
		if err != nil {
			c.probs.at(join(path, "hold"), "%s%v", c.ctx, err)
		}
		if s.Every != nil {
			d, err := parseDuration(*s.Every)
			if err != nil {
				c.probs.at(join(path, "every"), "%severy %q: %v", c.ctx, *s.Every, err)
			}
			h = plan.Every(d, h)
		}
		st.Hold = h
	}
	st.Defs = c.cgroups(path, label, s.Cgroups)
	var refs []opRef
	st.Ops, refs = c.ops(path, label, s.Ops)
	return st, refs
}

// backdrop converts [backdrop].
func (c *converter) backdrop(b *rawBackdrop) (plan.Backdrop, []opRef) {
	if b == nil {
		return plan.Backdrop{}, nil
	}
	var out plan.Backdrop
	var refs []opRef
	out.Defs = c.cgroups("backdrop", "backdrop", b.Cgroups)
	out.Ops, refs = c.ops("backdrop", "backdrop", b.Ops)
	return out, refs
}

// cgroups converts the cgroups of a step or the backdrop at path.
func (c *converter) cgroups(path, label string, cgs []rawCgroup) []plan.CgroupDef {
	var out []plan.CgroupDef
	for j, cg := range cgs {
		p := fmt.Sprintf("%s.cgroup[%d]", path, j)
		c.ctx = label + ": "
		if cg.Name == nil {
			c.probs.at(p, `%scgroup %d: no name: add name = "cg%d"`, c.ctx, j+1, j)
			continue
		}
		c.ctx += fmt.Sprintf("cgroup %q: ", *cg.Name)
		d := plan.CgroupDef{Name: *cg.Name}
		if err := plan.CheckName(d.Name); err != nil {
			c.probs.at(join(p, "name"), "%s%v", c.ctx, err)
		}
		if cg.Cpuset != nil {
			cs, err := parseCpuset(*cg.Cpuset)
			if err != nil {
				c.probs.at(join(p, "cpuset"), "%s%v", c.ctx, err)
			}
			d.Cpuset = cs
		}
		d.Work, _ = c.groups(join(p, "work"), cg.Work)
		out = append(out, d)
	}
	return out
}
