//go:build linux

package guest

import (
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/work"
)

const ms = int64(time.Millisecond)

// TestTrackerGaps checks the gap, CPU and migration bookkeeping with
// injected times.
func TestTrackerGaps(t *testing.T) {
	tr := newTracker(1000*ms, 1)
	tr.checkAt(1001*ms, 2)
	tr.checkAt(1003*ms, 2)
	tr.checkAt(1010*ms, 3) // 7 ms gap, a migration
	tr.checkAt(1011*ms, 2) // a migration back
	var r work.Report
	tr.fill(&r)
	if r.MaxGap != 7*time.Millisecond || r.MaxGapCPU != 3 || r.MaxGapAt != 10*time.Millisecond {
		t.Errorf("max gap %v on %d at %v, want 7ms on 3 at 10ms", r.MaxGap, r.MaxGapCPU, r.MaxGapAt)
	}
	if r.Checkpoints != 4 || r.Migrations != 2 || !slices.Equal(r.CPUs, []int{2, 3}) {
		t.Errorf("checkpoints %d migrations %d CPUs %v, want 4 2 [2 3]", r.Checkpoints, r.Migrations, r.CPUs)
	}
	if r.WakeSamples != 0 || r.WakeLatencies != nil {
		t.Errorf("wake samples %d %v, want none", r.WakeSamples, r.WakeLatencies)
	}
}

// TestTrackerWake checks that a wait is not a gap, only the time from
// being ready to running is: a 100 ms sleep that ends 2 ms late is a 2 ms
// gap and a 2 ms wake-up latency.
func TestTrackerWake(t *testing.T) {
	tr := newTracker(0, 1)
	tr.checkAt(5*ms, 0)                // before sleeping
	tr.wokeAt(107*ms, 105*ms, 0, true) // asked to wake at 105
	tr.checkAt(110*ms, 0)
	if tr.maxGap != 5*ms { // the first interval, 0 to 5
		t.Errorf("max gap %v, want 5ms", time.Duration(tr.maxGap))
	}
	tr.wokeAt(200*ms, 150*ms, 1, true) // ready at 150, ran at 200: a 50 ms gap
	if tr.maxGap != 50*ms || tr.maxGapCPU != 1 || tr.maxGapAt != 200*ms {
		t.Errorf("max gap %v on %d at %v, want 50ms on 1 at 200ms", time.Duration(tr.maxGap), tr.maxGapCPU, time.Duration(tr.maxGapAt))
	}
	// A partner stamp older than the last checkpoint (the turn was
	// already ours): the gap counts from the checkpoint.
	tr.wokeAt(201*ms, 100*ms, 1, true)
	tr.wokeAt(202*ms, 203*ms, 1, false) // a stamp "after" now: latency 0
	var r work.Report
	tr.fill(&r)
	want := []time.Duration{2 * time.Millisecond, 50 * time.Millisecond, 101 * time.Millisecond}
	if r.WakeSamples != 3 || !slices.Equal(r.WakeLatencies, want) {
		t.Errorf("wake latencies %v (%d), want %v", r.WakeLatencies, r.WakeSamples, want)
	}
	if r.MaxGap != 50*time.Millisecond || r.Migrations != 1 {
		t.Errorf("max gap %v migrations %d, want 50ms 1", r.MaxGap, r.Migrations)
	}
}

// TestTrackerFinish checks how the run's end closes the last interval:
// as a gap from the last checkpoint when the worker wanted to run, from the
// stop (or its sleep's end, if earlier) when it was waiting.
func TestTrackerFinish(t *testing.T) {
	for _, tt := range []struct {
		name            string
		wait            bool  // the last checkpoint began a wait
		waitEnd, stopAt int64 // the wait's own end, the stop signal
		want            int64 // MaxGap, all other intervals being 10 ms
	}{
		{"running: kept off the CPU until the end", false, 0, 900 * ms, 800 * ms},
		{"running, the loop ended by itself", false, 0, 0, 800 * ms},
		{"futex wait the stop ended", true, 0, 900 * ms, 100 * ms},
		{"sleep that ended before the stop", true, 300 * ms, 900 * ms, 700 * ms},
		{"sleep the stop cut short", true, 2000 * ms, 950 * ms, 50 * ms},
		{"wait given up, no stop", true, 0, 0, 10 * ms},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(190*ms, 1)
			tr.checkAt(200*ms, 0)
			if tt.wait {
				tr.waitAt(200*ms, 0, tt.waitEnd)
			}
			tr.finishAt(1000*ms, tt.stopAt, 1)
			if tr.maxGap != tt.want {
				t.Errorf("max gap %v, want %v", time.Duration(tr.maxGap), time.Duration(tt.want))
			}
			if tt.want > 10*ms && (tr.maxGapCPU != 1 || tr.maxGapAt != 810*ms) {
				t.Errorf("gap on CPU %d at %v, want CPU 1 at 810ms", tr.maxGapCPU, time.Duration(tr.maxGapAt))
			}
		})
	}
	// A wait a wake-up ended is over: the end is an ordinary interval.
	tr := newTracker(0, 1)
	tr.waitAt(10*ms, 0, 0)
	tr.wokeAt(20*ms, 15*ms, 0, false)
	tr.finishAt(500*ms, 30*ms, 0)
	if tr.maxGap != 480*ms {
		t.Errorf("after a finished wait: max gap %v, want 480ms", time.Duration(tr.maxGap))
	}
}

// TestTrackerProgress checks the progress series: the count at each
// bucket boundary, repeated over boundaries without a checkpoint, and the
// final count at the stop.
func TestTrackerProgress(t *testing.T) {
	tr := newTracker(1234*ms, 1)
	var units uint64
	tr.units = &units
	step := func(at int64, n uint64) {
		units = n
		tr.checkAt(at*ms, 0)
	}
	step(1250, 5)  // no boundary
	step(1300, 10) // on the boundary
	step(1350, 12)
	step(1420, 20)
	step(1930, 25) // 1500 to 1900 without a checkpoint: flat
	units = 30
	tr.finishAt(1960*ms, 0, 0)
	var r work.Report
	tr.fill(&r)
	p := r.Progress
	want := []uint64{0, 10, 20, 25, 25, 25, 25, 25, 30}
	if p.Start != 1200*time.Millisecond || p.Every != 100*time.Millisecond || p.End != 1960*time.Millisecond || !slices.Equal(p.Units, want) {
		t.Errorf("progress %+v, want start 1.2s every 100ms end 1.96s units %v", p, want)
	}
	for i, want := range []time.Duration{1200, 1300, 1400, 1500} {
		if got := p.At(i); got != want*time.Millisecond {
			t.Errorf("point %d at %v, want %vms", i, got, want)
		}
	}
	if got := p.At(len(p.Units) - 1); got != p.End {
		t.Errorf("last point at %v, want End %v", got, p.End)
	}
	if p.Units[len(p.Units)-1] != units {
		t.Errorf("last point %d, want the final count %d", p.Units[len(p.Units)-1], units)
	}

	// Another worker starting later in the same bucket shares the
	// boundaries; one stopping on a boundary has no extra point.
	tr = newTracker(1299*ms, 1)
	tr.units = &units
	units = 0
	step(1301, 4)
	units = 9
	tr.finishAt(1500*ms, 0, 0)
	tr.fill(&r)
	p = r.Progress
	if want := []uint64{0, 4, 9, 9}; p.Start != 1200*time.Millisecond || p.End != 1500*time.Millisecond || !slices.Equal(p.Units, want) {
		t.Errorf("progress %+v, want start 1.2s end 1.5s units %v", p, want)
	}
	if got := p.At(len(p.Units) - 1); got != p.Start+time.Duration(len(p.Units)-1)*p.Every {
		t.Errorf("stop on a boundary: last point at %v, not on the boundary", got)
	}

	// A tracker without a count (custom work) counts 0, and begin starts
	// the series over.
	tr = newTracker(50*ms, 1)
	tr.checkAt(250*ms, 0)
	tr.begin(350 * ms)
	tr.finishAt(370*ms, 0, 0)
	tr.fill(&r)
	if p := r.Progress; p.Start != 300*time.Millisecond || !slices.Equal(p.Units, []uint64{0, 0}) || p.End != 370*time.Millisecond {
		t.Errorf("after begin: progress %+v, want start 300ms units [0 0] end 370ms", p)
	}
}

// TestTrackerProgressCap checks that a long run doubles the bucket width
// and keeps the points at the new boundaries, the series never longer than
// its capacity, whether the first boundary is on the coarser grid or not.
func TestTrackerProgressCap(t *testing.T) {
	for _, first := range []int64{0, 1, 7} { // the start's boundary, in 100 ms
		t.Run("first boundary "+time.Duration(first*100*ms).String(), func(t *testing.T) {
			const every = 100 * ms
			tr := newTracker(first*every+every/3, 1)
			var units uint64
			tr.units = &units
			// One unit per bucket: the count at boundary k is k-first.
			count := func(at time.Duration) uint64 { return uint64(max(int64(at)/every-first, 0)) }
			widths := map[time.Duration]bool{}
			for k := first + 1; k <= first+5000; k++ {
				units = uint64(k - first)
				tr.checkAt(k*every+every/2, 0) // between boundaries k and k+1
				if len(tr.progress) > progressCap || cap(tr.progress) != progressCap {
					t.Fatalf("at %d: %d points, capacity %d", k, len(tr.progress), cap(tr.progress))
				}
				widths[time.Duration(tr.every)] = true
			}
			units++
			tr.finishAt((first+5001)*every, 0, 0) // on a boundary of 100 ms
			var r work.Report
			tr.fill(&r)
			p := r.Progress
			// 5000 buckets: 100 ms doubled 4 times (1.6 s, at most 512
			// points is 819 s; 500 s need 313 of them).
			if p.Every != 1600*time.Millisecond || len(widths) != 5 {
				t.Errorf("every %v after widths %v, want 1.6s after 5 widths", p.Every, widths)
			}
			if p.Start%p.Every != 0 || p.Start > time.Duration(first*every) || p.Units[0] != 0 {
				t.Errorf("start %v (first point %d): not the multiple of %v at or before the start, or not 0", p.Start, p.Units[0], p.Every)
			}
			last := len(p.Units) - 1
			for i, u := range p.Units[:last] {
				// Each value read half a bucket after its boundary
				// includes that bucket's unit.
				at := p.At(i)
				if want := count(at + time.Duration(every/2)); u != want {
					t.Errorf("point %d at %v: %d, want %d", i, at, u, want)
				}
			}
			if p.Units[last] != units || p.End != time.Duration((first+5001)*every) || p.End <= p.At(last-1) || p.End > p.At(last-1)+p.Every {
				t.Errorf("last point %d at %v after %v, want %d at %v", p.Units[last], p.End, p.At(last-1), units, time.Duration((first+5001)*every))
			}
		})
	}
	// A full series at the stop: the final point still fits.
	tr := newTracker(0, 1)
	var units uint64
	tr.units = &units
	for k := int64(1); len(tr.progress) < progressCap; k++ {
		units = uint64(k)
		tr.checkAt(k*100*ms, 0)
	}
	units++
	tr.finishAt(51199*ms, 0, 0) // 512 points, from 0 to 51.1 s
	var r work.Report
	tr.fill(&r)
	p := r.Progress
	if n := len(p.Units); n != progressCap/2+1 || p.Every != 200*time.Millisecond || p.Units[n-1] != units || p.End != 51199*time.Millisecond {
		t.Fatalf("full at the stop: %d points every %v, the last %d at %v; want %d every 200ms, the last %d at 51.199s",
			n, p.Every, p.Units[n-1], p.End, progressCap/2+1, units)
	}
	for i, u := range p.Units[:progressCap/2] {
		if u != uint64(2*i) {
			t.Errorf("point %d: %d, want %d", i, u, 2*i)
		}
	}
}

// TestReservoir checks that the reservoir keeps a uniform sample: the
// sample's mean and its spread over ten equal bins match the stream's.
func TestReservoir(t *testing.T) {
	const n, k = 1_000_000, 10_000
	var r reservoir
	r.init(k, 42)
	for i := range n {
		r.add(int64(i))
	}
	if r.total != n || len(r.buf) != k {
		t.Fatalf("total %d kept %d, want %d %d", r.total, len(r.buf), n, k)
	}
	var sum float64
	var bins [10]int
	for _, v := range r.buf {
		sum += float64(v)
		bins[v*10/n]++
	}
	// Mean of a uniform sample of k from 0..n-1: n/2, standard error
	// n/sqrt(12k), about 2900; allow 5 of them.
	if mean := sum / k; math.Abs(mean-n/2) > 5*n/math.Sqrt(12*k) {
		t.Errorf("sample mean %.0f, want about %d", mean, n/2)
	}
	// Chi-square over 10 bins, 9 degrees of freedom: 27.9 is p = 0.001.
	var chi float64
	for _, b := range bins {
		d := float64(b) - k/10
		chi += d * d / (k / 10)
	}
	if chi > 27.9 {
		t.Errorf("bins %v: chi-square %.1f, not uniform", bins, chi)
	}
	// Fewer values than the capacity: all kept, in order.
	var small reservoir
	small.init(10, 1)
	for i := range 5 {
		small.add(int64(i))
	}
	if !slices.Equal(small.buf, []int64{0, 1, 2, 3, 4}) {
		t.Errorf("small reservoir %v", small.buf)
	}
}

// TestHotPathsDoNotAllocate checks that what the loops call per unit does
// not allocate (the workers run with the garbage collector off).
func TestHotPathsDoNotAllocate(t *testing.T) {
	w := &worker{t: newTracker(nanotime(), 1), rng: 1, every: 4, left: 4}
	// The Go runtime's preemption signal can cut a sleep short (EINTR), and
	// sleepUntil then reads the stop flag, as it does in a real worker.
	w.stop = &w.own
	w.waitTS.Nsec = 1
	var word uint32 = 1
	for name, f := range map[string]func(){
		"spin":       func() { w.spin(100) },
		"tick":       w.tick,
		"checkpoint": w.t.checkpoint,
		"woke":       func() { w.t.woke(nanotime()-1000, true) },
		"yield":      w.yieldSampled,
		"sleep":      func() { w.sleep(time.Microsecond, true) },
		"futex":      func() { futexWait(&word, 0, &w.waitTS); futexWake(&word, 1) },
		"randn":      func() { w.randn(7) },
	} {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %.1f allocations per call", name, a)
		}
	}
}

// TestProgressDoesNotAllocate checks that the progress series, crossing
// boundaries and doubling its width, does not allocate.
func TestProgressDoesNotAllocate(t *testing.T) {
	tr := newTracker(0, 1)
	var units uint64
	tr.units = &units
	now := int64(0)
	a := testing.AllocsPerRun(1000, func() {
		now += 350 * ms // several boundaries a call: 350 s in all, the width doubles
		units += 7
		tr.checkAt(now, 0)
	})
	if a != 0 {
		t.Errorf("%.1f allocations per checkpoint", a)
	}
	if tr.every == progressEvery {
		t.Error("the width never doubled")
	}
}

func TestParseSchedstat(t *testing.T) {
	s, err := parseSchedstat([]byte("906670 579196 21\n"))
	if err != nil || s != (schedstat{cpu: 906670, runDelay: 579196, timeslices: 21}) {
		t.Errorf("got %+v, %v", s, err)
	}
	for _, bad := range []string{"", "1 2", "1 x 3"} {
		if _, err := parseSchedstat([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if _, ok := readSchedstat(); !ok {
		t.Log("no /proc/thread-self/schedstat here (CONFIG_SCHEDSTATS off?)")
	}
}

func TestParseNUMAMaps(t *testing.T) {
	const text = `556530463000 default file=/usr/bin/head mapped=2 N0=2 kernelpagesize_kB=4
55653046e000 default file=/usr/bin/head anon=1 dirty=1 active=0 N0=1 kernelpagesize_kB=4
5565305d0000 default heap anon=33 dirty=33 N0=20 N1=13 kernelpagesize_kB=4
7f0000000000 bind:1 anon=1024 dirty=1024 N1=1024 kernelpagesize_kB=4
7f1000000000 default anon=2 dirty=2 N0=1 N1=1 kernelpagesize_kB=2048
7f2000000000 interleave:0-1 file=/memfd:ktstr-work-group\040(deleted) dirty=1 N0=1 kernelpagesize_kB=4
7ffd5e1b6000 default stack anon=9 dirty=9 N0=9 kernelpagesize_kB=4
7ffd5e1f9000 default
`
	got := parseNUMAMaps(text, 4)
	want := map[int]uint64{0: 20 + 512 + 9, 1: 13 + 1024 + 512}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if p := readNUMAPages(); len(p) == 0 {
		t.Log("no /proc/self/numa_maps here (CONFIG_NUMA off?)")
	}
}

func TestResolveAffinity(t *testing.T) {
	all := []int{0, 1, 2, 3, 4, 5, 6, 7}
	llcs := [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}}
	cg := []int{2, 3, 4, 5}
	check := func(a work.Affinity, n int, cgroup []int, want [][]int) {
		t.Helper()
		got, err := ResolveAffinity(a, n, cgroup, all, llcs, 7)
		if err != nil {
			t.Fatalf("%v: %v", a, err)
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%v with cgroup %v: %v, want %v", a, cgroup, got, want)
		}
	}
	check(work.Inherit, 2, cg, nil)
	check(work.LLCAligned, 3, cg, [][]int{{2, 3}, {4, 5}, {2, 3}})
	check(work.LLCAligned, 2, nil, llcs)
	check(work.SingleCPU, 5, cg, [][]int{{2}, {3}, {4}, {5}, {2}})
	check(work.AllCPUs, 1, cg, [][]int{all})
	check(work.Exact(6, 7), 2, cg, [][]int{{6, 7}, {6, 7}})

	got, err := ResolveAffinity(work.RandomSubset, 50, cg, all, llcs, 7)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, s := range got {
		if len(s) != 2 || !slices.IsSorted(s) {
			t.Errorf("random subset %v: want 2 sorted CPUs", s)
		}
		for _, c := range s {
			if !slices.Contains(cg, c) {
				t.Errorf("random subset %v outside the cgroup's %v", s, cg)
			}
			seen[c] = true
		}
	}
	if len(seen) != len(cg) {
		t.Errorf("50 random subsets used CPUs %v of %v", seen, cg)
	}
	again, _ := ResolveAffinity(work.RandomSubset, 50, cg, all, llcs, 7)
	if !slices.EqualFunc(got, again, slices.Equal) {
		t.Error("same seed, different subsets")
	}
	if _, err := ResolveAffinity(work.SingleCPU, 1, nil, nil, nil, 0); err == nil {
		t.Error("no CPUs at all: no error")
	}
	if _, err := ResolveAffinity(work.Affinity{Mode: "sideways"}, 1, nil, all, nil, 0); err == nil {
		t.Error("unknown mode: no error")
	}
}

// TestTopGaps: the tracker keeps the longest gaps, with when they ended and
// on which CPU, longest first.
func TestTopGaps(t *testing.T) {
	const ms = int64(time.Millisecond)
	tr := newTracker(0, 1)
	now := int64(0)
	// Gaps of 1..20 ms in a scrambled order; gap k ends on CPU k%4.
	for _, k := range []int64{7, 3, 19, 1, 12, 20, 5, 14, 2, 18, 9, 16, 4, 11, 6, 17, 8, 13, 10, 15} {
		now += k * ms
		tr.checkAt(now, int(k%4))
	}
	var r work.Report
	tr.fill(&r)
	if len(r.Gaps) != work.MaxGaps {
		t.Fatalf("%d gaps kept, want %d", len(r.Gaps), work.MaxGaps)
	}
	for i, g := range r.Gaps {
		want := time.Duration(20-i) * time.Millisecond
		if g.Len != want || g.CPU != int(int64(20-i)%4) {
			t.Errorf("gap %d = %+v, want %v on CPU %d", i, g, want, (20-i)%4)
		}
		if g.At <= 0 || g.At > time.Duration(now) {
			t.Errorf("gap %d ends at %v, outside the run", i, g.At)
		}
	}
	if r.Gaps[0].Len != r.MaxGap || r.Gaps[0].At != r.MaxGapAt {
		t.Errorf("first gap %+v differs from MaxGap %v at %v", r.Gaps[0], r.MaxGap, r.MaxGapAt)
	}
}
