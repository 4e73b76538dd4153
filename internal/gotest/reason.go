package gotest

import (
	"regexp"
	"strings"
)

// IsFrameworkLine reports whether line (without its newline) is one the
// testing package or the go command writes around a test's own output:
// "=== RUN", "--- PASS:", "PASS", "ok  \tpkg", "FAIL\tpkg", coverage
// lines, and the like. ktstr's budget line counts as one too.
func IsFrameworkLine(line string) bool {
	s := strings.TrimSpace(line)
	switch s {
	case "", "PASS", "FAIL", "testing: warning: no tests to run":
		return true
	}
	for _, p := range []string{"=== ", "--- PASS: ", "--- FAIL: ", "--- SKIP: ", "--- BENCH: ", "coverage: ", "ktstr budget: "} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	for _, p := range []string{"ok  \t", "FAIL\t", "?   \t"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// lines splits output into lines without their newlines.
func lines(out string) []string {
	out = strings.TrimSuffix(out, "\n")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// CleanOutput returns out without the test's framework lines (see
// IsFrameworkLine; only unindented ones: indented ones are quoted output,
// such as a guest's own test log), with the indentation all remaining
// lines share removed, and without leading and trailing blank lines. ""
// when nothing is left.
func CleanOutput(out string) string {
	var kept []string
	for _, l := range lines(out) {
		if l == "" || l[0] == ' ' || l[0] == '\t' || !IsFrameworkLine(l) {
			kept = append(kept, strings.TrimRight(l, " \r"))
		}
	}
	for len(kept) > 0 && kept[0] == "" {
		kept = kept[1:]
	}
	for len(kept) > 0 && kept[len(kept)-1] == "" {
		kept = kept[:len(kept)-1]
	}
	indent := -1
	for _, l := range kept {
		if l == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " "))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range kept {
		if len(l) >= indent && indent > 0 {
			kept[i] = l[indent:]
		}
	}
	return strings.Join(kept, "\n")
}

var (
	// logPrefix is what t.Log puts before a message: "    file.go:12: ".
	logPrefix = regexp.MustCompile(`^\s*[\w.+-]+\.go:\d+: `)
	// kindLine is a ktstr failure: "ktstr: <kind>: <message>", the kind
	// a lower-case word with hyphens ("body", "scheduler-died",
	// "kernel-panic", "starved").
	kindLine = regexp.MustCompile(`\bktstr: ([a-z][a-z0-9]*(?:-[a-z0-9]+)*): (.*)$`)
)

// message returns a line as a reason: without t.Log's file:line prefix and
// surrounding blanks.
func message(line string) string {
	return strings.TrimSpace(logPrefix.ReplaceAllString(line, ""))
}

// KindReason returns "<kind>: <message>" from the first line of out of the
// form "ktstr: <kind>: <message>", and whether there was one.
func KindReason(out string) (string, bool) {
	for _, l := range lines(out) {
		if m := kindLine.FindStringSubmatch(l); m != nil {
			return strings.TrimSpace(m[1] + ": " + m[2]), true
		}
	}
	return "", false
}

// panicReason returns the first "panic: ..." line of out.
func panicReason(out string) (string, bool) {
	for _, l := range lines(out) {
		if strings.HasPrefix(l, "panic: ") {
			return strings.TrimSpace(l), true
		}
	}
	return "", false
}

// firstLine returns the first line of out that is not a framework line,
// as a message; with skipInfo, lines that are ktstr's own notes ("ktstr:
// ..." without a failure kind) and section headers ("--- guest output
// ---") do not count.
func firstLine(out string, skipInfo bool) (string, bool) {
	for _, l := range lines(out) {
		if IsFrameworkLine(l) {
			continue
		}
		m := message(l)
		if m == "" {
			continue
		}
		if skipInfo && (strings.HasPrefix(m, "ktstr: ") || strings.HasPrefix(m, "--- ") && strings.HasSuffix(m, " ---")) {
			continue
		}
		return m, true
	}
	return "", false
}

// Reason returns the one line that says why t failed or was skipped:
//  1. its first "ktstr: <kind>: <message>" line, as "<kind>: <message>";
//  2. a panic: its own "panic: " line, or one in an enclosing test's
//     output (the testing package reports a subtest's panic there); for a
//     test its package's process ended under, "did not finish" and the
//     first panic of the package (e.g. "panic: test timed out after 10m");
//  3. its first line of output other than ktstr's notes and headers;
//  4. its first line of output at all.
//
// Passed tests have no reason ("").
func (t *Test) Reason(p *Package) string {
	switch t.Status {
	case Failed, Skipped:
	default:
		return ""
	}
	out := t.Output()
	if r, ok := KindReason(out); ok {
		return r
	}
	if t.Status == Failed {
		if t.Unfinished {
			if r, ok := p.panicLine(); ok {
				return "did not finish: " + r
			}
			return "did not finish: the test process ended first"
		}
		if r, ok := panicReason(out); ok {
			return r
		}
		for a := t.Parent; a != nil; a = a.Parent {
			if r, ok := panicReason(a.Output()); ok {
				return r
			}
		}
	}
	if r, ok := firstLine(out, true); ok {
		return r
	}
	r, _ := firstLine(out, false)
	return r
}

// panicLine returns the first "panic: " line anywhere in the package's
// output.
func (p *Package) panicLine() (string, bool) {
	if p == nil {
		return "", false
	}
	for _, t := range p.Tests {
		if r, ok := panicReason(t.Output()); ok {
			return r, true
		}
	}
	return panicReason(p.Output())
}

// Reason returns why the package failed on its own: the first error of a
// failed build, else a panic or the first line of output outside tests
// (TestMain, a crash). "" when it did not fail or has nothing to say.
func (p *Package) Reason() string {
	if p.Status != Failed {
		return ""
	}
	if p.FailedBuild != "" {
		for _, l := range lines(p.BuildOutput) {
			if l != "" && !strings.HasPrefix(l, "#") {
				return strings.TrimSpace(l)
			}
		}
		return "build failed"
	}
	if r, ok := panicReason(p.Output()); ok {
		return r
	}
	if r, ok := firstLine(p.Output(), false); ok {
		return r
	}
	return ""
}
