package host

import (
	"math"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/work"
)

const ms100 = 100 * time.Millisecond

func TestThroughputSeries(t *testing.T) {
	ws := []work.Report{
		// 1000 units a bucket from 1.0 s to 1.5 s.
		{Cgroup: "a", Progress: work.Progress{Start: 10 * ms100, Every: ms100, Units: []uint64{0, 1000, 2000, 3000, 4000, 5000}, End: 15 * ms100}},
		// Twice the width: 500 units per 200 ms, from 1.0 s to 1.4 s.
		{Cgroup: "a", Progress: work.Progress{Start: 10 * ms100, Every: 2 * ms100, Units: []uint64{0, 500, 1000}, End: 14 * ms100}},
		// Another cgroup that was not run after 1.2 s.
		{Cgroup: "b", Progress: work.Progress{Start: 10 * ms100, Every: ms100, Units: []uint64{0, 300, 600, 600, 600, 600}, End: 15 * ms100}},
		{Cgroup: "c"}, // custom work: no progress
	}
	got := throughputSeries(ws, 9*ms100)
	if len(got) != 2 || got[0].Name != "a" || got[1].Name != "b" {
		t.Fatalf("series %+v", got)
	}
	a, b := got[0], got[1]
	// The grid is the coarser width, 200 ms, from 1.0 s: 1.2, 1.4, 1.5.
	wantAt := []float64{300, 500, 600}
	wantA := []float64{(2000 + 500) / 0.2, (2000 + 500) / 0.2, 1000 / 0.1}
	wantB := []float64{600 / 0.2, 0, 0}
	for i := range wantAt {
		if a.AtMS[i] != wantAt[i] || b.AtMS[i] != wantAt[i] {
			t.Errorf("point %d at %v ms and %v ms, want %v", i, a.AtMS[i], b.AtMS[i], wantAt[i])
		}
		if math.Abs(a.Values[i]-wantA[i]) > 1e-6 || math.Abs(b.Values[i]-wantB[i]) > 1e-6 {
			t.Errorf("point %d: a %v b %v, want %v %v", i, a.Values[i], b.Values[i], wantA[i], wantB[i])
		}
	}
	if len(a.AtMS) != 3 {
		t.Errorf("%d points, want 3", len(a.AtMS))
	}
	if throughputSeries([]work.Report{{Cgroup: "c"}}, 0) != nil {
		t.Error("a series without progress")
	}
}

// A long run is drawn on a coarser grid.
func TestThroughputSeriesCap(t *testing.T) {
	p := work.Progress{Start: 0, Every: ms100}
	for i := range 1001 {
		p.Units = append(p.Units, uint64(i*10))
	}
	p.End = 1000 * ms100
	got := throughputSeries([]work.Report{{Cgroup: "a", Progress: p}}, 0)
	if n := len(got[0].AtMS); n > maxThroughputPoints || n < maxThroughputPoints/2 {
		t.Errorf("%d points, want at most %d and more than half that", n, maxThroughputPoints)
	}
	for _, v := range got[0].Values {
		if math.Abs(v-100) > 1e-6 {
			t.Fatalf("rate %v, want 100/s throughout", v)
		}
	}
}
