package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/internal/stats"
)

//go:embed compare.html
var compareHTML string

var compareTmpl = template.Must(template.Must(template.New("compare").Funcs(funcs).Parse(headHTML)).Parse(compareHTML))

// maxCompareCharts caps the small charts of a comparison page; the table
// still lists every change.
const maxCompareCharts = 48

type comparePage struct {
	Title, Generated       string
	CSS                    template.CSS
	R                      *stats.Report
	A, B, Slicing, Pairing string
	Charts                 []chartView
	ChartsLeft             int
	Rows                   []compareRow
	NotCompared, NewInB    []string
	Removed                []string
}

type chartView struct {
	SVG                                 template.HTML
	Metric, Key, Delta, Verdict, Symbol string
	Class                               string
}

type compareRow struct {
	ID, Key, A, B string
	Changes       []compareChange
}

type compareChange struct {
	Metric, A, B, Delta, Thresholds, Verdict, Symbol, Class string
}

// verdictLook gives a verdict its symbol and colour class: the symbol
// says it without the colour.
func verdictLook(v stats.Verdict) (symbol, class string) {
	switch v {
	case stats.Regression:
		return "▲", "failed"
	case stats.Improvement:
		return "▼", "passed"
	case stats.Changed:
		return "◆", ""
	}
	return "=", "skipped"
}

// WriteCompare writes the page of comparison rep to w. all lists the
// unchanged metrics too.
func WriteCompare(w io.Writer, rep *stats.Report, title string, all bool, generated time.Time) error {
	if title == "" {
		title = "ktstr comparison"
	}
	pg := comparePage{Title: title, CSS: template.CSS(css), R: rep,
		A: sideText(rep.A), B: sideText(rep.B), Slicing: dims(rep.Slicing), Pairing: dims(rep.Pairing)}
	if !generated.IsZero() {
		pg.Generated = generated.Format(time.RFC1123)
	}
	for i, row := range rep.Rows {
		cr := compareRow{ID: fmt.Sprintf("r%d", i+1), Key: row.Key.String(),
			A: sideCountText(row.A), B: sideCountText(row.B)}
		for _, c := range row.Changes {
			sym, class := verdictLook(c.Verdict)
			if c.Verdict != stats.Unchanged {
				if len(pg.Charts) < maxCompareCharts {
					svg, err := compareChartSVG(c)
					if err != nil {
						return fmt.Errorf("chart of %s: %w", c.Metric, err)
					}
					pg.Charts = append(pg.Charts, chartView{SVG: svg, Metric: c.Metric, Key: row.Key.Test,
						Delta: stats.FormatDelta(c), Verdict: string(c.Verdict), Symbol: sym, Class: class})
				} else {
					pg.ChartsLeft++
				}
			} else if !all {
				continue
			}
			cr.Changes = append(cr.Changes, compareChange{
				Metric: c.Metric, A: stats.FormatValue(c.A, c.Unit), B: stats.FormatValue(c.B, c.Unit), Delta: stats.FormatDelta(c),
				Thresholds: fmt.Sprintf("%s, %.0f %%", stats.FormatValue(c.AbsThreshold, c.Unit), c.RelThreshold*100),
				Verdict:    string(c.Verdict), Symbol: sym, Class: class,
			})
		}
		if len(cr.Changes) > 0 {
			pg.Rows = append(pg.Rows, cr)
		}
	}
	for _, row := range rep.NotCompared {
		pg.NotCompared = append(pg.NotCompared, fmt.Sprintf("%s (A: %s; B: %s)", row.Key, sideCountText(row.A), sideCountText(row.B)))
	}
	for _, k := range rep.NewInB {
		pg.NewInB = append(pg.NewInB, k.String())
	}
	for _, k := range rep.RemovedFromA {
		pg.Removed = append(pg.Removed, k.String())
	}
	return compareTmpl.Execute(w, pg)
}

func compareChartSVG(c stats.Change) (template.HTML, error) {
	col := color.Color(color.RGBA{R: 0x45, G: 0x6f, B: 0xa0, A: 0xff})
	switch c.Verdict {
	case stats.Regression:
		col = color.RGBA{R: 0xb0, G: 0x00, B: 0x20, A: 0xff}
	case stats.Improvement:
		col = color.RGBA{R: 0x1b, G: 0x6e, B: 0x20, A: 0xff}
	}
	return compareChart(c.Metric, c.Unit, "A", "B", c.A, c.B, col)
}

func sideText(s stats.SideInfo) string {
	return fmt.Sprintf("%s: %s", s.Filter, sideCountText(s.Side))
}

func sideCountText(s stats.Side) string {
	t := fmt.Sprintf("%d result files, %d passed", s.Runs, s.Passed)
	if s.Failed > 0 || s.Skipped > 0 {
		t += fmt.Sprintf(" (left out: %d failed, %d skipped)", s.Failed, s.Skipped)
	}
	return t
}

func dims(ds []stats.Dim) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = string(d)
	}
	return strings.Join(s, ", ")
}
