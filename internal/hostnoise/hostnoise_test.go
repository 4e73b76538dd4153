//go:build linux

package hostnoise

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/work"
)

const ms = time.Millisecond

// stalled returns a series sampled every 10 ms from host time 0 to end, in
// which the thread was held off the whole of [from, to) and never else.
func stalled(end time.Duration, stalls ...[2]time.Duration) *Series {
	s := &Series{}
	var delay time.Duration
	for t := time.Duration(0); t <= end; t += 10 * ms {
		s.Add(t, delay)
		for _, st := range stalls {
			lo, hi := max(t, st[0]), min(t+10*ms, st[1])
			if hi > lo {
				delay += hi - lo
			}
		}
	}
	return s
}

func TestSeriesHeld(t *testing.T) {
	s := stalled(5*time.Second, [2]time.Duration{1200 * ms, 1550 * ms})
	for _, c := range []struct {
		a, b, want time.Duration
	}{
		{0, 5 * time.Second, 350 * ms},
		{0, 1200 * ms, 0},
		{1300 * ms, 1400 * ms, 100 * ms},
		{1195 * ms, 1205 * ms, 5 * ms}, // interpolated within a sample interval
		{1500 * ms, 9 * time.Second, 50 * ms},
		{-time.Second, 0, 0},
		{2 * time.Second, time.Second, 0},
	} {
		if got := s.Held(c.a, c.b); got != c.want {
			t.Errorf("Held(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// TestRecordOnGuestClock: the offset places guest times on the host's
// clock; stalls come back on the guest's.
func TestRecordOnGuestClock(t *testing.T) {
	const offset = 100 * time.Second // host = guest + 100 s
	s := stalled(5*time.Second, [2]time.Duration{1200 * ms, 1550 * ms}, [2]time.Duration{3 * time.Second, 3010 * ms})
	for i := range s.At {
		s.At[i] += offset
	}
	r := &Record{All: s, Offset: offset, OffsetKnown: true}
	if got := r.Held(3, 1*time.Second, 2*time.Second); got != 350*ms {
		t.Errorf("Held = %v, want 350ms", got)
	}
	st := r.Stalls(50 * ms)
	if len(st) != 1 || st[0].Start != 1200*ms || st[0].End != 1550*ms || st[0].Held != 350*ms {
		t.Errorf("Stalls = %+v, want the one of 350ms at 1.2s (the 10ms one is under the minimum)", st)
	}
	if r.Total() != 360*ms {
		t.Errorf("Total = %v, want 360ms", r.Total())
	}
	unknown := &Record{All: s}
	if unknown.Held(0, 0, time.Hour) != 0 || unknown.Stalls(0) != nil {
		t.Error("a record that cannot be placed on the guest's clock reported held time")
	}
}

// TestRecordPerCPU: with a thread per vCPU (KVM), a gap is charged the
// stalls of its own vCPU; -1 takes the vCPU held off most.
func TestRecordPerCPU(t *testing.T) {
	r := &Record{CPUs: map[int]*Series{
		0: stalled(3*time.Second, [2]time.Duration{time.Second, 2 * time.Second}),
		1: stalled(3*time.Second, [2]time.Duration{time.Second, 1100 * ms}),
	}, OffsetKnown: true}
	if got := r.Held(1, 0, 3*time.Second); got != 100*ms {
		t.Errorf("Held(cpu1) = %v", got)
	}
	if got := r.Held(-1, 0, 3*time.Second); got != time.Second {
		t.Errorf("Held(-1) = %v, want the most held vCPU's 1s", got)
	}
}

// result builds a run result with one cgroup of two workers that ran from
// guest time 10 s for 5 s; worker 101 has the given gaps and failed the gap
// check with limit 2 s, and the cgroup failed the spread check with the
// given spread.
func result(gaps []work.Gap, spread float64) *wire.Result {
	w1 := work.Report{PID: 101, Cgroup: "cg0", Start: 10 * time.Second, WallTime: 5 * time.Second, Gaps: gaps,
		MaxGap: gaps[0].Len, MaxGapAt: gaps[0].At, MaxGapCPU: gaps[0].CPU}
	w2 := work.Report{PID: 102, Cgroup: "cg0", Start: 10 * time.Second, WallTime: 5 * time.Second}
	stats := check.Stats{Cgroups: []check.CgroupStats{{Name: "cg0", Workers: 2, SpreadPct: spread}}}
	stuck := check.Failure{Kind: check.Stuck, Cgroup: "cg0", PID: 101, Message: "cgroup cg0: worker 101 stuck 3000 ms on cpu1 at +4.0 s, limit 2000 ms"}
	unfair := check.Failure{Kind: check.Unfair, Cgroup: "cg0", Message: fmt.Sprintf("cgroup cg0: spread %.0f%% over 2 workers on 2 CPUs, limit 35%%", spread)}
	return &wire.Result{
		Workers:  []work.Report{w1, w2},
		Checks:   &check.Result{Failures: []check.Failure{stuck, unfair}, Stats: stats},
		Failures: []wire.Failure{{Kind: "stuck", Message: stuck.Message}, {Kind: "unfair", Message: unfair.Message}},
	}
}

// host holds the VM off from guest time 11 s to 13.8 s: during worker
// 101's 3 s gap that ended at +4 s (guest 14 s), 2.8 s of it, and 56 % of
// each worker's run.
func host() *Record {
	const offset = -5 * time.Second
	s := stalled(30*time.Second, [2]time.Duration{11*time.Second + offset, 13800*ms + offset})
	return &Record{All: s, Offset: offset, OffsetKnown: true}
}

// limits are the checks in force: gap 2 s, spread 35 %.
var limits = check.Assert{MaxGap: check.Set(2 * time.Second), MaxSpreadPct: check.Set(35.0)}

func TestAdjustDropsGapTheHostMade(t *testing.T) {
	res := result([]work.Gap{{Len: 3 * time.Second, At: 4 * time.Second, CPU: 1}, {Len: 500 * ms, At: 2 * time.Second, CPU: 0}}, 95)
	notes := Adjust(res, host(), limits)
	if len(notes) != 1 || !strings.Contains(notes[0], "cgroup cg0: worker 101's longest gap, 3s on cpu1 at +4.0 s, was 2.8s the host holding the VM off") ||
		!strings.Contains(notes[0], "not a failure") {
		t.Errorf("notes = %q", notes)
	}
	if len(res.Failures) != 1 || res.Failures[0].Kind != "unfair" || len(res.Checks.Failures) != 1 {
		t.Fatalf("failures = %+v; want only the spread left", res.Failures)
	}
	if !strings.Contains(res.Failures[0].Message, "(the host held the VM off for up to 56.0% of a worker's run, which may account for that much of it)") || res.Failures[0].Message != res.Checks.Failures[0].Message {
		t.Errorf("spread failure not annotated alike: %q / %q", res.Failures[0].Message, res.Checks.Failures[0].Message)
	}
	if res.Passed {
		t.Error("passed with the spread failure left")
	}
}

// TestAdjustKeepsGapOfItsOwn: a second gap the host had nothing to do with
// is still over the limit, so the failure stands, saying how much of the
// longest was the host's.
func TestAdjustKeepsGapOfItsOwn(t *testing.T) {
	res := result([]work.Gap{{Len: 3 * time.Second, At: 4 * time.Second, CPU: 1}, {Len: 2500 * ms, At: 800 * ms, CPU: 0}}, 95)
	notes := Adjust(res, host(), limits)
	if len(notes) != 0 || len(res.Failures) != 2 {
		t.Fatalf("notes %q, failures %+v", notes, res.Failures)
	}
	if want := "(the host held the VM off for 2.8s of it, 200ms without)"; !strings.HasSuffix(res.Failures[0].Message, want) {
		t.Errorf("gap failure %q lacks %q", res.Failures[0].Message, want)
	}
}

// TestAdjustIncompleteGaps: when all the listed gaps are over the limit, a
// gap not listed could be too; the failure stands.
func TestAdjustIncompleteGaps(t *testing.T) {
	var gaps []work.Gap
	for i := range work.MaxGaps {
		gaps = append(gaps, work.Gap{Len: 3*time.Second - time.Duration(i)*ms, At: 4 * time.Second, CPU: 1})
	}
	res := result(gaps, 95)
	if notes := Adjust(res, host(), limits); len(notes) != 0 || len(res.Failures) != 2 {
		t.Errorf("notes %q, failures %+v; want the gap failure kept", notes, res.Failures)
	}
}

// TestAdjustNothingToSay: no host stall, or no way to place it, changes
// nothing.
func TestAdjustNothingToSay(t *testing.T) {
	quiet := &Record{All: stalled(30 * time.Second), OffsetKnown: true}
	for name, rec := range map[string]*Record{"quiet": quiet, "nil": nil, "unplaced": {All: host().All}} {
		res := result([]work.Gap{{Len: 3 * time.Second, At: 4 * time.Second, CPU: 1}}, 40)
		before := res.Failures[0].Message + res.Failures[1].Message
		if notes := Adjust(res, rec, limits); len(notes) != 0 || len(res.Failures) != 2 || res.Failures[0].Message+res.Failures[1].Message != before {
			t.Errorf("%s: notes %q, failures %+v", name, notes, res.Failures)
		}
	}
}

// TestAdjustSpreadWithinHostNoise: a 40 % spread against a 35 % limit, in a
// cgroup whose workers the host held off for 56 % of their run, cannot be
// told from noise; the same spread with the host holding off 2 % can.
func TestAdjustSpreadWithinHostNoise(t *testing.T) {
	res := result([]work.Gap{{Len: 100 * ms, At: time.Second, CPU: 1}}, 40)
	res.Checks.Failures, res.Failures = res.Checks.Failures[1:], res.Failures[1:] // the spread only
	notes := Adjust(res, host(), limits)
	if len(notes) != 1 || !strings.Contains(notes[0], "spread 40.0% is over the limit 35%, but the host held the VM off for up to 56.0%") || len(res.Failures) != 0 || !res.Passed {
		t.Errorf("notes %q, failures %+v, passed %v", notes, res.Failures, res.Passed)
	}

	res = result([]work.Gap{{Len: 100 * ms, At: time.Second, CPU: 1}}, 40)
	res.Checks.Failures, res.Failures = res.Checks.Failures[1:], res.Failures[1:]
	brief := &Record{All: stalled(30*time.Second, [2]time.Duration{6 * time.Second, 6100 * ms}), Offset: -5 * time.Second, OffsetKnown: true}
	if notes := Adjust(res, brief, limits); len(notes) != 0 || len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Message, "up to 2.0% of a worker's run") {
		t.Errorf("notes %q, failures %+v", notes, res.Failures)
	}
}

func TestVCPUThreadNames(t *testing.T) {
	for _, c := range []struct {
		comm string
		all  bool
		cpu  int
		ok   bool
	}{
		{"ALL CPUs/TCG", true, -1, true},
		{"CPU 3/KVM", false, 3, true},
		{"CPU 12/TCG", false, 12, true},
		{"qemu-system-x86", false, 0, false},
		{"CPU x/KVM", false, 0, false},
		{"worker", false, 0, false},
	} {
		all, cpu, ok := vcpuThread(c.comm)
		if all != c.all || ok != c.ok || (ok && cpu != c.cpu) {
			t.Errorf("vcpuThread(%q) = %v %d %v", c.comm, all, cpu, ok)
		}
	}
	if d, ok := runDelay([]byte("3248631 8767830 2\n")); !ok || d != 8767830 {
		t.Errorf("runDelay = %v %v", d, ok)
	}
}

// TestSamplerReadsThreads names one of this process's threads as QEMU
// names its single TCG thread, keeps it competing for a CPU with a busy
// sibling, and checks the sampler found it and saw its run delay grow.
func TestSamplerReadsThreads(t *testing.T) {
	named := make(chan struct{})
	// The spinners keep every host CPU busy so the named thread waits
	// for a CPU; an atomic flag (not a select with default) stops them.
	var stop atomic.Bool
	defer stop.Store(true)
	for i := range 2 * runtime.NumCPU() {
		go func() {
			runtime.LockOSThread()
			if i == 0 {
				name, _ := unix.BytePtrFromString("ALL CPUs/TCG")
				if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0); err != nil {
					t.Error(err)
				}
				close(named)
			}
			for !stop.Load() {
			}
		}()
	}
	<-named
	s := Start(os.Getpid(), 1, 5*ms)
	time.Sleep(300 * ms)
	r := s.Stop(0, true)
	if r.All == nil || len(r.All.At) < 10 {
		t.Fatalf("sampler did not find or sample the thread: %+v", r)
	}
	if r.Total() <= 0 {
		t.Errorf("run delay did not grow with twice as many busy threads as CPUs (total %v)", r.Total())
	}
	t.Logf("%d samples, held off %v in 300ms", len(r.All.At), r.Total())
}

// TestHeldIdle: an idle vCPU waits on its own thread and on QEMU's main
// thread, which raises its timer interrupts; the larger delay counts.
func TestHeldIdle(t *testing.T) {
	ms := time.Millisecond
	all, main := &Series{}, &Series{}
	for i := range 11 {
		at := time.Duration(i) * 100 * ms
		all.Add(at, time.Duration(i)*10*ms)  // 10 % held
		main.Add(at, time.Duration(i)*40*ms) // 40 % held
	}
	s := &Sampler{rec: Record{All: all, Main: main}}
	if got := s.Held(0, 0, time.Second); got != 100*ms {
		t.Errorf("Held = %v, want 100ms (the vCPU thread only)", got)
	}
	if got := s.HeldIdle(0, 0, time.Second); got != 400*ms {
		t.Errorf("HeldIdle = %v, want 400ms (the main thread's)", got)
	}
	s.rec.Main = nil
	if got := s.HeldIdle(0, 0, time.Second); got != 100*ms {
		t.Errorf("HeldIdle without a main thread = %v, want 100ms", got)
	}
}

// TestSamplerFindsThreads starts processes whose threads are named as
// QEMU names its own: the vCPU threads start after sampling has begun and
// after the main thread was seen, and under KVM one after another. The
// sampler must find every one.
func TestSamplerFindsThreads(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 to make a process with named threads")
	}
	for _, c := range []struct {
		name  string
		vcpus []string // thread names, started 0.2 s apart
	}{
		{"TCG", []string{"ALL CPUs/TCG"}},
		{"KVM", []string{"CPU 0/KVM", "CPU 1/KVM", "CPU 2/KVM"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			script := `import ctypes, threading, time, sys
def vcpu(name):
    ctypes.CDLL(None).prctl(15, name.encode(), 0, 0, 0)
    time.sleep(30)
for name in sys.argv[1:]:
    time.sleep(0.2)
    threading.Thread(target=vcpu, args=(name,), daemon=True).start()
print("ready", flush=True)
time.sleep(30)
`
			cmd := exec.Command(py, append([]string{"-c", script}, c.vcpus...)...)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			// Sampling starts before the vCPU threads exist, as with QEMU.
			s := Start(cmd.Process.Pid, len(c.vcpus), 5*time.Millisecond)
			if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			rec := s.Stop(0, true)
			if rec.Main == nil || len(rec.Main.At) == 0 {
				t.Errorf("the main thread was not sampled: %+v", rec.Main)
			}
			if c.name == "TCG" {
				if rec.All == nil || len(rec.All.At) == 0 {
					t.Errorf("the vCPU thread started after the main one was not found: %+v", rec.All)
				}
				return
			}
			for cpu := range c.vcpus {
				if ser := rec.CPUs[cpu]; ser == nil || len(ser.At) == 0 {
					t.Errorf("vCPU %d's thread, started %.1f s after the first, was not found: %+v", cpu, 0.2*float64(cpu), rec.CPUs)
				}
			}
		})
	}
}
