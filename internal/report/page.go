package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/internal/cachedir"
)

//go:embed style.css
var css string

//go:embed run.html
var runHTML string

// headHTML is the pages' shared head: the document type, language,
// viewport, title and the style sheet.
//
//go:embed head.html
var headHTML string

var funcs = template.FuncMap{
	"join": func(s []string) string {
		if len(s) == 0 {
			return "unknown"
		}
		return strings.Join(s, "; ")
	},
	"first": func(s []string) string {
		if len(s) == 0 {
			return ""
		}
		return s[0]
	},
	"pct": func(v float64) template.CSS { return template.CSS(fmt.Sprintf("%.2f%%", v)) },
	"sec": func(ms float64) float64 { return ms / 1000 },
}

var runTmpl = template.Must(template.Must(template.New("run").Funcs(funcs).Parse(headHTML)).Parse(runHTML))

// runPage is what run.html reads.
type runPage struct {
	Title, Generated, Span string
	CSS                    template.CSS
	Total                  int
	Passed, Failed         int
	SkippedN               int
	F                      facts
	Failures, Variants     []variantView
	Skipped                []Skipped
}

// WriteRun writes the page of run r to w. It returns ErrNoResults when r
// holds no results.
func WriteRun(w io.Writer, r *Run) error {
	if len(r.Results) == 0 {
		return ErrNoResults
	}
	pg := runPage{Title: r.Title, CSS: template.CSS(css), Total: len(r.Results) + len(r.Skipped), F: r.facts(), Skipped: r.Skipped}
	if pg.Title == "" {
		pg.Title = "ktstr run"
	}
	if !r.Generated.IsZero() {
		pg.Generated = r.Generated.Format(time.RFC1123)
	}
	if !pg.F.From.IsZero() {
		pg.Span = pg.F.From.Format("2006-01-02 15:04:05")
		if pg.F.To.Sub(pg.F.From) >= time.Second {
			pg.Span += " to " + pg.F.To.Format("2006-01-02 15:04:05")
		}
	}
	pg.Passed, pg.Failed, pg.SkippedN = r.Counts()
	ordered := r.ordered()
	for i := range ordered {
		v := newVariantView(i, &ordered[i])
		pg.Variants = append(pg.Variants, v)
		if v.Status == "failed" {
			pg.Failures = append(pg.Failures, v)
		}
	}
	return runTmpl.Execute(w, pg)
}

// WriteFile renders a page with write and saves it at path. The page is
// built in full first, so on any error nothing is written and whatever
// was at path stays.
func WriteFile(path string, write func(io.Writer) error) error {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return err
	}
	err := cachedir.WriteFile(path, 0o644, func(w io.Writer) error { _, err := w.Write(b.Bytes()); return err })
	if err != nil {
		return fmt.Errorf("cannot write the report: %w", err)
	}
	return nil
}
