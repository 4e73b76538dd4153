package monitor

import (
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/guestmem"
)

// maxSamples bounds the samples kept: at 10 Hz, an hour.
const maxSamples = 36000

// Record is what a monitor saw in one run.
type Record struct {
	// Samples are the samples in order.
	Samples []Sample
	// Events names the counters in each CPU's Events.
	Events []string
	// BodyStart and BodyEnd are when the test body started and ended, on
	// the Samples' clock; negative when it did not happen.
	BodyStart, BodyEnd time.Duration
	// HZ is the guest kernel's tick rate, which turns jiffies into time.
	HZ int
	// Notes says what the monitor could not see, and why.
	Notes []string
	// Errors counts samples that could not be read.
	Errors int
	// CPUTime is the host CPU time the sampling took (its thread's, in
	// user and kernel mode), and Span the time from the first sample to
	// the last.
	CPUTime, Span time.Duration
	// Flagged is the first failure the monitor saw while the run went
	// on, when it asked the guest for a sched_ext dump; nil if none.
	Flagged *Finding
}

// Monitor samples a guest every period until stopped.
type Monitor struct {
	r      *Reader
	start  time.Time
	stop   chan struct{}
	done   chan struct{}
	judge  *judge
	onFail func(Finding)

	mu  sync.Mutex
	rec Record
}

// HeldFunc says how long the host held off the vCPU of guest CPU cpu, or
// what wakes it (its interrupts), between times from and to of the
// monitor's clock (Sample.At).
type HeldFunc func(cpu int, from, to time.Duration) time.Duration

// Start starts sampling with reader r every period. onFail, when set, is
// called once, from the sampling goroutine, with the first failure found
// under limits a while the run goes on (to ask the guest for a dump).
// held, when set, tells the time the host held the vCPUs (or QEMU's
// timers) off, which the guest's clock counts and the work-conservation
// check takes out: a frozen guest's idle CPU, or one whose timer interrupt
// comes late, is not the scheduler's doing. It must be nil when guest
// time follows instructions (-icount).
func Start(r *Reader, period time.Duration, hz int, a check.Assert, held HeldFunc, onFail func(Finding)) *Monitor {
	m := &Monitor{
		r: r, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{}),
		judge: newJudge(a, hz, r.events), onFail: onFail,
		rec: Record{Events: r.events, BodyStart: -1, BodyEnd: -1, HZ: hz, Notes: r.Notes},
	}
	m.judge.held = held
	go m.loop(period)
	return m
}

func (m *Monitor) loop(period time.Duration) {
	defer close(m.done)
	// One thread, whose CPU time is the monitor's cost.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	defer func() {
		m.mu.Lock()
		m.rec.CPUTime = threadCPU() - cpu0
		if n := len(m.rec.Samples); n > 0 {
			m.rec.Span = m.rec.Samples[n-1].At - m.rec.Samples[0].At
		}
		m.mu.Unlock()
	}()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		m.sampleOnce()
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
	}
}

func (m *Monitor) sampleOnce() {
	s, err := m.r.Sample()
	at := time.Since(m.start)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		// The guest powering off ends QEMU between two samples; keep
		// what was read.
		if !errors.Is(err, guestmem.ErrGone) {
			m.rec.Errors++
		}
		return
	}
	s.At = at
	if len(m.rec.Samples) < maxSamples {
		m.rec.Samples = append(m.rec.Samples, s)
	}
	m.judge.window(m.rec.BodyStart, m.rec.BodyEnd)
	if f := m.judge.add(s); f != nil && m.rec.Flagged == nil {
		m.rec.Flagged = f
		if m.onFail != nil {
			go m.onFail(*f)
		}
	}
}

// Mark records that the test body started (start true) or ended, now.
func (m *Monitor) Mark(start bool) {
	at := time.Since(m.start)
	m.mu.Lock()
	defer m.mu.Unlock()
	if start {
		m.rec.BodyStart = at
	} else {
		m.rec.BodyEnd = at
	}
}

// Stop ends sampling and returns the record.
func (m *Monitor) Stop() *Record {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	rec := m.rec
	rec.Notes = m.r.Notes // the sampling goroutine has stopped
	return &rec
}
