package scenariofile

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ktstr-go/ktstr/internal/catalog"
	"github.com/ktstr-go/ktstr/internal/cputopo"
	"github.com/ktstr-go/ktstr/internal/plan"
	"github.com/ktstr-go/ktstr/internal/topolabel"
)

// Validate checks the file against each of its topologies before anything
// boots, as the guest will check it: the steps are planned (plan.Prepare)
// and every catalogue scenario is built and planned, on the CPU topology a
// guest of that label reports (cputopo.Expected), for the file's
// duration. Every problem is an [*Error] at the line of the key that
// declared it: a cpuset the topology cannot give, an op on a cgroup that
// does not exist at that point, a work group's affinity or memory policy
// outside the topology, a hold whose interval is not shorter than it.
//
// A problem names the topologies it was found on ("on 1n2l2c1t: ..."),
// unless it was found alike on each of several.
func (f *File) Validate() error {
	type where struct {
		line int
		msg  string
	}
	var order []where
	topos := map[where][]string{}
	record := func(topo string, line int, msg string) {
		w := where{line, msg}
		if _, ok := topos[w]; !ok {
			order = append(order, w)
		}
		topos[w] = append(topos[w], topo)
	}
	probs := &problems{file: f.Name, idx: f.idx}
	if len(f.Topologies) == 0 {
		probs.line(0, "no topology to validate against")
	}
	for _, label := range f.Topologies {
		shape, err := topolabel.Parse(label)
		if err != nil {
			probs.at("topology", "%v", err)
			continue
		}
		t := cputopo.Expected(shape)
		if len(f.Steps) > 0 {
			if _, err := plan.Prepare(t, f.Duration, f.Backdrop, f.Steps...); err != nil {
				for _, e := range unjoin(err) {
					line, msg := f.locate(e)
					record(label, line, msg)
				}
			}
		}
		for i, name := range f.Catalogue {
			e, err := catalog.Lookup(name)
			if err != nil {
				record(label, f.idx.line(fmt.Sprintf("catalogue[%d]", i)), err.Error())
				continue
			}
			b, steps := e.Build(t, f.Duration)
			if _, err := plan.Prepare(t, f.Duration, b, steps...); err != nil {
				record(label, f.idx.line(fmt.Sprintf("catalogue[%d]", i)),
					fmt.Sprintf("catalogue scenario %q does not fit: %s", name, strings.ReplaceAll(err.Error(), "\n", "; ")))
			}
		}
	}
	for _, w := range order {
		prefix := ""
		if on := topos[w]; len(f.Topologies) == 1 || len(on) < len(f.Topologies) {
			prefix = "on " + strings.Join(on, ", ") + ": "
		}
		probs.line(w.line, "%s%s", prefix, w.msg)
	}
	return probs.err()
}

// unjoin returns the errors errors.Join joined, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// fileTerms rewrites the Go names in the planner's advice into the file's.
var fileTerms = strings.NewReplacer(
	"the Backdrop", "the [backdrop]",
	"AddCgroup", "an add-cgroup op",
	"step's Defs", "step's cgroups",
)

// locate returns the line of the key behind a problem plan.Prepare found,
// and the message in the file's terms: the step as the file names it, the
// cgroup or the file's op, then what is wrong.
func (f *File) locate(err error) (int, string) {
	var p *plan.Problem
	if !errors.As(err, &p) || p.Step > len(f.Steps) || p.Step >= len(f.opRefs) {
		return 0, fileTerms.Replace(err.Error())
	}
	base, ctx := "backdrop", "backdrop: "
	defs, ops := f.Backdrop.Defs, f.Backdrop.Ops
	if p.Step > 0 {
		s := f.Steps[p.Step-1]
		base, ctx = fmt.Sprintf("step[%d]", p.Step-1), stepLabel(p.Step-1, &s.Name)+": "
		defs, ops = s.Defs, s.Ops
	}
	path := base
	switch {
	case p.Def > 0 && p.Def <= len(defs):
		path = fmt.Sprintf("%s.cgroup[%d]", base, p.Def-1)
		ctx += fmt.Sprintf("cgroup %q: ", defs[p.Def-1].Name)
		switch {
		case p.Field == "name" || p.Field == "cpuset":
			path = join(path, p.Field)
		case p.Field == "work" && p.Work > 0:
			path = fmt.Sprintf("%s.work[%d]", path, p.Work-1)
		}
	case p.Op > 0 && p.Op <= len(ops) && p.Op <= len(f.opRefs[p.Step]):
		ref := f.opRefs[p.Step][p.Op-1]
		path = fmt.Sprintf("%s.op[%d]", base, ref.op)
		ctx += fmt.Sprintf("op %d (%s)", ref.op+1, ops[p.Op-1].Kind())
		if p.Repeat {
			ctx += ", run again by every"
		}
		ctx += ": "
		switch {
		case p.Field == "cpuset" || p.Field == "affinity":
			path = join(path, p.Field)
		case p.Field == "work" && ref.work >= 0:
			path = fmt.Sprintf("%s.work[%d]", path, ref.work)
			// Name the group when the file's op spawns several: it is
			// not the first, or the next plan op is the same file op's.
			refs := f.opRefs[p.Step]
			if ref.work > 0 || p.Op < len(refs) && refs[p.Op].op == ref.op {
				ctx += fmt.Sprintf("work group %d: ", ref.work+1)
			}
		}
	case p.Field == "hold":
		path = join(base, "hold")
	}
	return f.idx.line(path), ctx + fileTerms.Replace(p.Err.Error())
}
