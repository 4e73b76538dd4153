package stats

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// ANSI colours of the table.
const (
	red   = "\x1b[31m"
	green = "\x1b[32m"
	reset = "\x1b[0m"
)

// TextOptions configure WriteText.
type TextOptions struct {
	// Color marks regressions red and improvements green (for a
	// terminal).
	Color bool
	// All lists unchanged metrics too.
	All bool
}

// WriteText writes the report as a table for people: which rows were
// compared, every significant change (all changes with All), the summary
// counts, the rows only one side has, the rows not compared, and the host
// context fields that differ.
func (r *Report) WriteText(w io.Writer, o TextOptions) error {
	var out bytes.Buffer
	side := func(name string, s SideInfo) {
		fmt.Fprintf(&out, "%s: %s: %d sidecars, %d passed", name, s.Filter, s.Runs, s.Passed)
		if s.Failed > 0 || s.Skipped > 0 {
			fmt.Fprintf(&out, " (excluded: %d failed, %d skipped)", s.Failed, s.Skipped)
		}
		out.WriteByte('\n')
	}
	side("A", r.A)
	side("B", r.B)

	// Pairing dimensions whose values vary get a column; the others are
	// shown once.
	all := append(append([]Row(nil), r.Rows...), r.NotCompared...)
	var cols []Dim
	common := map[Dim]string{}
	for _, d := range r.Pairing {
		vals := map[string]bool{}
		for _, row := range all {
			vals[row.Key.Dims[d]] = true
		}
		if len(vals) > 1 {
			cols = append(cols, d)
		} else {
			for v := range vals {
				common[d] = v
			}
		}
	}
	dims := make([]string, 0, len(r.Pairing))
	for _, d := range r.Pairing {
		if v, ok := common[d]; ok {
			dims = append(dims, string(d)+"="+v)
		}
	}
	fmt.Fprintf(&out, "sliced by %s; paired by test", joinDims(r.Slicing))
	if len(cols) > 0 {
		fmt.Fprintf(&out, ", %s", joinDims(cols))
	}
	if len(dims) > 0 {
		fmt.Fprintf(&out, " (all rows: %s)", strings.Join(dims, " "))
	}
	out.WriteString("\n\n")

	// verdicts holds each table line's verdict, for colouring.
	var verdicts []Verdict
	var tb bytes.Buffer
	tw := tabwriter.NewWriter(&tb, 0, 4, 2, ' ', 0)
	head := []string{"TEST"}
	for _, d := range cols {
		head = append(head, strings.ToUpper(string(d)))
	}
	head = append(head, "METRIC", "A", "B", "DELTA", "")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	verdicts = append(verdicts, Unchanged)
	for _, row := range r.Rows {
		for _, c := range row.Changes {
			if c.Verdict == Unchanged && !o.All {
				continue
			}
			f := []string{row.Key.Test}
			for _, d := range cols {
				f = append(f, row.Key.Dims[d])
			}
			mark := ""
			switch c.Verdict {
			case Regression:
				mark = "REGRESSION"
			case Improvement:
				mark = "improvement"
			case Changed:
				mark = "changed"
			}
			if row.A.Mixed || row.B.Mixed {
				mark += " +mixed"
			}
			f = append(f, c.Metric, FormatValue(c.A, c.Unit), FormatValue(c.B, c.Unit), FormatDelta(c), mark)
			fmt.Fprintln(tw, strings.Join(f, "\t"))
			verdicts = append(verdicts, c.Verdict)
		}
	}
	tw.Flush()
	if len(verdicts) > 1 {
		for i, text := range strings.SplitAfter(strings.TrimSuffix(tb.String(), "\n"), "\n") {
			text = strings.TrimRight(text, " \n")
			if o.Color {
				switch verdicts[i] {
				case Regression:
					text = red + text + reset
				case Improvement:
					text = green + text + reset
				}
			}
			out.WriteString(text + "\n")
		}
		out.WriteByte('\n')
	}
	fmt.Fprintf(&out, "%s, %s, %d changed, %d unchanged over %d compared %s\n",
		plural(r.Regressions, "regression"), plural(r.Improvements, "improvement"),
		r.Changed, r.Unchanged, len(r.Rows), pluralWord(len(r.Rows), "row"))

	keys := func(title string, ks []Key) {
		if len(ks) == 0 {
			return
		}
		fmt.Fprintf(&out, "\n%s (%d):\n", title, len(ks))
		for _, k := range ks {
			fmt.Fprintf(&out, "  %s\n", k)
		}
	}
	keys("new in B", r.NewInB)
	keys("gone from A", r.RemovedFromA)
	if len(r.NotCompared) > 0 {
		fmt.Fprintf(&out, "\nnot compared, a side had no passing run (%d):\n", len(r.NotCompared))
		for _, row := range r.NotCompared {
			fmt.Fprintf(&out, "  %s  A: %s  B: %s\n", row.Key, sideCounts(row.A), sideCounts(row.B))
		}
	}
	if len(r.HostDiff) > 0 {
		fmt.Fprintf(&out, "\nhost context differs (A → B):\n")
		for _, d := range r.HostDiff {
			fmt.Fprintf(&out, "  %s: %s → %s\n", d.Field, d.A, d.B)
		}
	}
	_, err := w.Write(out.Bytes())
	return err
}

func sideCounts(s Side) string {
	t := fmt.Sprintf("%d/%d passed", s.Passed, s.Runs)
	if s.Failed > 0 {
		t += fmt.Sprintf(", %d failed", s.Failed)
	}
	if s.Skipped > 0 {
		t += fmt.Sprintf(", %d skipped", s.Skipped)
	}
	return t
}

func joinDims(ds []Dim) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = string(d)
	}
	return strings.Join(s, ", ")
}

func plural(n int, word string) string { return strconv.Itoa(n) + " " + pluralWord(n, word) }

func pluralWord(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// FormatNumber shows a metric value: integers whole, others with up to
// four significant decimals.
func FormatNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	prec := 4
	switch a := math.Abs(v); {
	case a >= 100:
		prec = 1
	case a >= 1:
		prec = 2
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// FormatValue shows a metric value with its unit.
func FormatValue(v float64, unit string) string {
	if unit == "" {
		return FormatNumber(v)
	}
	return FormatNumber(v) + " " + unit
}

// FormatDelta shows a change, B − A, with its relative size ("+3 (+12.5%)",
// "+3 (from 0)").
func FormatDelta(c Change) string {
	s := FormatNumber(c.Delta)
	if c.Delta > 0 {
		s = "+" + s
	}
	if c.Rel == nil {
		return s + " (from 0)"
	}
	pct := *c.Rel * 100
	if c.Delta < 0 {
		pct = -pct
	}
	return fmt.Sprintf("%s (%+.1f%%)", s, pct)
}
