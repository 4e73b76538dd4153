package gotest

import (
	"slices"
	"strings"
	"time"
)

// Status is where a test or a package stands.
type Status int

// Statuses. A test starts Running; Paused is a parallel test waiting for
// its turn.
const (
	Running Status = iota
	Paused
	Passed
	Failed
	Skipped
)

// String returns "RUN", "PAUSE", "PASS", "FAIL" or "SKIP".
func (s Status) String() string {
	switch s {
	case Paused:
		return "PAUSE"
	case Passed:
		return "PASS"
	case Failed:
		return "FAIL"
	case Skipped:
		return "SKIP"
	}
	return "RUN"
}

// Done reports whether s is an outcome.
func (s Status) Done() bool { return s >= Passed }

// Test is one run of a test or subtest. With -count=N a test runs N times,
// each a Test of its own.
type Test struct {
	// Package is the import path of the test's package.
	Package string
	// Name is the full name, e.g. "TestX/gauntlet/tiny-1llc/default".
	Name string
	// Status is Running or Paused until an outcome arrives.
	Status Status
	// Elapsed is the run time go test reported (zero until done, and for
	// tests that never finished).
	Elapsed time.Duration
	// Started is when the test started; Resumed when it last ran on after
	// a pause (Started if it never paused).
	Started, Resumed time.Time
	// Unfinished is set on a test the package's process ended before it
	// reported an outcome (a panic elsewhere, -timeout, a crash); such a
	// test counts as failed.
	Unfinished bool
	// Parent is the enclosing test, nil for a top-level test.
	Parent *Test
	// Children are the subtests, in the order they started.
	Children []*Test

	output []byte
}

// Leaf reports whether t ran no subtests: a variant.
func (t *Test) Leaf() bool { return len(t.Children) == 0 }

// Output returns everything attributed to the test itself (not to its
// subtests), as go test printed it, framework lines included.
func (t *Test) Output() string { return string(t.output) }

// Package is one package of the run.
type Package struct {
	// Path is the import path.
	Path string
	// Status is Running until the package's binary finished; Skipped means
	// it had no test files (or no tests ran).
	Status Status
	// Elapsed is the package's run time as go test reported it.
	Elapsed time.Duration
	// Started is when the package's test binary started (or, failing
	// that, its first event).
	Started time.Time
	// FailedBuild is set when a build failure failed the package: the
	// build's package ID.
	FailedBuild string
	// BuildOutput is the compiler's or vet's output for FailedBuild.
	BuildOutput string
	// Tests are every test run, subtests included, in the order they
	// started.
	Tests []*Test

	output  []byte
	current map[string]*Test // latest run of each name
}

// Output returns the output that belongs to no test: the package's result
// line ("ok", "FAIL"), TestMain's output, a crash outside tests.
func (p *Package) Output() string { return string(p.output) }

// Variants returns the package's leaf tests in order.
func (p *Package) Variants() []*Test {
	var out []*Test
	for _, t := range p.Tests {
		if t.Leaf() {
			out = append(out, t)
		}
	}
	return out
}

// Run collects the state of a `go test -json` run from its events.
type Run struct {
	// Packages in the order their first event arrived.
	Packages []*Package
	// Now stands in for time.Now for events without a time (tests use a
	// fake clock); nil means time.Now.
	Now func() time.Time

	pkgs  map[string]*Package
	build map[string]*strings.Builder // build output by ImportPath
}

// NewRun returns an empty Run.
func NewRun() *Run {
	return &Run{pkgs: map[string]*Package{}, build: map[string]*strings.Builder{}}
}

// Change is what one event changed.
type Change struct {
	// Package is the event's package; nil for build events.
	Package *Package
	// Test is the test the event is about, nil for package events.
	Test *Test
	// Finished lists the tests that reached an outcome with this event:
	// Test on its pass, fail or skip, or, when a package ends, the tests
	// it left unfinished.
	Finished []*Test
	// PackageDone is set on the package's own pass, fail or skip.
	PackageDone bool
}

func (r *Run) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Package returns the package with import path path, or nil.
func (r *Run) Package(path string) *Package { return r.pkgs[path] }

func (r *Run) pkg(path string, at time.Time) *Package {
	p := r.pkgs[path]
	if p == nil {
		p = &Package{Path: path, Started: at, current: map[string]*Test{}}
		r.pkgs[path] = p
		r.Packages = append(r.Packages, p)
	}
	return p
}

// test returns the current run of name, starting a new one when there is
// none or the latest has finished (the next run of -count=N) and start is
// set.
func (r *Run) test(p *Package, name string, at time.Time, start bool) *Test {
	t := p.current[name]
	if t != nil && !(start && t.Status.Done()) {
		return t
	}
	t = &Test{Package: p.Path, Name: name, Status: Running, Started: at, Resumed: at}
	if i := strings.LastIndexByte(name, '/'); i > 0 {
		t.Parent = r.test(p, name[:i], at, false)
		t.Parent.Children = append(t.Parent.Children, t)
	}
	p.current[name] = t
	p.Tests = append(p.Tests, t)
	return t
}

// Apply records one event and says what it changed.
func (r *Run) Apply(ev Event) Change {
	at := ev.Time
	if at.IsZero() {
		at = r.now()
	}
	switch ev.Action {
	case ActionBuildOutput:
		b := r.build[ev.ImportPath]
		if b == nil {
			b = &strings.Builder{}
			r.build[ev.ImportPath] = b
		}
		b.WriteString(ev.Output)
		return Change{}
	case ActionBuildFail:
		return Change{}
	}
	if ev.Package == "" {
		return Change{}
	}
	p := r.pkg(ev.Package, at)
	ch := Change{Package: p}
	if ev.Test == "" {
		switch ev.Action {
		case ActionStart:
			p.Started = at
		case ActionOutput:
			p.output = append(p.output, ev.Output...)
		case ActionPass, ActionFail, ActionSkip:
			p.Status = outcome(ev.Action)
			p.Elapsed = seconds(ev.Elapsed)
			if ev.FailedBuild != "" {
				p.FailedBuild = ev.FailedBuild
				if b := r.build[ev.FailedBuild]; b != nil {
					p.BuildOutput = b.String()
				}
			}
			ch.PackageDone = true
			for _, t := range p.Tests {
				if !t.Status.Done() {
					t.Status, t.Unfinished = Failed, true
					t.Elapsed = at.Sub(t.Started).Round(time.Millisecond)
					ch.Finished = append(ch.Finished, t)
				}
			}
		}
		return ch
	}
	t := r.test(p, ev.Test, at, ev.Action == ActionRun)
	ch.Test = t
	switch ev.Action {
	case ActionRun:
	case ActionPause:
		if !t.Status.Done() {
			t.Status = Paused
		}
	case ActionCont:
		if !t.Status.Done() {
			t.Status, t.Resumed = Running, at
		}
	case ActionOutput:
		t.output = append(t.output, ev.Output...)
	case ActionPass, ActionFail, ActionSkip:
		t.Status = outcome(ev.Action)
		t.Elapsed = seconds(ev.Elapsed)
		ch.Finished = []*Test{t}
	case ActionBench:
		t.Status = Passed
		ch.Finished = []*Test{t}
	}
	return ch
}

func outcome(action string) Status {
	switch action {
	case ActionPass:
		return Passed
	case ActionFail:
		return Failed
	}
	return Skipped
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond)
}

// Running returns the leaf tests running now (not paused), the longest
// running first.
func (r *Run) Running() []*Test {
	var out []*Test
	for _, p := range r.Packages {
		for _, t := range p.Tests {
			if t.Status == Running && t.Leaf() {
				out = append(out, t)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b *Test) int { return a.Resumed.Compare(b.Resumed) })
	return out
}

// Counts tallies variants (leaf tests) by outcome.
type Counts struct {
	Done, Passed, Failed, Skipped int
}

// Counts returns how many variants have finished, and how.
func (r *Run) Counts() Counts {
	var c Counts
	for _, p := range r.Packages {
		for _, t := range p.Tests {
			if !t.Leaf() {
				continue
			}
			switch t.Status {
			case Passed:
				c.Passed++
			case Failed:
				c.Failed++
			case Skipped:
				c.Skipped++
			default:
				continue
			}
			c.Done++
		}
	}
	return c
}
