package gotest

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// Names of rows that stand for a package rather than a test.
const (
	// BuildFailedName is the row of a package that did not build.
	BuildFailedName = "[build failed]"
	// PackageFailedName is the row of a package that failed outside its
	// tests (TestMain, a crash before or after the tests).
	PackageFailedName = "[package]"
)

// Row is one entry of the summary: a variant (leaf test), a test that
// failed on its own account, or a package that failed outside its tests.
type Row struct {
	// Package is the import path.
	Package string
	// Name is the test's full name, or BuildFailedName or
	// PackageFailedName.
	Name string
	// Status is Passed, Failed or Skipped.
	Status Status
	// Elapsed is the run time.
	Elapsed time.Duration
	// Reason is the one line saying why it failed or was skipped.
	Reason string
	// Output is what the test printed, framework lines removed (see
	// CleanOutput); for a failed variant whose panic the testing package
	// reported in an enclosing test, that report follows.
	Output string
	// Test is the test, nil for package rows.
	Test *Test
}

// Finish ends what the stream left open, as when go test was killed:
// tests without an outcome become failed and unfinished, packages without
// one failed. It returns the tests it finished.
func (r *Run) Finish() []*Test {
	at := r.now()
	var out []*Test
	for _, p := range r.Packages {
		for _, t := range p.Tests {
			if !t.Status.Done() {
				t.Status, t.Unfinished = Failed, true
				t.Elapsed = at.Sub(t.Started).Round(time.Millisecond)
				out = append(out, t)
			}
		}
		if !p.Status.Done() {
			p.Status = Failed
		}
	}
	return out
}

// Rows returns the summary's entries in the order of the run: per package,
// a build failure, or the variants and the tests that failed on their own
// (a test with subtests that failed while none of its subtests did, or
// that printed something of its own other than a panic), then, when the
// package failed but none of its entries did, the package itself.
func (r *Run) Rows() []Row {
	var rows []Row
	for _, p := range r.Packages {
		if p.FailedBuild != "" {
			rows = append(rows, Row{Package: p.Path, Name: BuildFailedName, Status: Failed, Elapsed: p.Elapsed,
				Reason: p.Reason(), Output: strings.TrimRight(p.BuildOutput, "\n")})
			continue
		}
		failed := false
		for _, t := range p.Tests {
			if !t.Status.Done() {
				continue
			}
			own := CleanOutput(t.Output())
			if !t.Leaf() {
				if t.Status != Failed {
					continue
				}
				// A subtest's failure fails its parents; they count only when
				// they have something of their own to say (a panic in a
				// parent's output is its subtest's, reported with that).
				if _, panicked := panicReason(own); t.failedBelow() && (own == "" || panicked) {
					continue
				}
			}
			row := Row{Package: p.Path, Name: t.Name, Status: t.Status, Elapsed: t.Elapsed, Reason: t.Reason(p), Output: own, Test: t}
			if t.Status == Failed && t.Leaf() {
				for a := t.Parent; a != nil; a = a.Parent {
					if ao := CleanOutput(a.Output()); strings.Contains(ao, "panic: ") {
						row.Output = joinBlocks(row.Output, "(reported under "+a.Name+")\n"+ao)
						break
					}
				}
				if t.Unfinished {
					if pr, ok := p.panicLine(); ok && !strings.Contains(row.Output, pr) {
						row.Output = joinBlocks(row.Output, "(the package's process ended with)\n"+pr)
					}
				}
			}
			if row.Status == Failed {
				failed = true
			}
			rows = append(rows, row)
		}
		if p.Status == Failed && !failed {
			rows = append(rows, Row{Package: p.Path, Name: PackageFailedName, Status: Failed, Elapsed: p.Elapsed,
				Reason: p.Reason(), Output: CleanOutput(p.Output())})
		}
	}
	return rows
}

// failedBelow reports whether a subtest of t, at any depth, failed.
func (t *Test) failedBelow() bool {
	for _, c := range t.Children {
		if c.Status == Failed || c.failedBelow() {
			return true
		}
	}
	return false
}

func joinBlocks(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n" + b
}

// Totals counts rows by outcome.
type Totals struct {
	Passed, Failed, Skipped int
}

// Tally counts rows by outcome.
func Tally(rows []Row) Totals {
	var t Totals
	for _, r := range rows {
		switch r.Status {
		case Passed:
			t.Passed++
		case Failed:
			t.Failed++
		case Skipped:
			t.Skipped++
		}
	}
	return t
}

// String returns "N passed, N failed, N skipped", the line CI log readers
// look for.
func (t Totals) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", t.Passed, t.Failed, t.Skipped)
}

// FormatDuration formats a run time as the summary shows it: "4.2s" below a
// minute, "3m07s" from there.
func FormatDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
}

// MaxReason is how many characters of a reason the summary table shows.
const MaxReason = 160

// multiPackage reports whether rows span more than one package.
func multiPackage(rows []Row) bool {
	for _, r := range rows {
		if r.Package != rows[0].Package {
			return true
		}
	}
	return false
}

// displayName is the row's name, with its package when rows span several
// or the row stands for a package.
func displayName(r Row, withPkg bool) string {
	if withPkg || r.Test == nil {
		return r.Package + " " + r.Name
	}
	return r.Name
}

// WriteFailures writes the output of each failed row, indented under a
// "--- FAIL: name (time)" header, as go test does.
func WriteFailures(w io.Writer, rows []Row) error {
	withPkg := multiPackage(rows)
	var b strings.Builder
	for _, r := range rows {
		if r.Status != Failed {
			continue
		}
		fmt.Fprintf(&b, "--- FAIL: %s (%s)\n", displayName(r, withPkg), FormatDuration(r.Elapsed))
		out := r.Output
		if out == "" {
			out = "(no output)"
		}
		for _, l := range lines(out) {
			if l == "" {
				b.WriteString("\n")
				continue
			}
			b.WriteString("    " + l + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSummary writes the summary table, failures first with their
// reasons, then passes, then skips with theirs, each with its run time,
// and ends with the totals line (see Totals.String) alone on a line. With
// two or more kernels (their labels, the last element of each variant's
// name), the totals of each kernel and the variants whose outcome differs
// between kernels come before it.
func WriteSummary(w io.Writer, rows []Row, kernels ...string) error {
	withPkg := multiPackage(rows)
	ordered := slices.Clone(rows)
	rank := map[Status]int{Failed: 0, Passed: 1, Skipped: 2}
	slices.SortStableFunc(ordered, func(a, b Row) int { return rank[a.Status] - rank[b.Status] })
	timeWidth := 0 // times align on the right
	for _, r := range ordered {
		timeWidth = max(timeWidth, len(FormatDuration(r.Elapsed)))
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, r := range ordered {
		name := displayName(r, withPkg)
		if withPkg {
			name = r.Package + "\t" + r.Name
		}
		line := fmt.Sprintf("%s\t%s\t%*s", r.Status, name, timeWidth, FormatDuration(r.Elapsed))
		if r.Reason != "" {
			line += "\t" + truncate(r.Reason, MaxReason)
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(ordered) > 0 {
		b.WriteString("\n")
	}
	if len(kernels) > 1 {
		writeByKernel(&b, rows, kernels)
	}
	b.WriteString(Tally(rows).String() + "\n")
	// tabwriter pads the last column of short lines too; no trailing
	// blanks on any line.
	out := strings.Join(trimRight(strings.Split(b.String(), "\n")), "\n")
	_, err := io.WriteString(w, out)
	return err
}

// writeByKernel writes each kernel's totals, then the variants that passed
// on one kernel and failed on another: on a run across kernels, what a
// reader wants first is what the kernel changed.
func writeByKernel(b *strings.Builder, rows []Row, kernels []string) {
	byKernel := map[string][]Row{}
	type outcome struct{ kernel, status string }
	variants := map[string][]outcome{} // the name without its kernel
	var order []string
	for _, r := range rows {
		rest, k, ok := cutKernel(r.Name, kernels)
		if !ok {
			continue
		}
		byKernel[k] = append(byKernel[k], r)
		key := r.Package + " " + rest
		if _, seen := variants[key]; !seen {
			order = append(order, key)
		}
		variants[key] = append(variants[key], outcome{k, r.Status.String()})
	}
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "by kernel:")
	for _, k := range kernels {
		fmt.Fprintf(tw, "  %s\t%s\n", k, Tally(byKernel[k]))
	}
	var differ []string
	for _, key := range order {
		outs := variants[key]
		same := true
		for _, o := range outs[1:] {
			same = same && o.status == outs[0].status
		}
		if same {
			continue
		}
		var parts []string
		for _, o := range outs {
			parts = append(parts, o.status+" on "+o.kernel)
		}
		_, name, _ := strings.Cut(key, " ")
		if multiPackage(rows) {
			name = key
		}
		differ = append(differ, fmt.Sprintf("  %s\t%s", name, strings.Join(parts, ", ")))
	}
	if len(differ) > 0 {
		fmt.Fprintln(tw, "differs by kernel:")
		for _, l := range differ {
			fmt.Fprintln(tw, l)
		}
	}
	tw.Flush()
	b.WriteString("\n")
}

// cutKernel splits a variant's name into the rest and its kernel label,
// when its last element is one of kernels.
func cutKernel(name string, kernels []string) (rest, kernel string, ok bool) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 || !slices.Contains(kernels, name[i+1:]) {
		return "", "", false
	}
	return name[:i], name[i+1:], true
}

func trimRight(ls []string) []string {
	for i, l := range ls {
		ls[i] = strings.TrimRight(l, " ")
	}
	return ls
}

// truncate shortens s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
