package report

import (
	"bytes"
	"fmt"
	"html/template"
	"regexp"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// svgHead matches what vgsvg writes before the drawing: the XML prelude
// and the root element, whose fixed size and namespaces an inline SVG in
// HTML does without.
var svgHead = regexp.MustCompile(`(?s)^.*?<svg width="[^"]*" height="[^"]*" (viewBox="[^"]*").*?>`)

// render draws p as an inline SVG element of w × h points that scales to
// its container, labelled by label for screen readers.
func render(p *plot.Plot, w, h vg.Length, label string) (template.HTML, error) {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("drawing a chart: %w", err)
	}
	m := svgHead.FindSubmatchIndex(b.Bytes())
	if m == nil {
		return "", fmt.Errorf("drawing a chart: unexpected SVG from gonum/plot")
	}
	head := fmt.Sprintf(`<svg class="chart" %s role="img" aria-label="%s">`,
		b.Bytes()[m[2]:m[3]], template.HTMLEscapeString(label))
	// vgsvg leaves an image's aspect ratio to the browser's default,
	// which shrinks a heat strip of 300 × 4 cells to a line.
	body := strings.ReplaceAll(b.String()[m[1]:], "<image ", `<image preserveAspectRatio="none" `)
	return template.HTML(head + body), nil
}

// newPlot returns a plot with the page's look: no title (the page's
// heading names the chart), fonts that stay legible when scaled down.
func newPlot(xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	// Liberation Sans, which the page's font list names too: a browser
	// that has it draws charts and text alike.
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Variant, a.Label.TextStyle.Font.Size = "Sans", vg.Points(11)
		a.Tick.Label.Font.Variant, a.Tick.Label.Font.Size = "Sans", vg.Points(10)
	}
	p.Legend.TextStyle.Font.Variant, p.Legend.TextStyle.Font.Size = "Sans", vg.Points(10)
	return p
}
