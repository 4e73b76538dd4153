package scenariofile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ktstr-go/ktstr/internal/plan"
	"github.com/ktstr-go/ktstr/work"
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

// opKeys lists, per operation, the keys it needs; every op also has "op".
// stop-cgroup and set-affinity take cgroup = "" for the workers of
// spawn-host.
var opKeys = map[plan.OpKind][]string{
	plan.OpAddCgroup:    {"cgroup"},
	plan.OpRemoveCgroup: {"cgroup"},
	plan.OpSetCpuset:    {"cgroup", "cpuset"},
	plan.OpClearCpuset:  {"cgroup"},
	plan.OpSwapCpusets:  {"cgroup", "other"},
	plan.OpSpawn:        {"cgroup", "work"},
	plan.OpStopCgroup:   {"cgroup"},
	plan.OpSetAffinity:  {"cgroup", "affinity"},
	plan.OpSpawnHost:    {"work"},
	plan.OpMoveAllTasks: {"from", "to"},
}

// opExamples shows each key in use, for the message about a missing one.
var opExamples = map[string]string{
	"cgroup":   `cgroup = "cg0"`,
	"other":    `other = "cg1"`,
	"from":     `from = "cg0"`,
	"to":       `to = "cg1"`,
	"cpuset":   `cpuset = "llc:0"`,
	"affinity": `affinity = "llc-aligned"`,
	"work":     `work = [{ type = "spin", workers = 2 }]`,
}

// ops converts the ops of a step or the backdrop at path.
func (c *converter) ops(path, label string, ops []rawOp) ([]plan.Op, []opRef) {
	var out []plan.Op
	var refs []opRef
	for k, o := range ops {
		p := fmt.Sprintf("%s.op[%d]", path, k)
		c.ctx = fmt.Sprintf("%s: op %d: ", label, k+1)
		if o.Op == nil {
			c.probs.at(p, `%sno op: add op = "set-cpuset" or another (%s)`, c.ctx, strings.Join(opNames(), ", "))
			continue
		}
		kind := plan.OpKind(*o.Op)
		c.ctx = fmt.Sprintf("%s: op %d (%s): ", label, k+1, kind)
		need, known := opKeys[kind]
		if !known {
			hint := didYouMean(*o.Op, opNames())
			if hint == "" {
				hint = " (have: " + strings.Join(opNames(), ", ") + ")"
			}
			if kind == plan.OpDo {
				hint = ": it runs Go code, which a file cannot hold"
			}
			c.probs.at(join(p, "op"), "%sunknown op %q%s", fmt.Sprintf("%s: op %d: ", label, k+1), *o.Op, hint)
			continue
		}
		given := map[string]*string{"cgroup": o.Cgroup, "other": o.Other, "from": o.From, "to": o.To, "cpuset": o.Cpuset, "affinity": o.Affinity}
		has := func(key string) bool {
			if key == "work" {
				return o.Work != nil
			}
			return given[key] != nil
		}
		ok := true
		for _, key := range []string{"cgroup", "other", "from", "to", "cpuset", "affinity", "work"} {
			switch {
			case slices.Contains(need, key) && !has(key):
				c.probs.at(p, "%smissing %s: add %s", c.ctx, key, opExamples[key])
				ok = false
			case !slices.Contains(need, key) && has(key):
				c.probs.at(join(p, key), "%s%s takes no %s (it takes %s)", c.ctx, kind, key, strings.Join(need, " and "))
				ok = false
			}
		}
		if !ok {
			continue
		}
		str := func(key string) string { return *given[key] }
		for _, key := range []string{"cgroup", "other", "from", "to"} {
			if !has(key) {
				continue
			}
			// "" is the spawn-host workers' parent cgroup, which only
			// stop-cgroup and set-affinity may name.
			if str(key) == "" && key == "cgroup" && (kind == plan.OpStopCgroup || kind == plan.OpSetAffinity) {
				continue
			}
			if err := plan.CheckName(str(key)); err != nil {
				c.probs.at(join(p, key), "%s%v", c.ctx, err)
				ok = false
			}
		}
		var cs plan.Cpuset
		var aff work.Affinity
		var err error
		if has("cpuset") {
			if cs, err = parseCpuset(str("cpuset")); err != nil {
				c.probs.at(join(p, "cpuset"), "%s%v", c.ctx, err)
				ok = false
			}
		}
		if has("affinity") {
			if aff, err = parseAffinity(str("affinity")); err != nil {
				c.probs.at(join(p, "affinity"), "%s%v", c.ctx, err)
				ok = false
			}
		}
		groups, gok := c.groups(join(p, "work"), o.Work)
		if !ok || !gok {
			continue
		}
		add := func(op plan.Op, w int) {
			out = append(out, op)
			refs = append(refs, opRef{op: k, work: w})
		}
		switch kind {
		case plan.OpAddCgroup:
			add(plan.AddCgroup(str("cgroup")), -1)
		case plan.OpRemoveCgroup:
			add(plan.RemoveCgroup(str("cgroup")), -1)
		case plan.OpSetCpuset:
			add(plan.SetCpuset(str("cgroup"), cs), -1)
		case plan.OpClearCpuset:
			add(plan.ClearCpuset(str("cgroup")), -1)
		case plan.OpSwapCpusets:
			add(plan.SwapCpusets(str("cgroup"), str("other")), -1)
		case plan.OpStopCgroup:
			add(plan.StopCgroup(str("cgroup")), -1)
		case plan.OpSetAffinity:
			add(plan.SetAffinity(str("cgroup"), aff), -1)
		case plan.OpMoveAllTasks:
			add(plan.MoveAllTasks(str("from"), str("to")), -1)
		case plan.OpSpawn, plan.OpSpawnHost:
			for w, g := range groups {
				if kind == plan.OpSpawn {
					add(plan.Spawn(str("cgroup"), g), w)
				} else {
					add(plan.SpawnHost(g), w)
				}
			}
		}
	}
	return out, refs
}

// opNames lists the operations a file may use, in the order of package
// plan.
func opNames() []string {
	return []string{
		string(plan.OpAddCgroup), string(plan.OpRemoveCgroup), string(plan.OpSetCpuset),
		string(plan.OpClearCpuset), string(plan.OpSwapCpusets), string(plan.OpSpawn),
		string(plan.OpStopCgroup), string(plan.OpSetAffinity), string(plan.OpSpawnHost),
		string(plan.OpMoveAllTasks),
	}
}
