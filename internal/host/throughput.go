package host

import (
	"slices"
	"time"

	"github.com/ktstr-go/ktstr/sidecar"
	"github.com/ktstr-go/ktstr/work"
)

// maxThroughputPoints caps the points of a throughput series; longer runs
// are drawn on a coarser grid.
const maxThroughputPoints = 400

// throughputSeries turns the workers' progress into each cgroup's work
// units per second over time, on one grid for all cgroups (the coarsest
// bucket width any worker reported, doubled until the run fits
// maxThroughputPoints). Each point is the rate over the bucket that ends
// there, at the bucket's end, in ms from the body's start (from the
// earliest worker's start when that is unknown). Workers without progress
// (custom work) are left out.
func throughputSeries(ws []work.Report, bodyStart time.Duration) []sidecar.Series {
	var every, from, to time.Duration
	byCgroup := map[string][]work.Progress{}
	var names []string
	for _, w := range ws {
		p := w.Progress
		if len(p.Units) < 2 || p.Every <= 0 {
			continue
		}
		if _, ok := byCgroup[w.Cgroup]; !ok {
			names = append(names, w.Cgroup)
		}
		byCgroup[w.Cgroup] = append(byCgroup[w.Cgroup], p)
		every = max(every, p.Every)
		if from == 0 || p.Start < from {
			from = p.Start
		}
		to = max(to, p.End)
	}
	if every == 0 {
		return nil
	}
	for (to-from)/every > maxThroughputPoints {
		every *= 2
	}
	from = from / every * every
	origin := bodyStart
	if origin == 0 {
		origin = from
	}
	var grid []time.Duration
	for t := from; t < to; t += every {
		grid = append(grid, t)
	}
	grid = append(grid, to)
	slices.Sort(names)
	out := make([]sidecar.Series, 0, len(names))
	for _, name := range names {
		s := sidecar.Series{Name: name}
		prev := 0.0
		for k, t := range grid {
			cum := 0.0
			for _, p := range byCgroup[name] {
				cum += unitsAt(p, t)
			}
			if k > 0 {
				dt := (t - grid[k-1]).Seconds()
				s.AtMS = append(s.AtMS, ms(t-origin))
				s.Values = append(s.Values, (cum-prev)/dt)
			}
			prev = cum
		}
		out = append(out, s)
	}
	return out
}

// unitsAt is a worker's cumulative count at time t, read off its progress
// points (linearly between two): 0 before it started, all of it after it
// stopped.
func unitsAt(p work.Progress, t time.Duration) float64 {
	n := len(p.Units)
	switch {
	case t <= p.Start:
		return 0
	case t >= p.End:
		return float64(p.Units[n-1])
	}
	i := int((t - p.Start) / p.Every)
	if i >= n-1 {
		return float64(p.Units[n-1])
	}
	t0, t1 := p.At(i), p.At(i+1)
	u0, u1 := float64(p.Units[i]), float64(p.Units[i+1])
	if t1 <= t0 {
		return u1
	}
	return u0 + (u1-u0)*float64(t-t0)/float64(t1-t0)
}
