package scenariofile

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/work"
)

// params lists the parameters each work type takes: those of its
// constructor in package work (work.Bursty(burst, sleep) takes burst and
// sleep), named after the work.Type fields they set. A parameter left out
// keeps the type's reference default (work.Kind.Default).
var params = map[work.Kind][]string{
	work.BurstyKind:          {"burst", "sleep"},
	work.PipePingPongKind:    {"burst_iters"},
	work.FutexPingPongKind:   {"spin_iters"},
	work.CachePressureKind:   {"size_kb", "stride"},
	work.CacheYieldKind:      {"size_kb", "stride"},
	work.CachePipeKind:       {"size_kb", "burst_iters"},
	work.FutexFanOutKind:     {"fan_out", "spin_iters"},
	work.FanOutComputeKind:   {"fan_out", "size_kb", "operations", "sleep"},
	work.AffinityChurnKind:   {"spin_iters"},
	work.PolicyChurnKind:     {"spin_iters"},
	work.PageFaultChurnKind:  {"size_kb", "touches", "spin_iters"},
	work.MutexContentionKind: {"contenders", "hold_iters", "work_iters"},
	work.SequenceKind:        {"phases"},
	work.CustomKind:          {"name"},
}

// groups converts the work groups at path ("step[0].cgroup[1].work"); ok
// is false when one of them was wrong (and recorded).
func (c *converter) groups(path string, ws []rawWork) ([]work.Group, bool) {
	if ws != nil && len(ws) == 0 {
		c.probs.at(path, "%swork is empty; leave it out for %d spinners, or add a group such as { type = \"spin\" }", c.ctx, work.DefaultWorkers)
		return nil, false
	}
	ok := true
	var out []work.Group
	for i, w := range ws {
		g, gok := c.group(fmt.Sprintf("%s[%d]", path, i), i, len(ws), w)
		ok = ok && gok
		out = append(out, g)
	}
	return out, ok
}

// group converts one work group, the i-th of n.
func (c *converter) group(path string, i, n int, w rawWork) (work.Group, bool) {
	ctx := c.ctx
	if n > 1 {
		ctx += fmt.Sprintf("work group %d: ", i+1)
	}
	fail := func(key, format string, args ...any) {
		c.probs.at(join(path, key), "%s"+format, append([]any{ctx}, args...)...)
	}
	var g work.Group
	name := "spin"
	if w.Type != nil {
		name = *w.Type
	}
	kind, err := work.ParseKind(name)
	if err != nil {
		names := make([]string, 0, 20)
		for _, k := range work.AllKinds() {
			names = append(names, string(k))
		}
		hint := didYouMean(name, names)
		if hint == "" {
			hint = " (have: " + strings.Join(names, ", ") + ")"
		}
		fail("type", "unknown work type %q%s", name, hint)
		return g, false
	}
	g.Type, err = kind.Default()
	if err != nil { // sequence and custom: their one parameter is required
		g.Type = work.Type{Kind: kind}
	}
	before := len(c.probs.list)
	c.setParams(&g.Type, path, ctx, w)
	if w.Workers != nil {
		if *w.Workers < 1 {
			fail("workers", "workers = %d: want at least 1; leave it out for %d", *w.Workers, work.DefaultWorkers)
		}
		g.Workers = *w.Workers
	}
	if w.Policy != nil {
		if g.Policy, err = parsePolicy(*w.Policy); err != nil {
			fail("policy", "%v", err)
		}
	}
	if w.Affinity != nil {
		if g.Affinity, err = parseAffinity(*w.Affinity); err != nil {
			fail("affinity", "%v", err)
		}
	}
	if w.MemPolicy != nil {
		if g.MemPolicy, err = parseMemPolicy(*w.MemPolicy); err != nil {
			fail("mem_policy", "%v", err)
		}
	}
	if len(c.probs.list) > before {
		return g, false
	}
	// The ranges, the worker count a grouped type needs, a registered
	// custom function: what work.Group.Validate checks, without a topology.
	if err := g.Validate(); err != nil {
		c.probs.at(path, "%s%s", ctx, strings.ReplaceAll(err.Error(), "\n", "; "))
		return g, false
	}
	return g, true
}

// setParams sets the parameters given in w on t, recording one the type
// does not take or a bad value.
func (c *converter) setParams(t *work.Type, path, ctx string, w rawWork) {
	takes := params[t.Kind]
	set := func(key string, given bool, apply func() error) {
		if !given {
			return
		}
		if !slices.Contains(takes, key) {
			have := "no parameters"
			if len(takes) > 0 {
				have = "only " + strings.Join(takes, ", ")
			}
			c.probs.at(join(path, key), "%s%s takes no %s (it takes %s)", ctx, t.Kind, key, have)
			return
		}
		if err := apply(); err != nil {
			c.probs.at(join(path, key), "%s%s %v", ctx, key, err)
		}
	}
	dur := func(dst *time.Duration, s *string) func() error {
		return func() error {
			d, err := time.ParseDuration(*s)
			if err != nil || d < 0 {
				return fmt.Errorf("%q: want a duration such as \"50ms\"", *s)
			}
			*dst = d
			return nil
		}
	}
	num := func(dst *int, v *int) func() error { return func() error { *dst = *v; return nil } }
	set("burst", w.Burst != nil, dur(&t.Burst, w.Burst))
	set("sleep", w.Sleep != nil, dur(&t.Sleep, w.Sleep))
	set("burst_iters", w.BurstIters != nil, num(&t.BurstIters, w.BurstIters))
	set("spin_iters", w.SpinIters != nil, num(&t.SpinIters, w.SpinIters))
	set("size_kb", w.SizeKB != nil, num(&t.SizeKB, w.SizeKB))
	set("stride", w.Stride != nil, num(&t.Stride, w.Stride))
	set("fan_out", w.FanOut != nil, num(&t.FanOut, w.FanOut))
	set("operations", w.Operations != nil, num(&t.Operations, w.Operations))
	set("touches", w.Touches != nil, num(&t.Touches, w.Touches))
	set("contenders", w.Contenders != nil, num(&t.Contenders, w.Contenders))
	set("hold_iters", w.HoldIters != nil, num(&t.HoldIters, w.HoldIters))
	set("work_iters", w.WorkIters != nil, num(&t.WorkIters, w.WorkIters))
	set("name", w.Name != nil, func() error { t.Name = *w.Name; return nil })
	set("phases", w.Phases != nil, func() error {
		for i, p := range w.Phases {
			ph, err := phase(p)
			if err != nil {
				return fmt.Errorf("%d: %w", i+1, err)
			}
			t.Phases = append(t.Phases, ph)
		}
		return nil
	})
	switch {
	case t.Kind == work.SequenceKind && w.Phases == nil:
		c.probs.at(path, `%ssequence needs phases, e.g. phases = [{ kind = "spin", duration = "20ms" }, { kind = "sleep", duration = "5ms" }]`, ctx)
	case t.Kind == work.CustomKind && w.Name == nil:
		c.probs.at(path, `%scustom needs the name of a registered work function, e.g. name = "scenario/fnv"`, ctx)
	}
}

// phase converts a phase of a sequence.
func phase(p rawPhase) (work.Phase, error) {
	if p.Kind == nil || p.Duration == nil {
		return work.Phase{}, fmt.Errorf(`want kind and duration, e.g. { kind = "spin", duration = "20ms" }`)
	}
	d, err := parseDuration(*p.Duration)
	if err != nil {
		return work.Phase{}, fmt.Errorf("duration %q: %w", *p.Duration, err)
	}
	return work.Phase{Kind: work.PhaseKind(*p.Kind), Duration: d}, nil
}
