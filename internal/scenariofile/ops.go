package scenariofile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ktstr-go/ktstr/internal/plan"
	"github.com/ktstr-go/ktstr/work"
)

// opKeys lists, per operation, the keys it needs, in the order of its
// constructor's parameters; every op also has "op". stop-cgroup and
// set-affinity take cgroup = "" for the workers of spawn-host.
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

// opKeyOrder is every key an op may have but "op", and an example of
// each, for the message about a missing one.
var opKeyOrder = []struct{ key, example string }{
	{"cgroup", `cgroup = "cg0"`},
	{"other", `other = "cg1"`},
	{"from", `from = "cg0"`},
	{"to", `to = "cg1"`},
	{"cpuset", `cpuset = "llc:0"`},
	{"affinity", `affinity = "llc-aligned"`},
	{"work", `work = [{ type = "spin", workers = 2 }]`},
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

// ops converts the ops of a step or the backdrop at path, and says which
// file op each plan.Op came from.
func (c *converter) ops(path, label string, ops []rawOp) ([]plan.Op, []opRef) {
	var out []plan.Op
	var refs []opRef
	for k, o := range ops {
		built, spawns := c.op(fmt.Sprintf("%s.op[%d]", path, k), fmt.Sprintf("%s: op %d", label, k+1), o)
		for w, op := range built {
			ref := opRef{op: k, work: -1}
			if spawns {
				ref.work = w
			}
			out = append(out, op)
			refs = append(refs, ref)
		}
	}
	return out, refs
}

// op converts one op, labelled label ("step 2: op 1"), into plan ops:
// one, or for a spawn (spawns true) one per work group. It returns none
// when the op is wrong, and records why.
func (c *converter) op(path, label string, o rawOp) (ops []plan.Op, spawns bool) {
	if o.Op == nil {
		c.probs.at(path, `%s: no op: add op = "set-cpuset" or another (%s)`, label, strings.Join(opNames(), ", "))
		return nil, false
	}
	kind := plan.OpKind(*o.Op)
	need, known := opKeys[kind]
	if !known {
		hint := didYouMean(*o.Op, opNames())
		switch {
		case kind == plan.OpDo:
			hint = ": it runs Go code, which a file cannot hold"
		case hint == "":
			hint = " (have: " + strings.Join(opNames(), ", ") + ")"
		}
		c.probs.at(join(path, "op"), "%s: unknown op %q%s", label, *o.Op, hint)
		return nil, false
	}
	c.ctx = fmt.Sprintf("%s (%s): ", label, kind)
	strs := map[string]*string{"cgroup": o.Cgroup, "other": o.Other, "from": o.From, "to": o.To, "cpuset": o.Cpuset, "affinity": o.Affinity}
	has := func(key string) bool {
		if key == "work" {
			return o.Work != nil
		}
		return strs[key] != nil
	}
	before := len(c.probs.list)
	for _, k := range opKeyOrder {
		switch needed := slices.Contains(need, k.key); {
		case needed && !has(k.key):
			c.probs.at(path, "%smissing %s: add %s", c.ctx, k.key, k.example)
		case !needed && has(k.key):
			c.probs.at(join(path, k.key), "%s%s takes no %s (it takes %s)", c.ctx, kind, k.key, strings.Join(need, " and "))
		}
	}
	if len(c.probs.list) > before {
		return nil, false
	}
	str := func(key string) string { return *strs[key] }
	for _, key := range []string{"cgroup", "other", "from", "to"} {
		// "" is the parent cgroup of spawn-host's workers, which only
		// stop-cgroup and set-affinity may name.
		if !has(key) || key == "cgroup" && str(key) == "" && (kind == plan.OpStopCgroup || kind == plan.OpSetAffinity) {
			continue
		}
		if err := plan.CheckName(str(key)); err != nil {
			c.probs.at(join(path, key), "%s%v", c.ctx, err)
		}
	}
	var cs plan.Cpuset
	var aff work.Affinity
	var err error
	if has("cpuset") {
		if cs, err = parseCpuset(str("cpuset")); err != nil {
			c.probs.at(join(path, "cpuset"), "%s%v", c.ctx, err)
		}
	}
	if has("affinity") {
		if aff, err = parseAffinity(str("affinity")); err != nil {
			c.probs.at(join(path, "affinity"), "%s%v", c.ctx, err)
		}
	}
	groups, _ := c.groups(join(path, "work"), o.Work)
	if len(c.probs.list) > before {
		return nil, false
	}
	switch kind {
	case plan.OpAddCgroup:
		return []plan.Op{plan.AddCgroup(str("cgroup"))}, false
	case plan.OpRemoveCgroup:
		return []plan.Op{plan.RemoveCgroup(str("cgroup"))}, false
	case plan.OpSetCpuset:
		return []plan.Op{plan.SetCpuset(str("cgroup"), cs)}, false
	case plan.OpClearCpuset:
		return []plan.Op{plan.ClearCpuset(str("cgroup"))}, false
	case plan.OpSwapCpusets:
		return []plan.Op{plan.SwapCpusets(str("cgroup"), str("other"))}, false
	case plan.OpStopCgroup:
		return []plan.Op{plan.StopCgroup(str("cgroup"))}, false
	case plan.OpSetAffinity:
		return []plan.Op{plan.SetAffinity(str("cgroup"), aff)}, false
	case plan.OpMoveAllTasks:
		return []plan.Op{plan.MoveAllTasks(str("from"), str("to"))}, false
	}
	// spawn and spawn-host: an op per work group, as a Go test would
	// write them.
	for _, g := range groups {
		if kind == plan.OpSpawn {
			ops = append(ops, plan.Spawn(str("cgroup"), g))
		} else {
			ops = append(ops, plan.SpawnHost(g))
		}
	}
	return ops, true
}
