package hostnoise

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultPeriod is how often a Sampler reads the run delays: fine enough to
// place a stall of a few tens of milliseconds, at a cost of a few file
// reads per period.
const DefaultPeriod = 10 * time.Millisecond

// Sampler reads the run delay of a QEMU process's vCPU threads until
// stopped. QEMU must run with -name ...,debug-threads=on, which names them
// "ALL CPUs/TCG" (single-threaded TCG), "CPU n/TCG" or "CPU n/KVM".
type Sampler struct {
	pid    int
	vcpus  int // the guest's CPUs, each a thread of its own under KVM
	period time.Duration
	done   chan struct{}
	wg     sync.WaitGroup

	mu      sync.Mutex
	rec     Record
	threads map[int]*Series // by thread id
}

// Start samples the vCPU threads of process pid, a guest of vcpus CPUs,
// every period.
func Start(pid, vcpus int, period time.Duration) *Sampler {
	s := &Sampler{pid: pid, vcpus: vcpus, period: period, done: make(chan struct{}),
		threads: map[int]*Series{}, rec: Record{CPUs: map[int]*Series{}}}
	s.wg.Add(1)
	go s.loop()
	return s
}

// Now is the host's CLOCK_MONOTONIC, the clock samples are taken on.
func Now() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Duration(ts.Nano())
}

func (s *Sampler) loop() {
	defer s.wg.Done()
	tick := time.NewTicker(s.period)
	defer tick.Stop()
	for {
		s.sample()
		select {
		case <-s.done:
			s.sample()
			return
		case <-tick.C:
		}
	}
}

// sample reads every vCPU thread once, looking for them until each is
// known: QEMU starts them after the process, one after another (under KVM
// one per guest CPU, each named only once it runs), so one sample can
// catch some and not the rest.
func (s *Sampler) sample() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec.All == nil && len(s.rec.CPUs) < s.vcpus {
		s.discover()
	}
	for tid, ser := range s.threads {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/schedstat", s.pid, tid))
		if err != nil {
			continue // the thread ended
		}
		d, ok := runDelay(b)
		if ok {
			ser.Add(Now(), d)
		}
	}
}

func (s *Sampler) discover() {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/comm", s.pid))
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		tid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err != nil {
			continue
		}
		if _, known := s.threads[tid]; known {
			continue
		}
		if tid == s.pid {
			s.rec.Main = &Series{}
			s.threads[tid] = s.rec.Main
			continue
		}
		all, cpu, ok := vcpuThread(string(bytes.TrimSpace(b)))
		if !ok {
			continue
		}
		ser := &Series{}
		s.threads[tid] = ser
		if all {
			s.rec.All = ser
		} else {
			s.rec.CPUs[cpu] = ser
		}
	}
}

// vcpuThread parses a QEMU thread name: "ALL CPUs/TCG" runs every vCPU,
// "CPU 3/KVM" (or /TCG) runs vCPU 3.
func vcpuThread(comm string) (all bool, cpu int, ok bool) {
	if strings.HasPrefix(comm, "ALL CPUs/") {
		return true, -1, true
	}
	rest, ok := strings.CutPrefix(comm, "CPU ")
	if !ok {
		return false, 0, false
	}
	n, _, ok := strings.Cut(rest, "/")
	if !ok {
		return false, 0, false
	}
	cpu, err := strconv.Atoi(n)
	return false, cpu, err == nil
}

// runDelay takes the run delay, the second field, from a schedstat file.
func runDelay(b []byte) (time.Duration, bool) {
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	return time.Duration(n), err == nil
}

// Held returns how long the host has held off the vCPU of guest CPU cpu
// between host times from and to (CLOCK_MONOTONIC, as Now), from the
// samples taken so far: for a check that judges while the run goes on.
// Under -icount guest time does not pass while the host holds QEMU off, so
// the caller has nothing to take out there.
func (s *Sampler) Held(cpu int, from, to time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var most time.Duration
	for _, ser := range s.rec.series(cpu) {
		most = max(most, ser.Held(from, to))
	}
	return most
}

// HeldIdle is Held for an idle vCPU: one that waits for an interrupt,
// which comes late when either its thread or QEMU's main thread (which
// runs the timers that raise the guest's timer interrupts) was held off.
// The larger of the two counts: they may have been held at once.
func (s *Sampler) HeldIdle(cpu int, from, to time.Duration) time.Duration {
	h := s.Held(cpu, from, to)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec.Main != nil {
		h = max(h, s.rec.Main.Held(from, to))
	}
	return h
}

// Stop ends the sampling and returns what was seen, with the given
// guest-to-host clock offset (see Record.Offset) when known.
func (s *Sampler) Stop(offset time.Duration, known bool) *Record {
	close(s.done)
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rec
	r.Offset, r.OffsetKnown = offset, known
	if len(r.CPUs) == 0 {
		r.CPUs = nil
	}
	return &r
}
