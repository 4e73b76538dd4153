package report

import (
	"fmt"
	"html/template"
	"image"
	"image/color"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/ktstr-go/ktstr/sidecar"
)

// Chart sizes, in points; the page scales them to its width.
const (
	chartW       = 7.5 * vg.Inch
	throughputH  = 2.8 * vg.Inch
	stripRowH    = 0.3 * vg.Inch
	stripMarginH = 0.9 * vg.Inch
)

// markColor draws the moment a limit was first exceeded.
var markColor = color.RGBA{R: 0xc0, A: 0xff}

// throughputChart draws each cgroup's work units per second over time,
// one line per cgroup told apart by colour and dash pattern, with the
// steps' starts as grey lines.
func throughputChart(v *sidecar.Result) (template.HTML, error) {
	p := newPlot("seconds from the test body's start", "work units / s")
	ymax := 0.0
	for i, s := range v.Throughput {
		xys := make(plotter.XYs, len(s.AtMS))
		for k := range s.AtMS {
			xys[k] = plotter.XY{X: s.AtMS[k] / 1000, Y: s.Values[k]}
			ymax = max(ymax, s.Values[k])
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return "", fmt.Errorf("throughput of %s: %w", s.Name, err)
		}
		l.Color, l.Dashes, l.Width = plotutil.Color(i), plotutil.Dashes(i), vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	for _, st := range v.Steps {
		x := st.Start.Seconds()
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: ymax}})
		if err != nil {
			return "", err
		}
		l.Color, l.Dashes = color.Gray{Y: 0xa0}, []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(l)
	}
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	return render(p, chartW, throughputH, "work units per second of each cgroup over time")
}

// heatStrip draws one row per CPU of values over time (at in ms from the
// body's start), lighter for less, with the failures' first moments as
// red lines. unit names what the values count.
func heatStrip(at []float64, rows [][]uint32, unit string, marks []sidecar.MonitorFinding) (template.HTML, uint32, error) {
	if len(at) == 0 || len(rows) == 0 {
		return "", 0, fmt.Errorf("no samples")
	}
	peak := uint32(1)
	for _, r := range rows {
		if len(r) != len(at) {
			return "", 0, fmt.Errorf("a CPU has %d samples of %d", len(r), len(at))
		}
		peak = max(peak, slices.Max(r))
	}
	cm := moreland.BlackBody()
	cm.SetMin(0)
	cm.SetMax(float64(peak))
	img := image.NewRGBA(image.Rect(0, 0, len(at), len(rows)))
	for cpu, r := range rows {
		for k, n := range r {
			c, err := cm.At(float64(peak - min(n, peak))) // 0 is white
			if err != nil {
				return "", 0, err
			}
			img.Set(k, cpu, c)
		}
	}
	step := 0.1
	if len(at) > 1 {
		step = (at[len(at)-1] - at[0]) / float64(len(at)-1) / 1000
	}
	x0, x1 := at[0]/1000-step/2, at[len(at)-1]/1000+step/2
	n := float64(len(rows))
	p := newPlot("seconds from the test body's start", "")
	p.Add(plotter.NewImage(img, x0, -n+0.5, x1, 0.5))
	ticks := make([]plot.Tick, len(rows))
	for cpu := range rows {
		ticks[cpu] = plot.Tick{Value: -float64(cpu), Label: fmt.Sprintf("cpu%d", cpu)}
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Min, p.Y.Max = -n+0.5, 0.5
	p.X.Min, p.X.Max = x0, x1
	for _, f := range marks {
		x := f.AtMS / 1000
		if x < x0 || x > x1 {
			continue
		}
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: -n + 0.5}, {X: x, Y: 0.5}})
		if err != nil {
			return "", 0, err
		}
		l.Color, l.Width = markColor, vg.Points(2)
		p.Add(l)
	}
	h := stripMarginH + stripRowH*vg.Length(len(rows))
	svg, err := render(p, chartW, h, fmt.Sprintf("%s per CPU over time, darker for more, up to %d", unit, peak))
	return svg, peak, err
}

// compareChart draws a metric's A and B values side by side: A grey, B in
// the verdict's colour (the caption says the verdict in words).
func compareChart(metric, unit, a, b string, va, vb float64, bColor color.Color) (template.HTML, error) {
	p := newPlot("", unit)
	for i, v := range []float64{va, vb} {
		bars, err := plotter.NewBarChart(plotter.Values{v}, vg.Points(40))
		if err != nil {
			return "", err
		}
		bars.XMin = float64(i)
		bars.Color = color.Gray{Y: 0xa0}
		if i == 1 {
			bars.Color = bColor
		}
		bars.LineStyle.Width = vg.Points(0.5)
		p.Add(bars)
	}
	p.NominalX(a, b)
	p.Y.Min = 0
	return render(p, 2.6*vg.Inch, 1.8*vg.Inch, fmt.Sprintf("%s: %s %g against %s %g", metric, a, va, b, vb))
}
