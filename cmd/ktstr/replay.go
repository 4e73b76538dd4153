package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/sidecar"
)

// replayPlan is what `ktstr test --replay` reruns: the failed variants of
// one run, with what it takes to run exactly them again.
type replayPlan struct {
	// Run is the run replayed, Commit the project commit it ran at.
	Run, Commit string
	// Failed are the failed variants' full test names, sorted.
	Failed []string
	// Packages are the failed variants' package directories, relative to
	// the module root ("examples/schedulers", "." for the root).
	Packages []string
	// RunPattern is the -run pattern of their top-level tests.
	RunPattern string
	// Kernels are every kernel the run ran on, so that the variants'
	// names (which carry a kernel's label when there were several) come
	// out the same.
	Kernels []string
	// Gauntlet tells that a failed variant is a gauntlet variant.
	Gauntlet bool
}

// errNoRuns is --replay with no run to replay.
var errNoRuns = errors.New("no test run to replay: run ktstr test first")

// planReplay reads the result files under dir and plans the replay of run
// ("" for the latest).
func planReplay(dir, run string) (*replayPlan, error) {
	results, err := sidecar.ReadDir(dir)
	var errs sidecar.ReadErrors
	switch {
	case errors.As(err, &errs):
		for _, e := range errs {
			if errors.Is(e, fs.ErrNotExist) && e.Path == dir {
				return nil, fmt.Errorf("%w (%s does not exist)", errNoRuns, dir)
			}
		}
	case err != nil:
		return nil, err
	}
	return replayOf(results, run)
}

// replayOf plans the replay of run ("" for the latest) from its results.
func replayOf(results []sidecar.Result, run string) (*replayPlan, error) {
	if len(results) == 0 {
		return nil, errNoRuns
	}
	if run == "" {
		var newest time.Time
		for _, r := range results {
			if r.Timestamp.After(newest) {
				newest, run = r.Timestamp, r.RunID
			}
		}
	}
	p := &replayPlan{Run: run}
	tops := map[string]bool{}
	for _, r := range results {
		if r.RunID != run {
			continue
		}
		p.Commit = r.ProjectCommit
		if r.KernelVersion != "" && !slices.Contains(p.Kernels, r.KernelVersion) {
			p.Kernels = append(p.Kernels, r.KernelVersion)
		}
		if !r.Failed() {
			continue
		}
		if r.Package == "" {
			return nil, fmt.Errorf("run %s: the result file of %s does not say its package (written before ktstr recorded it); rerun it with ktstr test -- -run", run, r.TestName)
		}
		p.Failed = append(p.Failed, r.TestName)
		if pkg := path.Clean(r.Package); !slices.Contains(p.Packages, pkg) {
			p.Packages = append(p.Packages, pkg)
		}
		top, _, _ := strings.Cut(r.TestName, "/")
		tops[regexp.QuoteMeta(top)] = true
		p.Gauntlet = p.Gauntlet || strings.Contains(r.TestName, "/gauntlet/")
	}
	if p.Commit == "" {
		return nil, fmt.Errorf("no result files of run %s (ktstr stats list shows the runs)", run)
	}
	slices.Sort(p.Failed)
	slices.Sort(p.Packages)
	slices.Sort(p.Kernels)
	if len(tops) > 0 {
		p.RunPattern = "^(" + strings.Join(slices.Sorted(maps.Keys(tops)), "|") + ")$"
	}
	return p, nil
}

// replayOutcome says which of the replayed variants pass now, from the
// replay run's results.
func replayOutcome(w io.Writer, p *replayPlan, after []sidecar.Result) {
	state := map[string]string{}
	for _, r := range after {
		switch {
		case r.Skipped:
		case r.Passed:
			state[r.TestName] = "pass"
		default:
			state[r.TestName] = "fail"
		}
	}
	var pass, fail, missing []string
	for _, name := range p.Failed {
		switch state[name] {
		case "pass":
			pass = append(pass, name)
		case "fail":
			fail = append(fail, name)
		default:
			missing = append(missing, name)
		}
	}
	fmt.Fprintf(w, "replay of run %s: %d of %d failed variants pass now\n", p.Run, len(pass), len(p.Failed))
	for _, n := range pass {
		fmt.Fprintf(w, "  now passes:    %s\n", n)
	}
	for _, n := range fail {
		fmt.Fprintf(w, "  still fails:   %s\n", n)
	}
	for _, n := range missing {
		fmt.Fprintf(w, "  did not run:   %s (renamed or removed since?)\n", n)
	}
}
