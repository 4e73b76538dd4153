package monitor

import (
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/check"
)

const testHZ = 250

// series builds a record of n samples 100 ms (25 jiffies) apart, the body
// starting at 0, with f filling sample i.
func series(n int, f func(i int, s *Sample)) *Record {
	rec := &Record{HZ: testHZ, BodyStart: 0, BodyEnd: -1}
	for i := range n {
		s := Sample{At: time.Duration(i) * 100 * time.Millisecond, Jiffies: 1000 + uint64(i)*25}
		f(i, &s)
		rec.Samples = append(rec.Samples, s)
	}
	return rec
}

// cpus returns n CPUs, each running one task with the clock moving.
func cpus(n, i int) []CPU {
	out := make([]CPU, n)
	for c := range out {
		out[c] = CPU{NrRunning: 1, Clock: uint64(i+1) * 1e8, Curr: Task{PID: int32(100 + c)}}
	}
	return out
}

func allCPUs(n int) []uint64 { return []uint64{1<<n - 1} }

// oneCPU puts every task on CPU 0: three wait there, allowed on all four
// CPUs, while CPUs 1-3 idle.
func oneCPU(s *Sample, i int) {
	s.CPUs = cpus(4, i)
	s.CPUs[0].NrRunning = 4
	for p := range 3 {
		s.CPUs[0].Waiting = append(s.CPUs[0].Waiting, Waiter{PID: int32(200 + p), Allowed: allCPUs(4)})
	}
	for c := 1; c < 4; c++ {
		s.CPUs[c] = CPU{Idle: true, Clock: s.CPUs[c].Clock}
	}
}

func defaults() check.Assert { return check.MonitorDefaults() }

func kinds(fs []Finding) []check.Kind {
	var out []check.Kind
	for _, f := range fs {
		out = append(out, f.Kind)
	}
	return out
}

func TestWorkConservation(t *testing.T) {
	rec := series(30, func(i int, s *Sample) { oneCPU(s, i) })
	fs, sum := Evaluate(rec, defaults())
	if len(fs) != 1 || fs[0].Kind != check.WorkConservation {
		t.Fatalf("findings %+v, want one work-conservation failure", fs)
	}
	// Judged from 0.5 s (warm-up); the streak starts at the first judged
	// sample with a predecessor, 0.6 s, and runs to 2.9 s.
	want := "work not conserved: CPUs 1-3 idle for 2.3 s while 3 runnable tasks allowed there waited on CPU 0"
	if fs[0].Message != want {
		t.Errorf("message\n %q\nwant\n %q", fs[0].Message, want)
	}
	if sum.IdleWhileWaiting != 2300*time.Millisecond {
		t.Errorf("IdleWhileWaiting %v, want 2.3s", sum.IdleWhileWaiting)
	}
	// Tasks pinned to CPU 0 may not run elsewhere: idle CPUs are no fault.
	pinned := series(30, func(i int, s *Sample) {
		oneCPU(s, i)
		for w := range s.CPUs[0].Waiting {
			s.CPUs[0].Waiting[w].Allowed = []uint64{1}
		}
	})
	if fs, sum := Evaluate(pinned, defaults()); len(fs) != 0 || sum.IdleWhileWaiting != 0 {
		t.Errorf("pinned tasks: findings %+v, idle while waiting %v; want none", fs, sum.IdleWhileWaiting)
	}
}

func TestWorkConservationShortIdle(t *testing.T) {
	// Idle while waiting for 1.0 s exactly (samples 10-20): not longer
	// than the limit.
	rec := series(30, func(i int, s *Sample) {
		if i >= 10 && i <= 20 {
			oneCPU(s, i)
		} else {
			s.CPUs = cpus(4, i)
		}
	})
	if fs, _ := Evaluate(rec, defaults()); len(fs) != 0 {
		t.Errorf("findings %+v, want none for 1.0 s", fs)
	}
}

func TestWarmupAndBodyEnd(t *testing.T) {
	// Imbalance only in the warm-up and after the body ended.
	rec := series(40, func(i int, s *Sample) {
		s.CPUs = cpus(2, i)
		if i < 5 || i >= 30 {
			s.CPUs[0].NrRunning, s.CPUs[1].NrRunning = 9, 1
		}
	})
	rec.BodyEnd = 2900 * time.Millisecond
	if fs, _ := Evaluate(rec, defaults()); len(fs) != 0 {
		t.Errorf("findings %+v, want none outside the body's window", fs)
	}
	// No body start: nothing is judged.
	rec.BodyStart = -1
	if fs, sum := Evaluate(rec, defaults()); len(fs) != 0 || sum.Judged != 0 {
		t.Errorf("no body: findings %+v, %d judged", fs, sum.Judged)
	}
}

func TestSustainedImbalance(t *testing.T) {
	for _, tt := range []struct {
		samples int
		fail    bool
	}{{4, false}, {5, true}} {
		rec := series(30, func(i int, s *Sample) {
			s.CPUs = cpus(2, i)
			if i >= 10 && i < 10+tt.samples {
				s.CPUs[0].NrRunning, s.CPUs[1].NrRunning = 9, 1
			}
		})
		fs, sum := Evaluate(rec, defaults())
		if got := len(fs) == 1 && fs[0].Kind == check.Imbalance; got != tt.fail {
			t.Errorf("%d samples over: findings %v, want failure %v", tt.samples, kinds(fs), tt.fail)
		}
		if sum.MaxImbalance != 9 {
			t.Errorf("MaxImbalance %v, want 9", sum.MaxImbalance)
		}
		if tt.fail && !strings.Contains(fs[0].Message, "CPU 0 had 9 runnable tasks while CPU 1, where they may run, had 1 (ratio 9.0, limit 4) for 5 samples in a row from +1.0 s") {
			t.Errorf("message %q", fs[0].Message)
		}
	}
}

func TestGuestHeldOff(t *testing.T) {
	// The host held the guest off: jiffies stand still over 10 samples in
	// the middle of an imbalance 4 samples long on each side. Those
	// samples neither count nor break the streak.
	rec := series(30, func(i int, s *Sample) {
		s.CPUs = cpus(2, i)
		if i >= 10 && i < 28 {
			s.CPUs[0].NrRunning, s.CPUs[1].NrRunning = 9, 1
		}
	})
	for i := 14; i < 24; i++ {
		rec.Samples[i].Jiffies = rec.Samples[13].Jiffies
	}
	for i := 24; i < 30; i++ {
		rec.Samples[i].Jiffies -= 250
	}
	fs, _ := Evaluate(rec, defaults())
	if len(fs) != 1 || fs[0].Kind != check.Imbalance {
		t.Fatalf("findings %v, want the imbalance across the pause", kinds(fs))
	}
}

func TestClockStop(t *testing.T) {
	stop := func(nr uint32) *Record {
		return series(30, func(i int, s *Sample) {
			s.CPUs = cpus(2, i)
			if i >= 10 {
				s.CPUs[1].Clock, s.CPUs[1].NrRunning = 42, nr
			}
		})
	}
	fs, sum := Evaluate(stop(2), defaults())
	if len(fs) != 1 || fs[0].Kind != check.RqStall || !strings.HasPrefix(fs[0].Message, "CPU 1's runqueue clock stopped for 1.9 s of guest time while it had 2 runnable tasks") {
		t.Fatalf("findings %+v, want CPU 1's clock stop", fs)
	}
	if sum.LongestClockStop != 1900*time.Millisecond {
		t.Errorf("LongestClockStop %v, want 1.9s (samples 10 to 29)", sum.LongestClockStop)
	}
	// An idle CPU's clock may stand (no tick without work).
	if fs, _ := Evaluate(stop(0), defaults()); len(fs) != 0 {
		t.Errorf("idle CPU: findings %+v, want none", fs)
	}
	off := defaults()
	off.FailOnStall = check.Off()
	if fs, _ := Evaluate(stop(2), off); len(fs) != 0 {
		t.Errorf("FailOnStall off: findings %+v, want none", fs)
	}
}

func TestEventRateAndDSQ(t *testing.T) {
	rec := series(30, func(i int, s *Sample) {
		s.CPUs = cpus(2, i)
		s.SCX = &SCX{GlobalDSQ: 0, UserDSQ: 3}
		for c := range s.CPUs {
			// 15 fallbacks per CPU per 100 ms: 300/s in all.
			s.CPUs[c].Events = []int64{int64(15 * i), 1}
			s.CPUs[c].LocalDSQ = 2
		}
		if i >= 20 {
			// Deep on both CPUs: no imbalance, only depth.
			s.CPUs[0].LocalDSQ, s.CPUs[1].LocalDSQ = 80, 80
		}
	})
	rec.Events = []string{"SELECT_CPU_FALLBACK", "DISPATCH_KEEP_LAST"}
	a := defaults()
	a.MaxKeepLastRate = check.Set(0.5) // 20/s counted: not sustained, one per sample
	fs, sum := Evaluate(rec, a)
	// The DSQ depth comes first though found later: it is more telling.
	if got := kinds(fs); len(got) != 2 || got[0] != check.DSQDepth || got[1] != check.EventRate {
		t.Fatalf("findings %+v, want a DSQ depth then an event rate failure", fs)
	}
	if !strings.HasPrefix(fs[1].Message, "sched_ext select_cpu_fallback events at 300/s (limit 200/s)") {
		t.Errorf("message %q", fs[1].Message)
	}
	if sum.EventDeltas["SELECT_CPU_FALLBACK"] != 2*15*24 || sum.EventRates["SELECT_CPU_FALLBACK"] != 300 {
		t.Errorf("event figures %v %v", sum.EventDeltas, sum.EventRates)
	}
	if sum.MaxLocalDSQ != 80 || sum.MaxUserDSQ != 3 {
		t.Errorf("DSQ figures %d %d", sum.MaxLocalDSQ, sum.MaxUserDSQ)
	}
}

// TestImbalanceUnderSchedExt counts only what is committed to a CPU: the
// runqueue's count includes tasks in shared DSQs any CPU may take.
func TestImbalanceUnderSchedExt(t *testing.T) {
	rec := series(30, func(i int, s *Sample) {
		s.CPUs = cpus(2, i)
		s.SCX = &SCX{}
		s.CPUs[0].NrRunning = 9 // 8 of them in the global DSQ
		if i >= 10 {
			s.CPUs[0].LocalDSQ = 8 // now 8 committed to CPU 0
		}
	})
	fs, _ := Evaluate(rec, defaults())
	if len(fs) != 1 || fs[0].Kind != check.Imbalance || !strings.Contains(fs[0].Message, "CPU 0 had 9 tasks running or in its local DSQ while CPU 1, where they may run, had 1") || fs[0].At != time.Second {
		t.Errorf("findings %+v, want the imbalance from +1.0 s only", fs)
	}
}

func TestDownSample(t *testing.T) {
	rec := series(95, func(i int, s *Sample) {
		s.CPUs = cpus(2, i)
		s.CPUs[1].NrRunning = uint32(i % 7)
	})
	s := DownSample(rec, 10)
	if len(s.At) != 10 || len(s.NrRunning) != 2 || len(s.NrRunning[1]) != 10 || s.LocalDSQ != nil {
		t.Fatalf("series %+v", s)
	}
	if s.NrRunning[1][0] != 6 {
		t.Errorf("first point %d, want the span's largest, 6", s.NrRunning[1][0])
	}
}

// TestTellingFirst: idle CPUs beside waiting tasks come before the
// imbalance they cause, though the imbalance crossed its limit first.
func TestTellingFirst(t *testing.T) {
	rec := series(30, func(i int, s *Sample) {
		oneCPU(s, i)
		s.SCX = &SCX{}
		s.CPUs[0].LocalDSQ = 5 // the waiting tasks sit in CPU 0's local DSQ
	})
	fs, _ := Evaluate(rec, defaults())
	got := kinds(fs)
	if len(got) != 2 || got[0] != check.WorkConservation || got[1] != check.Imbalance || fs[1].At > fs[0].At {
		t.Errorf("findings %+v, want work conservation first, then the earlier imbalance", fs)
	}
}

// TestWorkConservationGrace: a CPU busy for one sample now and then does
// not end the stretch; busy for two samples in a row it does.
func TestWorkConservationGrace(t *testing.T) {
	busyEvery := func(every, run int) *Record {
		return series(30, func(i int, s *Sample) {
			oneCPU(s, i)
			if i%every < run {
				for c := 1; c < 4; c++ {
					s.CPUs[c].Idle = false
				}
			}
		})
	}
	if fs, _ := Evaluate(busyEvery(3, 1), defaults()); len(fs) != 1 || fs[0].Kind != check.WorkConservation {
		t.Errorf("busy one sample in three: findings %+v, want work not conserved", fs)
	}
	if fs, sum := Evaluate(busyEvery(4, 2), defaults()); len(fs) != 0 {
		t.Errorf("busy two samples in four: findings %+v (longest %v), want none", fs, sum.IdleWhileWaiting)
	}
}

// evaluateHeld is Evaluate with the host holding the vCPUs off for a share
// of every stretch of the monitor's clock.
func evaluateHeld(rec *Record, a check.Assert, share float64) ([]Finding, Summary) {
	j := newJudge(a, rec.HZ, rec.Events)
	j.held = func(cpu int, from, to time.Duration) time.Duration {
		return time.Duration(share * float64(to-from))
	}
	j.window(rec.BodyStart, rec.BodyEnd)
	for _, s := range rec.Samples {
		j.add(s)
	}
	return j.result(len(rec.Samples))
}

// TestWorkConservationHostHeld: outside -icount the guest's jiffies count
// the time the host held the VM off (the guest catches up on its ticks),
// in which an idle CPU is no fault of the scheduler's. That time is taken
// out of the stretch, and said beside a failure that stands.
func TestWorkConservationHostHeld(t *testing.T) {
	// 2.3 s of idling beside waiting tasks, 60 % of it frozen: 0.92 s.
	rec := series(30, func(i int, s *Sample) { oneCPU(s, i) })
	fs, sum := evaluateHeld(rec, defaults(), 0.6)
	if len(fs) != 0 {
		t.Errorf("findings %+v, want none: 0.92 s of the scheduler's own idling", fs)
	}
	if sum.IdleWhileWaiting < 900*time.Millisecond || sum.IdleWhileWaiting > 940*time.Millisecond {
		t.Errorf("IdleWhileWaiting %v, want 0.92 s", sum.IdleWhileWaiting)
	}
	// 10 % held: 2.07 s stands, and the message says what was left out.
	fs, _ = evaluateHeld(rec, defaults(), 0.1)
	want := "work not conserved: CPUs 1-3 idle for 2.1 s (0.2 s more while the host held the VM or its timers off, not counted) while 3 runnable tasks allowed there waited on CPU 0"
	if len(fs) != 1 || fs[0].Message != want {
		t.Errorf("findings %+v, want\n %q", fs, want)
	}
}
