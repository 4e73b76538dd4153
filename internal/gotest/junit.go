package gotest

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// JUnitSuites is the root of a JUnit XML report.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one package.
type JUnitSuite struct {
	Name      string          `xml:"name,attr"`
	Tests     int             `xml:"tests,attr"`
	Failures  int             `xml:"failures,attr"`
	Errors    int             `xml:"errors,attr"`
	Skipped   int             `xml:"skipped,attr"`
	Time      string          `xml:"time,attr"`
	Timestamp string          `xml:"timestamp,attr,omitempty"`
	Cases     []JUnitCase     `xml:"testcase"`
	SystemOut *JUnitSystemOut `xml:"system-out,omitempty"`
}

// JUnitCase is one variant, a test that failed on its own, or a package
// that failed outside its tests.
type JUnitCase struct {
	Classname string          `xml:"classname,attr"`
	Name      string          `xml:"name,attr"`
	Time      string          `xml:"time,attr"`
	Failure   *JUnitFailure   `xml:"failure,omitempty"`
	Skipped   *JUnitSkipped   `xml:"skipped,omitempty"`
	SystemOut *JUnitSystemOut `xml:"system-out,omitempty"`
}

// JUnitFailure holds the failure's reason and the test's output.
type JUnitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

// JUnitSkipped holds the skip's reason.
type JUnitSkipped struct {
	Message string `xml:"message,attr"`
}

// JUnitSystemOut is output.
type JUnitSystemOut struct {
	Text string `xml:",cdata"`
}

// ansiEscape matches terminal control sequences (colours, cursor moves)
// as kernel consoles and schedulers print them.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

// xmlText makes s fit for an XML 1.0 document: no terminal control
// sequences, and every character XML does not allow (control characters,
// invalid UTF-8) replaced by U+FFFD.
func xmlText(s string) string {
	s = ansiEscape.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// JUnit builds the JUnit report of the run: a testsuite per package that
// has rows (see Run.Rows) or failed, a testcase per row with the package
// as classname, a failure with the reason as message and the output as
// text, a skipped element with the reason, and the output of passed and
// skipped cases as system-out.
func (r *Run) JUnit() *JUnitSuites {
	rows := r.Rows()
	root := &JUnitSuites{Name: "ktstr"}
	var first, last time.Time
	for _, p := range r.Packages {
		s := JUnitSuite{Name: p.Path, Time: secs(p.Elapsed)}
		if !p.Started.IsZero() {
			s.Timestamp = p.Started.UTC().Format("2006-01-02T15:04:05")
		}
		for _, row := range rows {
			if row.Package != p.Path {
				continue
			}
			c := JUnitCase{Classname: p.Path, Name: xmlText(row.Name), Time: secs(row.Elapsed)}
			switch row.Status {
			case Failed:
				typ := "failure"
				if row.Name == BuildFailedName {
					typ = "build"
				}
				c.Failure = &JUnitFailure{Message: xmlText(row.Reason), Type: typ, Text: xmlText(row.Output)}
				s.Failures++
			case Skipped:
				c.Skipped = &JUnitSkipped{Message: xmlText(row.Reason)}
				s.Skipped++
			}
			if row.Status != Failed && row.Output != "" {
				c.SystemOut = &JUnitSystemOut{Text: xmlText(row.Output)}
			}
			s.Cases = append(s.Cases, c)
		}
		if len(s.Cases) == 0 {
			continue // no test files, or nothing ran
		}
		s.Tests = len(s.Cases)
		if out := CleanOutput(p.Output()); out != "" {
			s.SystemOut = &JUnitSystemOut{Text: xmlText(out)}
		}
		root.Tests += s.Tests
		root.Failures += s.Failures
		root.Skipped += s.Skipped
		if end := p.Started.Add(p.Elapsed); !p.Started.IsZero() {
			if first.IsZero() || p.Started.Before(first) {
				first = p.Started
			}
			if end.After(last) {
				last = end
			}
		}
		root.Suites = append(root.Suites, s)
	}
	root.Time = secs(last.Sub(first)) // wall time: packages run in parallel
	return root
}

// MarshalJUnit encodes a report as an indented XML document.
func MarshalJUnit(s *JUnitSuites) ([]byte, error) {
	b, err := xml.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}
