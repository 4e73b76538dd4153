//go:build linux

package guest

import (
	"bytes"
	"cmp"
	"fmt"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/work"
)

// This file is the worker's telemetry: the checkpoint routine every work
// loop calls (CPU, migrations, longest gap), the wake-up latency reservoir,
// and the readers of /proc/thread-self/schedstat, /proc/self/numa_maps and
// getrusage. Nothing here allocates on the paths the loops call.

// nanotime returns CLOCK_MONOTONIC in nanoseconds, read through the vDSO
// without allocating. The clock is system-wide, so stamps written by one
// worker into shared memory (or sent over a pipe) compare with another
// worker's reading. (runtime.nanotime is one of the runtime functions the
// Go team keeps reachable by linkname because widely used packages do.)
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// Monotonic returns the guest's CLOCK_MONOTONIC: the clock of the workers'
// reports (work.Report.Start, work.Progress) and of wire.Result.BodyStart.
func Monotonic() time.Duration { return time.Duration(nanotime()) }

// maxTrackedCPUs bounds the CPU ids recorded (the kernel's largest NR_CPUS).
const maxTrackedCPUs = 8192

// progressEvery is the initial width of the progress series' buckets, and
// progressCap the most points a series holds: 512 points of 100 ms cover
// 51.2 s; a longer run doubles the width as often as it needs.
const (
	progressEvery = int64(100 * time.Millisecond)
	progressCap   = 512
)

// wakeReservoirCap is how many wake-up latencies a worker keeps: a uniform
// sample of all it saw (WakeSamples counts those). 10000 keep the p99 well
// estimated and the report under about 100 KB.
const wakeReservoirCap = 10000

// tracker is the state of the shared checkpoint routine.
//
// A checkpoint samples the time and the CPU. Between two checkpoints the
// worker either ran or wanted to run, so the interval between them is a
// gap; the longest is MaxGap, a worker the scheduler did not run for a
// while shows there. Voluntary waits are not gaps: after a sleep or a wait
// for a partner the worker calls woke with the time it became ready to run
// again (the sleep's end, the partner's stamp), and the gap is counted from
// then. So MaxGap is the longest time the worker wanted the CPU and did not
// get it (or did not reach a checkpoint), sleeps included only by their
// overshoot. The run's end closes the last interval the same way (finish):
// a worker kept off the CPU from its last checkpoint until the stop shows
// that gap, unless it was waiting of its own accord.
//
// The tracker also keeps the worker's progress over time (work.Progress):
// the count units points to, read at the first checkpoint at or after each
// bucket boundary. Boundaries are multiples of every on CLOCK_MONOTONIC,
// so the series of all workers line up. The hot path compares the time
// with next, the next boundary, and does nothing more until it is reached.
type tracker struct {
	start       int64 // nanotime when the work started
	last        int64 // nanotime of the last checkpoint (or wake-up)
	lastCPU     int   // CPU at the last checkpoint, -1 before the first
	checkpoints uint64
	migrations  uint64
	maxGap      int64
	maxGapCPU   int
	maxGapAt    int64 // since start
	gaps        topGaps
	waiting     bool  // in a voluntary wait since the last checkpoint
	waitEnd     int64 // when that wait ends by itself (a sleep's end), 0 if only a partner or the stop ends it
	cpus        [maxTrackedCPUs / 64]uint64
	wake        reservoir

	units     *uint64  // the worker's work unit count, nil for none (counts as 0)
	next      int64    // the next bucket boundary
	every     int64    // the bucket width, progressEvery times a power of two
	progStart int64    // the boundary of progress[0]
	progress  []uint64 // the count at each boundary from progStart, cap progressCap
	lastAt    int64    // the time of the last point: its boundary, or the run's end after finish

	cpuBuf, nodeBuf uint32 // getcpu's results; fields, so nothing escapes
}

// newTracker returns a tracker whose work starts at start (see begin). Its
// progress series counts nothing until units is set.
func newTracker(start int64, seed uint64) *tracker {
	t := &tracker{lastCPU: -1, maxGapCPU: -1, progress: make([]uint64, 0, progressCap)}
	t.wake.init(wakeReservoirCap, seed)
	t.begin(start)
	return t
}

// begin (re)starts the run at start, a CLOCK_MONOTONIC time: the first
// interval and the progress series start there. The series' first point is
// the boundary at or before start, with the count at start (the work had
// not begun at that boundary).
func (t *tracker) begin(start int64) {
	t.start, t.last = start, start
	t.every = progressEvery
	t.progStart = start - start%t.every
	t.progress = append(t.progress[:0], t.count())
	t.next = t.progStart + t.every
	t.lastAt = t.progStart
}

// count returns the worker's unit count.
func (t *tracker) count() uint64 {
	if t.units == nil {
		return 0
	}
	return *t.units
}

// checkAt records a checkpoint at time now on cpu (the pure part of
// checkpoint, for tests).
func (t *tracker) checkAt(now int64, cpu int) {
	if now >= t.next {
		t.progressAt(now)
	}
	t.checkpoints++
	t.waiting = false
	gap := now - t.last
	if gap > t.maxGap {
		t.maxGap, t.maxGapCPU, t.maxGapAt = gap, cpu, now-t.start
	}
	if gap > t.gaps.min {
		t.gaps.add(gap, now-t.start, cpu)
	}
	if now > t.last {
		t.last = now
	}
	if cpu >= 0 && cpu < maxTrackedCPUs {
		t.cpus[cpu>>6] |= 1 << (cpu & 63)
		if t.lastCPU >= 0 && cpu != t.lastCPU {
			t.migrations++
		}
		t.lastCPU = cpu
	}
}

// progressAt appends the count, read now, for every boundary up to now
// not yet in the series: a worker that did not reach a checkpoint for
// several buckets shows flat progress over them. It halves the series (see
// coarsen) when it is full.
func (t *tracker) progressAt(now int64) {
	u := t.count()
	for now >= t.next {
		if len(t.progress) == cap(t.progress) {
			t.coarsen()
			continue // the next boundary may have moved
		}
		t.progress = append(t.progress, u)
		t.lastAt = t.next
		t.next += t.every
	}
}

// coarsen doubles the bucket width and keeps the points at multiples of
// the new width, at most one more than half the series. When the first
// point's boundary is not one, the series starts one old width earlier
// instead, at a boundary that is, with the first point's value: the work
// had not begun at either.
func (t *tracker) coarsen() {
	p, n, i := t.progress, 0, 0
	if t.progStart/t.every%2 != 0 {
		t.progStart -= t.every
		n, i = 1, 1 // p[0] stays, now at the earlier boundary
	}
	for ; i < len(p); i += 2 {
		p[n] = p[i]
		n++
	}
	t.progress = p[:n]
	t.every *= 2
	t.next = t.progStart + int64(n)*t.every
	t.lastAt = t.next - t.every
}

// endProgress takes the series' last point: the count at now, the run's
// end, unless now is the last point's boundary (the point is there).
func (t *tracker) endProgress(now int64) {
	t.progressAt(now)
	if now > t.lastAt {
		if len(t.progress) == cap(t.progress) {
			t.coarsen()
		}
		t.progress = append(t.progress, t.count())
		t.lastAt = now
	}
}

// wokeAt records that the worker resumed at now after a wait that ended at
// ready (when it became runnable again): a wake-up latency of now-ready
// when sample is set, and a checkpoint whose gap counts from ready.
func (t *tracker) wokeAt(now, ready int64, cpu int, sample bool) {
	ready = min(ready, now)
	if sample {
		t.wake.add(now - ready)
	}
	if ready > t.last {
		t.last = ready
	}
	t.checkAt(now, cpu)
}

// finishAt closes the run at now on cpu; the stop was signalled at stopAt
// (0 if the loop ended for another reason). The time since the last
// checkpoint is a gap like any other, except when the worker was in a
// voluntary wait: it then became ready to run only when the stop came, or
// when its sleep ended if that was earlier. The count at now is the
// progress series' last point (endProgress).
func (t *tracker) finishAt(now, stopAt int64, cpu int) {
	t.closeAt(now, stopAt, cpu)
	t.endProgress(now)
}

// closeAt is finishAt's gap bookkeeping.
func (t *tracker) closeAt(now, stopAt int64, cpu int) {
	if !t.waiting {
		t.checkAt(now, cpu)
		return
	}
	ready := stopAt
	if t.waitEnd > 0 && (ready == 0 || t.waitEnd < ready) {
		ready = t.waitEnd
	}
	if ready == 0 {
		return // the loop gave up in a wait (an error): no end to measure from
	}
	t.wokeAt(now, ready, cpu, false)
}

// checkpoint records a checkpoint now.
func (t *tracker) checkpoint() { t.checkAt(nanotime(), t.getcpu()) }

// wait records a checkpoint before a voluntary wait that, left alone, ends
// at end (0 if only a partner or the stop ends it). The woke after the wait
// closes it.
func (t *tracker) wait(end int64) { t.waitAt(nanotime(), t.getcpu(), end) }

// waitAt is the pure part of wait, for tests.
func (t *tracker) waitAt(now int64, cpu int, end int64) {
	t.checkAt(now, cpu)
	t.waiting, t.waitEnd = true, end
}

// finish closes the run now; see finishAt.
func (t *tracker) finish(stopAt int64) { t.finishAt(nanotime(), stopAt, t.getcpu()) }

// woke records a wake-up now, the wait having ended at ready.
func (t *tracker) woke(ready int64, sample bool) { t.wokeAt(nanotime(), ready, t.getcpu(), sample) }

// getcpu returns the CPU the calling thread runs on, or -1.
func (t *tracker) getcpu() int {
	_, _, e := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&t.cpuBuf)), uintptr(unsafe.Pointer(&t.nodeBuf)), 0)
	if e != 0 {
		return -1
	}
	return int(t.cpuBuf)
}

// fill copies what the tracker saw into r.
func (t *tracker) fill(r *work.Report) {
	r.CPUs = nil
	for i, word := range t.cpus {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			r.CPUs = append(r.CPUs, i*64+b)
			word &^= 1 << b
		}
	}
	r.Checkpoints = t.checkpoints
	r.Migrations = t.migrations
	r.MaxGap = time.Duration(t.maxGap)
	r.MaxGapCPU = t.maxGapCPU
	r.MaxGapAt = time.Duration(t.maxGapAt)
	r.Start = time.Duration(t.start)
	r.Gaps = t.gaps.sorted()
	r.Progress = work.Progress{
		Start: time.Duration(t.progStart),
		Every: time.Duration(t.every),
		Units: slices.Clone(t.progress),
		End:   time.Duration(t.lastAt),
	}
	r.WakeSamples = t.wake.total
	if len(t.wake.buf) > 0 {
		r.WakeLatencies = make([]time.Duration, len(t.wake.buf))
		for i, v := range t.wake.buf {
			r.WakeLatencies[i] = time.Duration(v)
		}
	}
}

// topGaps keeps the work.MaxGaps longest gaps seen, in no order, without
// allocating. min is the shortest kept once full (0 before), so the hot
// path compares against it only.
type topGaps struct {
	len, at [work.MaxGaps]int64
	cpu     [work.MaxGaps]int
	n       int
	min     int64
}

// add keeps a gap longer than min, dropping the shortest when full.
func (g *topGaps) add(length, at int64, cpu int) {
	i := g.n
	if g.n < work.MaxGaps {
		g.n++
	} else {
		for j := range g.n {
			if g.len[j] == g.min {
				i = j
				break
			}
		}
	}
	g.len[i], g.at[i], g.cpu[i] = length, at, cpu
	if g.n == work.MaxGaps {
		g.min = g.len[0]
		for _, l := range g.len[1:] {
			g.min = min(g.min, l)
		}
	}
}

// sorted returns the kept gaps, longest first.
func (g *topGaps) sorted() []work.Gap {
	if g.n == 0 {
		return nil
	}
	out := make([]work.Gap, g.n)
	for i := range g.n {
		out[i] = work.Gap{Len: time.Duration(g.len[i]), At: time.Duration(g.at[i]), CPU: g.cpu[i]}
	}
	slices.SortStableFunc(out, func(a, b work.Gap) int { return cmp.Compare(b.Len, a.Len) })
	return out
}

// reservoir keeps a uniform random sample of at most cap(buf) values out of
// all added (Vitter's Algorithm R), with a xorshift64* generator: cheap,
// and no allocation after init.
type reservoir struct {
	buf   []int64
	total uint64
	rng   uint64
}

func (r *reservoir) init(capacity int, seed uint64) {
	r.buf = make([]int64, 0, capacity)
	r.rng = seed | 1 // xorshift needs a non-zero state
}

// next returns the next pseudo-random number (xorshift64*).
func (r *reservoir) next() uint64 {
	x := r.rng
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	r.rng = x
	return x * 2685821657736338717
}

// add offers v: the first cap values are kept; after that the i-th value
// (counting from 1) replaces a random kept one with probability cap/i.
func (r *reservoir) add(v int64) {
	r.total++
	if len(r.buf) < cap(r.buf) {
		r.buf = append(r.buf, v)
		return
	}
	// A uniform index in [0, total) without division (Lemire).
	j, _ := bits.Mul64(r.next(), r.total)
	if j < uint64(len(r.buf)) {
		r.buf[j] = v
	}
}

// schedstat is one reading of a thread's /proc/.../schedstat: time on the
// CPU, time waiting on a run queue (run delay), and times run (timeslices).
type schedstat struct {
	cpu, runDelay, timeslices uint64
}

// parseSchedstat parses "cpu_ns run_delay_ns timeslices".
func parseSchedstat(b []byte) (schedstat, error) {
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return schedstat{}, fmt.Errorf("schedstat %q: want 3 fields", bytes.TrimSpace(b))
	}
	var v [3]uint64
	for i := range v {
		n, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return schedstat{}, fmt.Errorf("schedstat %q: field %d: %v", bytes.TrimSpace(b), i+1, err)
		}
		v[i] = n
	}
	return schedstat{cpu: v[0], runDelay: v[1], timeslices: v[2]}, nil
}

// readSchedstat reads the calling thread's schedstat (the measured loop
// thread: /proc/self/schedstat would be the thread group leader's, which is
// the same thread only when the worker's main goroutine kept the main
// thread). ok is false without CONFIG_SCHEDSTATS.
func readSchedstat() (s schedstat, ok bool) {
	b, err := os.ReadFile("/proc/thread-self/schedstat")
	if err != nil {
		return s, false
	}
	s, err = parseSchedstat(b)
	return s, err == nil
}

// parseNUMAMaps counts the pages of anonymous mappings (heap, stacks, the
// work buffers) per NUMA node from /proc/PID/numa_maps text, in base pages
// (a 2 MiB huge page counts 512). File-backed mappings (the binary, shared
// libraries, the group's shared memfd) are left out: their pages sit where
// the page cache put them, not where the worker's memory policy did.
func parseNUMAMaps(text string, basePageKB int) map[int]uint64 {
	pages := map[int]uint64{}
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) < 2 || strings.Contains(line, " file=") {
			continue
		}
		scale := uint64(1)
		for _, kv := range f[2:] {
			if v, ok := strings.CutPrefix(kv, "kernelpagesize_kB="); ok {
				if kb, err := strconv.Atoi(v); err == nil && basePageKB > 0 && kb > basePageKB {
					scale = uint64(kb / basePageKB)
				}
			}
		}
		for _, kv := range f[2:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || len(k) < 2 || k[0] != 'N' {
				continue
			}
			node, err1 := strconv.Atoi(k[1:])
			n, err2 := strconv.ParseUint(v, 10, 64)
			if err1 != nil || err2 != nil || node < 0 {
				continue
			}
			pages[node] += n * scale
		}
	}
	return pages
}

// readNUMAPages reads the worker's own page counts per node.
func readNUMAPages() map[int]uint64 {
	b, err := os.ReadFile("/proc/self/numa_maps")
	if err != nil {
		return nil
	}
	return parseNUMAMaps(string(b), os.Getpagesize()/1024)
}

// processCPUTime returns the user plus system time of every thread of the
// worker process (getrusage RUSAGE_SELF): the loop thread and the Go
// runtime's few others, which the worker keeps idle.
func processCPUTime() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(unix.TimevalToNsec(ru.Utime) + unix.TimevalToNsec(ru.Stime))
}
