package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/internal/cpuset"
	"github.com/ktstr-go/ktstr/internal/cputopo"
	"github.com/ktstr-go/ktstr/work"
)

// Plan is a scenario validated against a topology and a duration, with
// every cpuset resolved to CPUs: [Prepare] makes one. An executor carries
// out the Backdrop, then the Steps in order.
type Plan struct {
	// Backdrop is the scenario's backdrop; its Hold is zero.
	Backdrop ResolvedStep
	// Steps are the scenario's steps.
	Steps []ResolvedStep
}

// ResolvedStep is a step (or the backdrop) with its cpusets resolved.
type ResolvedStep struct {
	// Label names it in errors: "backdrop", "step 2" or `step 2 "grow"`.
	Label string
	// Phase names it in the timeline: the step's name or "step N".
	Phase string
	// Defs are its cgroups, in order.
	Defs []ResolvedDef
	// Ops are its operations, in order.
	Ops []ResolvedOp
	// Hold is the step's hold.
	Hold Hold
	// Duration is how long the hold lasts in the test duration the plan
	// was prepared for.
	Duration time.Duration
}

// ResolvedDef is a [CgroupDef] with its cpuset resolved and its work
// defaulted.
type ResolvedDef struct {
	// Name is the cgroup.
	Name string
	// Spec is the cpuset as declared.
	Spec Cpuset
	// CPUs is what Spec resolved to; nil for no cpuset.
	CPUs []int
	// Groups are the work groups to spawn: the def's, or the default.
	Groups []work.Group
}

// ResolvedOp is an [Op] with what an executor needs of it spelled out.
// Op keeps its fields unexported because users build Ops (scenario.Op is
// an alias) and must go through the constructors; a Plan's resolved steps
// never reach users (scenario.Plan wraps the Plan), so they can carry the
// fields openly.
type ResolvedOp struct {
	// Op is the operation as declared; it describes itself in messages.
	Op Op
	// Kind is what the operation does.
	Kind OpKind
	// Cgroup is the cgroup it acts on ("" the parent cgroup, for
	// StopCgroup, SetAffinity and SpawnHost), and Other the second
	// cgroup of a SwapCpusets or the target of a MoveAllTasks.
	Cgroup, Other string
	// CPUs is the resolved cpuset of a SetCpuset.
	CPUs []int
	// Group is what a Spawn or SpawnHost starts.
	Group work.Group
	// Affinity is what a SetAffinity pins to.
	Affinity work.Affinity
	// Fn is the function of a Do, given the executor's context.
	Fn func(ctx any) error
}

// Scope says how long a cgroup lives.
type Scope int

// The scopes.
const (
	ScopeBackdrop Scope = iota + 1 // the whole scenario; not removable
	ScopeOp                        // made by AddCgroup: until removed or the end
	ScopeStep                      // a step's Defs: until the step ends
)

// sim follows which cgroups exist, and their cpusets, through the steps,
// to validate operations before anything runs.
type sim struct {
	topo  *cputopo.Topology
	scope map[string]Scope
	cpus  map[string][]int
	// procs marks cgroups that hold (or will hold) workers: cgroup v2
	// lets only leaves hold processes.
	procs map[string]bool
	errs  []error
}

// Prepare validates a scenario against topology t and test duration d
// (ktstr.Ctx.Topology and Ctx.Duration) before anything runs, and
// resolves its cpusets. It reports every problem it finds at once, each
// line naming the step, the cgroup or operation, and what is wrong: a
// cpuset the topology cannot give ("not enough usable CPUs (3) for 8
// partitions"), a work group with a bad worker count, an operation on an
// unknown cgroup, a missing or zero hold. Each problem is a [*Problem],
// which says where it is as indices.
func Prepare(t *cputopo.Topology, d time.Duration, b Backdrop, steps ...Step) (*Plan, error) {
	if t == nil || len(t.CPUs) == 0 {
		return nil, errors.New("scenario: no topology (run it inside the guest, with ctx.Topology)")
	}
	s := &sim{topo: t, scope: map[string]Scope{}, cpus: map[string][]int{}, procs: map[string]bool{}}
	p := &Plan{}
	if len(steps) == 0 {
		s.errs = append(s.errs, errors.New("scenario: no steps"))
	}
	p.Backdrop = ResolvedStep{Label: "backdrop", Phase: "backdrop"}
	p.Backdrop.Defs = s.defs(0, "backdrop", b.Defs, ScopeBackdrop)
	p.Backdrop.Ops = s.ops(0, "backdrop", b.Ops, ScopeBackdrop, false, nil)
	for i, st := range steps {
		ps := ResolvedStep{Label: fmt.Sprintf("step %d", i+1), Phase: st.Name, Hold: st.Hold}
		if st.Name != "" {
			ps.Label += fmt.Sprintf(" %q", st.Name)
		} else {
			ps.Phase = fmt.Sprintf("step %d", i+1)
		}
		if err := st.Hold.validate(d); err != nil {
			s.fail(Problem{Step: i + 1, Field: "hold", Err: err}, fmt.Sprintf("%s: %v", ps.Label, err))
		}
		ps.Duration = st.Hold.Duration(d)
		defNames := make([]string, len(st.Defs))
		for j, def := range st.Defs {
			defNames[j] = def.Name
		}
		ps.Ops = s.ops(i+1, ps.Label, st.Ops, ScopeOp, false, defNames)
		ps.Defs = s.defs(i+1, ps.Label, st.Defs, ScopeStep)
		if st.Hold.Repeats() {
			// The operations run again once the Defs exist: what fails
			// only the second time (an AddCgroup of a cgroup that now
			// exists) fails here.
			s.ops(i+1, ps.Label, st.Ops, ScopeOp, true, nil)
		}
		s.endStep()
		p.Steps = append(p.Steps, ps)
	}
	if len(s.errs) > 0 {
		return nil, errors.Join(s.errs...)
	}
	return p, nil
}

// Duration returns the sum of the steps' holds: how long the scenario
// runs, set-up and tear-down aside.
func (p *Plan) Duration() time.Duration {
	var d time.Duration
	for _, s := range p.Steps {
		d += s.Duration
	}
	return d
}

// String describes the plan, one line per step, cgroup and operation,
// with the cpusets resolved:
//
//	backdrop:
//	  cgroup cg0, cpus 0-1 (llc 0): 2 × spin
//	step 1 "grow", 1s:
//	  set-cpuset cg0 llc 1 (cpus 2)
func (p *Plan) String() string {
	var b strings.Builder
	write := func(s ResolvedStep, head string) {
		if len(s.Defs) == 0 && len(s.Ops) == 0 && s.Label == "backdrop" {
			return
		}
		fmt.Fprintf(&b, "%s:\n", head)
		for _, op := range s.Ops {
			fmt.Fprintf(&b, "  %v", op.Op)
			if op.Kind == OpSetCpuset {
				fmt.Fprintf(&b, " (cpus %s)", cpuset.Format(op.CPUs))
			}
			b.WriteString("\n")
		}
		for _, d := range s.Defs {
			fmt.Fprintf(&b, "  cgroup %s", d.Name)
			if d.CPUs != nil {
				fmt.Fprintf(&b, ", cpus %s (%v)", cpuset.Format(d.CPUs), d.Spec)
			}
			gs := make([]string, len(d.Groups))
			for i, g := range d.Groups {
				gs[i] = g.String()
			}
			fmt.Fprintf(&b, ": %s\n", strings.Join(gs, "; "))
		}
	}
	write(p.Backdrop, "backdrop")
	for _, s := range p.Steps {
		head := fmt.Sprintf("%s, %v", s.Label, s.Duration.Round(time.Millisecond))
		if s.Hold.Repeats() {
			head += fmt.Sprintf(", ops every %v", s.Hold.Interval().Round(time.Millisecond))
		}
		write(s, head)
	}
	return b.String()
}

// CheckName says what is wrong with a cgroup name, if anything: empty, absolute,
// or with an empty, "." or ".." component.
func CheckName(name string) error {
	if name == "" {
		return errors.New("empty cgroup name")
	}
	if strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return fmt.Errorf("cgroup name %q: want a relative name such as \"cg0\" or \"a/b\"", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("cgroup name %q: empty, \".\" or \"..\" component", name)
		}
	}
	return nil
}

// Parents returns the proper ancestors of a nested cgroup name, outermost
// first: "a/b/c" gives "a", "a/b".
func Parents(name string) []string {
	var out []string
	for i := range len(name) {
		if name[i] == '/' {
			out = append(out, name[:i])
		}
	}
	return out
}

// IsUnder reports whether cgroup name is dir or inside it.
func IsUnder(name, dir string) bool {
	return name == dir || strings.HasPrefix(name, dir+"/")
}

// add records a new cgroup and its missing parents, which get its scope.
func (s *sim) add(name string, sc Scope) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if old, ok := s.scope[name]; ok {
		if old == ScopeBackdrop && sc != ScopeBackdrop {
			return fmt.Errorf("cgroup %s is a backdrop cgroup; a step may not reuse its name", name)
		}
		return fmt.Errorf("cgroup %s exists already", name)
	}
	for _, p := range Parents(name) {
		if psc, ok := s.scope[p]; ok && psc == ScopeStep && sc != ScopeStep {
			return fmt.Errorf("cgroup %s would be inside %s, a cgroup of the step's Defs, removed when the step ends", name, p)
		}
		if s.procs[p] {
			return fmt.Errorf("cgroup %s would be inside %s, which holds workers (cgroup v2 lets only leaf cgroups hold processes)", name, p)
		}
	}
	for _, p := range Parents(name) {
		if _, ok := s.scope[p]; !ok {
			s.scope[p] = sc
		}
	}
	s.scope[name] = sc
	return nil
}

// known returns an error for a cgroup that does not exist at this point.
func (s *sim) known(name string, defNames []string) error {
	if _, ok := s.scope[name]; ok {
		return nil
	}
	if name == "" {
		return errors.New("empty cgroup name")
	}
	if slices.Contains(defNames, name) {
		return fmt.Errorf("cgroup %s is one of this step's Defs, which are set up after its ops run; put it in the Backdrop or create it with AddCgroup", name)
	}
	names := make([]string, 0, len(s.scope))
	for n := range s.scope {
		names = append(names, n)
	}
	slices.Sort(names)
	have := "none exist here"
	if len(names) > 0 {
		have = "existing: " + strings.Join(names, ", ")
	}
	return fmt.Errorf("unknown cgroup %s (%s)", name, have)
}

// leaf says whether a cgroup may take workers: it has no children.
func (s *sim) leaf(name string) error {
	var kids []string
	for n := range s.scope {
		if n != name && IsUnder(n, name) {
			kids = append(kids, n)
		}
	}
	if len(kids) > 0 {
		slices.Sort(kids)
		return fmt.Errorf("cgroup %s has child cgroups (%s) and cannot hold workers (cgroup v2 lets only leaf cgroups hold processes)", name, strings.Join(kids, ", "))
	}
	return nil
}

// effective returns the CPUs a cgroup's cpuset allows, as far as the
// simulation knows: its own, else its nearest ancestor's; nil for none.
func (s *sim) effective(name string) []int {
	if name == "" {
		return nil
	}
	if c, ok := s.cpus[name]; ok {
		return c
	}
	ps := Parents(name)
	for i := len(ps) - 1; i >= 0; i-- {
		if c, ok := s.cpus[ps[i]]; ok {
			return c
		}
	}
	return nil
}

// group says what is wrong with a work group spawned in a cgroup whose
// cpuset allows cpus (nil: any).
func (s *sim) group(g work.Group, cpus []int) error {
	var errs []error
	if err := g.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, n := range g.MemPolicy.Nodes {
		if n >= len(s.topo.Nodes) {
			errs = append(errs, fmt.Errorf("memory policy %s: the guest has %d NUMA nodes (0-%d)", g.MemPolicy, len(s.topo.Nodes), len(s.topo.Nodes)-1))
			break
		}
	}
	if g.Affinity.Mode == work.AffinityExact {
		for _, c := range g.Affinity.CPUs {
			if !slices.Contains(s.topo.CPUs, c) {
				errs = append(errs, fmt.Errorf("affinity %s: CPU %d is not in the guest (CPUs %s)", g.Affinity, c, cpuset.Format(s.topo.CPUs)))
				break
			}
		}
		if cpus != nil && len(intersect(g.Affinity.CPUs, cpus)) == 0 {
			errs = append(errs, fmt.Errorf("affinity %s: no CPU in the cgroup's cpuset %s", g.Affinity, cpuset.Format(cpus)))
		}
	}
	return errors.Join(errs...)
}

// fail records a problem; msg is its whole message.
func (s *sim) fail(p Problem, msg string) {
	p.msg = msg
	s.errs = append(s.errs, &p)
}

// defs validates the cgroup definitions of step number step (0: the
// backdrop), labelled label in messages, and adds them.
func (s *sim) defs(step int, label string, defs []CgroupDef, sc Scope) []ResolvedDef {
	var out []ResolvedDef
	for j, d := range defs {
		fail := func(field string, work int, err error) {
			s.fail(Problem{Step: step, Def: j + 1, Field: field, Work: work, Err: err},
				fmt.Sprintf("%s: cgroup %s: %v", label, d.Name, err))
		}
		if err := s.add(d.Name, sc); err != nil {
			s.fail(Problem{Step: step, Def: j + 1, Field: "name", Err: err}, fmt.Sprintf("%s: %v", label, err))
			continue
		}
		s.procs[d.Name] = true
		pd := ResolvedDef{Name: d.Name, Spec: d.Cpuset, Groups: d.groups()}
		if !d.Cpuset.IsZero() {
			cpus, err := d.Cpuset.Resolve(s.topo)
			if err != nil {
				fail("cpuset", 0, err)
			} else {
				pd.CPUs = cpus
				s.cpus[d.Name] = cpus
			}
		}
		for i, g := range pd.Groups {
			if err := s.group(g, s.effective(d.Name)); err != nil {
				if len(pd.Groups) > 1 {
					err = fmt.Errorf("work group %d (%v): %w", i+1, g, err)
				}
				w := 0
				if len(d.Work) > 0 {
					w = i + 1
				}
				fail("work", w, err)
			}
		}
		out = append(out, pd)
	}
	return out
}

// ops validates the operations of step number step (0: the backdrop),
// labelled label in messages, applying their effects; repeat marks their
// repetition by an Every hold.
func (s *sim) ops(step int, label string, ops []Op, sc Scope, repeat bool, defNames []string) []ResolvedOp {
	again := ""
	if repeat {
		again = ", repeated by the Every hold"
	}
	var out []ResolvedOp
	for i, op := range ops {
		po := ResolvedOp{Op: op, Kind: op.kind, Cgroup: op.cgroup, Other: op.other,
			Group: op.group, Affinity: op.affinity, Fn: op.fn}
		if err := s.op(&po, sc, defNames); err != nil {
			s.fail(Problem{Step: step, Op: i + 1, Field: opField(err), Repeat: repeat, Err: err},
				fmt.Sprintf("%s: op %d (%v)%s: %v", label, i+1, op, again, err))
		}
		out = append(out, po)
	}
	return out
}

// op validates one operation and applies its effect.
func (s *sim) op(po *ResolvedOp, sc Scope, defNames []string) error {
	op := po.Op
	switch op.kind {
	case OpAddCgroup:
		return s.add(op.cgroup, sc)
	case OpRemoveCgroup:
		if err := s.known(op.cgroup, defNames); err != nil {
			return err
		}
		if s.scope[op.cgroup] == ScopeBackdrop {
			return fmt.Errorf("cgroup %s is a backdrop cgroup, which lives until the end", op.cgroup)
		}
		for n, nsc := range s.scope {
			if IsUnder(n, op.cgroup) && nsc == ScopeStep {
				return fmt.Errorf("it would remove %s, a cgroup of the step's Defs", n)
			}
		}
		for n := range s.scope {
			if IsUnder(n, op.cgroup) {
				delete(s.scope, n)
				delete(s.cpus, n)
				delete(s.procs, n)
			}
		}
	case OpSetCpuset:
		if err := s.known(op.cgroup, defNames); err != nil {
			return err
		}
		if op.cpuset.IsZero() {
			return errors.New("no cpuset; use ClearCpuset to remove one")
		}
		cpus, err := op.cpuset.Resolve(s.topo)
		if err != nil {
			return &fieldError{"cpuset", err}
		}
		po.CPUs = cpus
		s.cpus[op.cgroup] = cpus
	case OpClearCpuset:
		if err := s.known(op.cgroup, defNames); err != nil {
			return err
		}
		delete(s.cpus, op.cgroup)
	case OpSwapCpusets:
		if err := errors.Join(s.known(op.cgroup, defNames), s.known(op.other, defNames)); err != nil {
			return err
		}
		if op.cgroup == op.other {
			return fmt.Errorf("swapping cgroup %s with itself", op.cgroup)
		}
		a, aok := s.cpus[op.cgroup]
		b, bok := s.cpus[op.other]
		delete(s.cpus, op.cgroup)
		delete(s.cpus, op.other)
		if bok {
			s.cpus[op.cgroup] = b
		}
		if aok {
			s.cpus[op.other] = a
		}
	case OpSpawn:
		if err := s.known(op.cgroup, defNames); err != nil {
			return err
		}
		if err := s.leaf(op.cgroup); err != nil {
			return err
		}
		s.procs[op.cgroup] = true
		if err := s.group(op.group, s.effective(op.cgroup)); err != nil {
			return &fieldError{"work", err}
		}
	case OpSpawnHost:
		if err := s.group(op.group, nil); err != nil {
			return &fieldError{"work", err}
		}
	case OpStopCgroup:
		if op.cgroup == "" {
			return nil
		}
		if err := s.known(op.cgroup, defNames); err != nil {
			return err
		}
		delete(s.procs, op.cgroup)
	case OpSetAffinity:
		if op.cgroup != "" {
			if err := s.known(op.cgroup, defNames); err != nil {
				return err
			}
		}
		if err := op.affinity.Validate(); err != nil {
			return &fieldError{"affinity", err}
		}
		if err := s.group(work.Group{Affinity: op.affinity}, s.effective(op.cgroup)); err != nil {
			return &fieldError{"affinity", err}
		}
	case OpMoveAllTasks:
		if err := errors.Join(s.known(op.cgroup, defNames), s.known(op.other, defNames)); err != nil {
			return err
		}
		if op.cgroup == op.other {
			return fmt.Errorf("moving the tasks of cgroup %s to itself", op.cgroup)
		}
		if err := s.leaf(op.other); err != nil {
			return err
		}
		if s.procs[op.cgroup] {
			s.procs[op.other] = true
		}
		delete(s.procs, op.cgroup)
	case OpDo:
		if op.fn == nil {
			return errors.New("no function")
		}
	default:
		return errors.New("zero Op; build one with a constructor such as AddCgroup or Spawn")
	}
	return nil
}

// endStep drops the cgroups of a step's Defs.
func (s *sim) endStep() {
	for n, sc := range s.scope {
		if sc == ScopeStep {
			delete(s.scope, n)
			delete(s.cpus, n)
			delete(s.procs, n)
		}
	}
}
