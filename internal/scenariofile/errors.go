package scenariofile

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ktstr-go/ktstr/internal/spell"
)

// Error is one problem with a scenario file, at a line. [Parse], [Load]
// and [File.Validate] join one or more of them with errors.Join; each
// reads "file:line: context: what is wrong".
type Error struct {
	// File is the file's name as given to Parse.
	File string
	// Line is the line from 1, or 0 for a problem of the whole file (no
	// topology, nothing to run).
	Line int
	// Msg is what is wrong, after its context: `step "split": cgroup
	// "cg1": cpuset llc 3: the guest has 2 LLCs (0-1)`.
	Msg string
}

// Error returns "file:line: msg", or "file: msg" without a line.
func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// problems collects a file's errors, locating them through the index.
type problems struct {
	file string
	idx  *index
	list []*Error
}

// at records a problem with the key at path (or, when the file does not
// have that key, the nearest enclosing one that it has).
func (p *problems) at(path, format string, args ...any) {
	p.line(p.idx.line(path), format, args...)
}

// line records a problem at line n (0: the whole file).
func (p *problems) line(n int, format string, args ...any) {
	p.list = append(p.list, &Error{File: p.file, Line: n, Msg: fmt.Sprintf(format, args...)})
}

// err returns the problems joined, ordered by line (the whole file's
// first), or nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	slices.SortStableFunc(p.list, func(a, b *Error) int { return cmp.Compare(a.Line, b.Line) })
	errs := make([]error, len(p.list))
	for i, e := range p.list {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// didYouMean returns " (did you mean x?)" or " (did you mean x, y or z?)"
// for the candidates close to name, or "" when none is.
func didYouMean(name string, candidates []string) string {
	near := nearest(name, candidates, 3)
	if len(near) == 0 {
		return ""
	}
	return " (did you mean " + orList(near) + "?)"
}

// nearest returns up to n candidates close to name, closest first: those
// within a few edits, and those that contain name or that name contains
// ("spread_pct" finds "max_spread_pct").
func nearest(name string, candidates []string, n int) []string {
	type scored struct {
		s string
		d int
	}
	low := strings.ToLower(name)
	limit := max(2, len(name)/3)
	var near []scored
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := spell.Distance(low, lc)
		if low != "" && (strings.Contains(lc, low) || strings.Contains(low, lc)) {
			d = min(d, 1)
		}
		if d <= limit {
			near = append(near, scored{c, d})
		}
	}
	slices.SortStableFunc(near, func(a, b scored) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.s, b.s)) })
	var out []string
	for _, s := range near[:min(n, len(near))] {
		out = append(out, s.s)
	}
	return out
}

// orList joins words as "a", "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
