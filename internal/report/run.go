package report

import (
	"cmp"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/sidecar"
)

// ErrNoResults is returned when there is nothing to report.
var ErrNoResults = errors.New("no result files")

// Skipped is a result file left out of a page, and why.
type Skipped struct {
	// Path names the file; Reason says what was wrong with it.
	Path, Reason string
}

// Run is what a run page shows: the results and the files that could not
// be read.
type Run struct {
	// Title heads the page.
	Title string
	// Results are the variants, in any order; the page puts failures
	// first.
	Results []sidecar.Result
	// Skipped are the files left out.
	Skipped []Skipped
	// Generated is when the page was made; zero leaves it out.
	Generated time.Time
}

// Counts splits the results by verdict.
func (r *Run) Counts() (passed, failed, skipped int) {
	for _, v := range r.Results {
		switch {
		case v.Skipped:
			skipped++
		case v.Passed:
			passed++
		default:
			failed++
		}
	}
	return
}

// ordered returns the results failures first, then passes, then skips,
// each by test name.
func (r *Run) ordered() []sidecar.Result {
	rank := func(v *sidecar.Result) int {
		switch {
		case v.Failed():
			return 0
		case v.Passed:
			return 1
		}
		return 2
	}
	out := slices.Clone(r.Results)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		return cmp.Or(cmp.Compare(a.TestName, b.TestName), cmp.Compare(a.KernelVersion, b.KernelVersion)) < 0
	})
	return out
}

// facts are the run's header: each value the results hold, distinct, in
// first-seen order.
type facts struct {
	Kernels, Commits, Accels, Modes, RunIDs, Hosts, Sources []string
	From, To                                                time.Time
}

func (r *Run) facts() facts {
	var f facts
	add := func(list *[]string, v string) {
		if v != "" && !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	for _, v := range r.Results {
		add(&f.Kernels, v.KernelVersion)
		add(&f.Commits, v.ProjectCommit)
		add(&f.RunIDs, v.RunID)
		add(&f.Sources, v.RunSource)
		if v.Skipped {
			continue
		}
		add(&f.Accels, v.Accelerator)
		if v.Deterministic {
			add(&f.Modes, "deterministic (guest time follows instructions)")
		} else {
			add(&f.Modes, "normal (guest time is the host's)")
		}
		if h := v.Host; h != nil {
			desc := strings.TrimSpace(h.CPUModel)
			if h.OnlineCPUs > 0 {
				desc += ", " + strconv.Itoa(h.OnlineCPUs) + " CPUs"
			}
			if h.KernelRelease != "" {
				desc += ", Linux " + h.KernelRelease
			}
			add(&f.Hosts, strings.TrimPrefix(desc, ", "))
		}
		if t := v.Timestamp; !t.IsZero() {
			if f.From.IsZero() || t.Before(f.From) {
				f.From = t
			}
			if t.After(f.To) {
				f.To = t
			}
		}
	}
	return f
}
