//go:build linux

package guest

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/internal/bpfdump"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// A failing scheduler's own state: its BPF maps, rendered through their
// BTF (package bpfdump). They are opened by id once the scheduler has
// attached, those its process holds and those its programs use, and held
// until it is stopped: a scheduler that dies or is ejected usually exits,
// and its maps would go with its fds.
//
// The maps are read (their bytes copied, which is quick) at the first of
// these moments, the nearest the failure that the guest can see: the host
// monitor asking for a sched_ext dump, which for a stall comes seconds
// before the kernel's watchdog ejects the scheduler; the harness seeing
// sched_ext leave "enabled" (an ejection, or the process gone); the end
// of a body that failed. The copy is rendered at the end, with the maps'
// BTF parsed then: under TCG that takes a while, and only failed runs pay
// for it.

// attached is the scheduler under test while it runs, for the host
// monitor's dump request, which arrives on the port's goroutine.
var attached atomic.Pointer[Scheduler]

// schedMaps holds a scheduler's BPF maps and the copy taken for a
// failure.
type schedMaps struct {
	set     *bpfdump.Set
	stopped atomic.Bool

	mu   sync.Mutex
	snap *bpfdump.Snapshot
	when string
	took time.Duration
}

// openSchedMaps opens the maps of the scheduler whose programs bpf found.
func openSchedMaps(bpf *schedPrograms) *schedMaps {
	set := bpfdump.Open(bpf.allMapIDs())
	set.CgroupRoot = CgroupMount
	return &schedMaps{set: set}
}

// capture copies the maps for the failure report, unless a copy was taken
// already: the first is the nearest the failure. when says at which
// moment.
func (m *schedMaps) capture(when string) {
	if m == nil || m.set.Len() == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.snap != nil {
		return
	}
	t0 := time.Now()
	m.snap, m.when = realtimeSnapshot(m.set), when
	m.took = time.Since(t0)
}

// realtimeSnapshot reads set from a thread of its own at SCHED_FIFO, which
// sched_ext does not schedule: a failing scheduler otherwise keeps the
// reader itself waiting for a CPU (a copy took 0.4-1.3 s while ktstr-sched
// dispatched nothing, against milliseconds when it ran). The thread stays
// locked to the goroutine, so the Go runtime ends it with the goroutine
// rather than reuse it real-time, and makes no thread from it.
func realtimeSnapshot(set *bpfdump.Set) *bpfdump.Snapshot {
	done := make(chan *bpfdump.Snapshot)
	go func() {
		runtime.LockOSThread()
		attr := unix.SchedAttr{Policy: unix.SCHED_FIFO, Priority: 1}
		if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
			fmt.Fprintf(os.Stderr, "ktstr: reading the scheduler's maps at SCHED_FIFO: %v; reading them as an ordinary task\n", err)
		}
		done <- set.Snapshot()
	}()
	return <-done
}

// failureDump renders the copy taken for a failure; when none was taken
// and failed says the run failed, it copies the maps now, at the end of
// the body. nil when there is nothing to report.
func (m *schedMaps) failureDump(failed bool) *wire.MapDump {
	if m == nil {
		return nil
	}
	if failed {
		m.capture("at the end of the body, which failed")
	}
	m.mu.Lock()
	snap, when, took := m.snap, m.when, m.took
	m.mu.Unlock()
	if snap == nil {
		return nil
	}
	t0 := time.Now()
	text := m.set.Render(snap, bpfdump.DefaultLimits)
	fmt.Printf("ktstr: scheduler maps read in %v %s, rendered in %v\n", took.Round(time.Microsecond), when, time.Since(t0).Round(time.Millisecond))
	return &wire.MapDump{When: when, Text: text}
}

// close lets go of the maps.
func (m *schedMaps) close() {
	if m != nil {
		m.stopped.Store(true)
		m.set.Close()
	}
}

// DumpMaps renders every BPF map of the scheduler as it is now.
func (s *Scheduler) DumpMaps() (string, error) {
	m, err := s.heldMaps()
	if err != nil {
		return "", err
	}
	return m.set.Dump(bpfdump.DefaultLimits), nil
}

// Var finds the scheduler's global variable name in its .bss, .data and
// .rodata maps.
func (s *Scheduler) Var(name string) (*bpfdump.Var, error) {
	m, err := s.heldMaps()
	if err != nil {
		return nil, err
	}
	return m.set.Var(name)
}

// heldMaps returns the scheduler's maps, or says why they cannot be read.
func (s *Scheduler) heldMaps() (*schedMaps, error) {
	m := s.maps.Load()
	switch {
	case m == nil:
		return nil, fmt.Errorf("scheduler %s: its BPF maps were not opened: it never attached", s.spec.Name)
	case m.stopped.Load():
		return nil, fmt.Errorf("scheduler %s: stopped, its BPF maps let go", s.spec.Name)
	case m.set.Len() == 0:
		return nil, fmt.Errorf("scheduler %s: no BPF map found: its process held no map fd once attached and its programs use none", s.spec.Name)
	}
	return m, nil
}
