// Package hostnoise accounts for the time the host held a VM's virtual CPUs
// off: QEMU's vCPU threads runnable on the host but waiting for a host CPU.
//
// The guest cannot see that time. Under TCG and KVM its clock follows the
// host's, so a task that was current on a vCPU while the host held the
// thread off seems to have run (its CPU time grows) and the tasks waiting
// behind it seem to have waited; gaps, fairness spreads and wake-up
// latencies measured in the guest all include it. The host can see it:
// each thread's run delay (the second field of /proc/PID/task/TID/schedstat)
// grows by exactly that time. A Sampler reads it every few milliseconds
// during the run; a Record then tells how much of any stretch of the
// guest's clock the host held each vCPU off, and Adjust takes that time out
// of the gap check's verdicts and names it beside the figures it cannot be
// taken out of.
package hostnoise

import (
	"sort"
	"time"
)

// Series is one thread's cumulative run delay over the host's
// CLOCK_MONOTONIC, in the order sampled.
type Series struct {
	At    []time.Duration
	Delay []time.Duration
}

// Add appends a sample.
func (s *Series) Add(at, delay time.Duration) {
	s.At = append(s.At, at)
	s.Delay = append(s.Delay, delay)
}

// delayAt is the cumulative run delay at host time t, interpolated linearly
// between the samples around it and held flat outside them.
func (s *Series) delayAt(t time.Duration) time.Duration {
	n := len(s.At)
	if n == 0 {
		return 0
	}
	i := sort.Search(n, func(i int) bool { return s.At[i] >= t })
	switch {
	case i == 0:
		return s.Delay[0]
	case i == n:
		return s.Delay[n-1]
	}
	a, b := s.At[i-1], s.At[i]
	da, db := s.Delay[i-1], s.Delay[i]
	if b == a {
		return db
	}
	return da + time.Duration(float64(db-da)*float64(t-a)/float64(b-a))
}

// Held returns the run delay the thread accumulated between host times a
// and b.
func (s *Series) Held(a, b time.Duration) time.Duration {
	if b <= a {
		return 0
	}
	return max(0, s.delayAt(b)-s.delayAt(a))
}

// Record is what a Sampler saw of one VM, and how to place it on the
// guest's clock.
type Record struct {
	// All is the thread that runs every vCPU (single-threaded TCG), or
	// nil.
	All *Series
	// CPUs holds the thread of each vCPU, by guest CPU id, when each has
	// its own (KVM).
	CPUs map[int]*Series
	// Main is QEMU's main thread, whose loop runs QEMU's timers and so
	// raises the guest's timer interrupts under TCG: held off, it leaves
	// the guest running but its timers late. Nil when it was not found.
	Main *Series
	// Offset places the guest's CLOCK_MONOTONIC on the host's: host time
	// = guest time + Offset. Valid only when OffsetKnown.
	Offset      time.Duration
	OffsetKnown bool
}

// series returns the thread that ran guest CPU cpu (-1: the one held off
// most, for a stretch no single CPU is known for).
func (r *Record) series(cpu int) []*Series {
	if r.All != nil {
		return []*Series{r.All}
	}
	if s, ok := r.CPUs[cpu]; ok {
		return []*Series{s}
	}
	out := make([]*Series, 0, len(r.CPUs))
	for _, s := range r.CPUs {
		out = append(out, s)
	}
	return out
}

// Held returns how long the host held off the vCPU of guest CPU cpu (-1:
// the vCPU held off most) between guest times from and to. It is 0 when
// the record cannot be placed on the guest's clock.
func (r *Record) Held(cpu int, from, to time.Duration) time.Duration {
	if r == nil || !r.OffsetKnown {
		return 0
	}
	var most time.Duration
	for _, s := range r.series(cpu) {
		most = max(most, s.Held(from+r.Offset, to+r.Offset))
	}
	return most
}

// Stall is a stretch of the run in which the host held a vCPU thread off
// at least half the time.
type Stall struct {
	// Start and End are on the guest's clock (CLOCK_MONOTONIC).
	Start, End time.Duration
	// Held is the run delay accumulated in it.
	Held time.Duration
}

// Stalls lists the stretches in which the host held a vCPU thread off at
// least half of the time, merged when adjacent, that held it off minHeld
// or more; on the guest's clock, in order. Without KVM's per-vCPU threads
// the one TCG thread stands for every vCPU; with them, stalls of different
// vCPUs are listed together.
func (r *Record) Stalls(minHeld time.Duration) []Stall {
	if r == nil || !r.OffsetKnown {
		return nil
	}
	var all []*Series
	if r.All != nil {
		all = []*Series{r.All}
	}
	for _, s := range r.CPUs {
		all = append(all, s)
	}
	var out []Stall
	for _, s := range all {
		var cur *Stall
		flush := func() {
			if cur != nil && cur.Held >= minHeld {
				out = append(out, *cur)
			}
			cur = nil
		}
		for i := 1; i < len(s.At); i++ {
			dt, dd := s.At[i]-s.At[i-1], s.Delay[i]-s.Delay[i-1]
			if dt <= 0 || 2*dd < dt {
				flush()
				continue
			}
			if cur == nil {
				cur = &Stall{Start: s.At[i-1] - r.Offset}
			}
			cur.End, cur.Held = s.At[i]-r.Offset, cur.Held+dd
		}
		flush()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// Total is the longest any one vCPU thread was held off over the whole
// record.
func (r *Record) Total() time.Duration {
	if r == nil {
		return 0
	}
	var most time.Duration
	total := func(s *Series) time.Duration {
		if len(s.Delay) == 0 {
			return 0
		}
		return s.Delay[len(s.Delay)-1] - s.Delay[0]
	}
	if r.All != nil {
		most = total(r.All)
	}
	for _, s := range r.CPUs {
		most = max(most, total(s))
	}
	return most
}
