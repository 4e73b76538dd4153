//go:build linux

package guest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/internal/cpuset"
	"github.com/ktstr-go/ktstr/work"
)

// These tests spawn real worker processes (this test binary, re-executed;
// see TestMain) on the host. With a writable cgroup v2 hierarchy they are
// created inside a fresh cgroup through CLONE_INTO_CGROUP, else without a
// cgroup.

const stuckCustom = "guest-test-ignores-stop"

func init() {
	work.Register(stuckCustom, func(stop *atomic.Bool, r *work.Report) {
		for {
			time.Sleep(time.Hour)
		}
	})
}

// testCgroup returns a new cgroup directory under a writable cgroup2 mount
// (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host), removed
// after the test, or "" when there is none.
func testCgroup(t *testing.T) string {
	t.Helper()
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(root, &st) != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
			continue
		}
		dir := filepath.Join(root, fmt.Sprintf("ktstr-guest-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
		if os.Mkdir(dir, 0o755) != nil {
			continue
		}
		t.Cleanup(func() {
			for range 50 {
				if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Errorf("cgroup %s left behind", dir)
		})
		return dir
	}
	t.Log("no writable cgroup2 hierarchy: workers spawned without a cgroup")
	return ""
}

// checkGone fails t if any worker process or anything in its process
// group still exists.
func checkGone(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if err := unix.Kill(pid, 0); err != unix.ESRCH {
			t.Errorf("worker %d still exists (kill 0: %v)", pid, err)
		}
		if err := unix.Kill(-pid, 0); err != unix.ESRCH {
			t.Errorf("process group %d still has members (kill 0: %v)", pid, err)
		}
	}
}

// wakeKinds record wake-up latencies (every worker but messengers; for
// mutex-contention only the workers that had to wait).
var wakeKinds = []work.Kind{
	work.IOSyncKind, work.BurstyKind, work.PipePingPongKind, work.FutexPingPongKind, work.CacheYieldKind,
	work.CachePipeKind, work.FutexFanOutKind, work.FanOutComputeKind, work.ForkExitKind, work.NiceSweepKind,
	work.AffinityChurnKind, work.PolicyChurnKind, work.MutexContentionKind, work.SequenceKind,
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// TestEveryWorkType runs each work type with its reference defaults for
// 300 ms and checks that every report is plausible.
func TestEveryWorkType(t *testing.T) {
	const run = 300 * time.Millisecond
	cg := testCgroup(t)
	for _, k := range work.AllKinds() {
		t.Run(string(k), func(t *testing.T) {
			var typ work.Type
			switch k {
			case work.SequenceKind:
				typ = work.Sequence(work.SpinFor(20*time.Millisecond), work.SleepFor(5*time.Millisecond),
					work.YieldFor(5*time.Millisecond), work.IOFor(5*time.Millisecond))
			case work.CustomKind:
				typ = work.Custom(testCustom)
			default:
				var err error
				if typ, err = k.Default(); err != nil {
					t.Fatal(err)
				}
			}
			n := typ.GroupSize()
			if n == 1 {
				n = 2
			}
			w, err := SpawnGroup(cg, "test", work.Group{Type: typ, Workers: n}, nil, nil, os.Stderr)
			if err != nil {
				t.Fatal(err)
			}
			pids := w.PIDs()
			if err := w.Start(); err != nil {
				w.Kill()
				t.Fatal(err)
			}
			time.Sleep(run / 2)
			if cg != "" {
				b, _ := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
				in := strings.Fields(string(b))
				for _, pid := range pids {
					if !slices.Contains(in, strconv.Itoa(pid)) {
						t.Errorf("worker %d not in cgroup %s (has %v)", pid, cg, in)
					}
				}
			}
			time.Sleep(run / 2)
			reports, err := w.Collect(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			checkGone(t, pids)
			if len(reports) != n {
				t.Fatalf("%d reports for %d workers", len(reports), n)
			}
			var units uint64
			var wall time.Duration
			var lat []time.Duration
			var samples uint64
			for i, r := range reports {
				units += r.WorkUnits
				wall = max(wall, r.WallTime)
				lat = append(lat, r.WakeLatencies...)
				samples += r.WakeSamples
				if r.Index != i || r.PID != pids[i] || r.Kind != k || r.Cgroup != "test" {
					t.Errorf("worker %d: index %d pid %d kind %q cgroup %q, want %d %d %q test", i, r.Index, r.PID, r.Kind, r.Cgroup, i, pids[i], k)
				}
				if r.WorkUnits == 0 {
					t.Errorf("worker %d: no work units", i)
				}
				if len(r.CPUs) == 0 || (r.Checkpoints == 0 && k != work.CustomKind) {
					t.Errorf("worker %d: CPUs %v after %d checkpoints", i, r.CPUs, r.Checkpoints)
				}
				// Generous above: a loaded host (CI beside other
				// jobs) delays the stop; far later means it was missed.
				if r.WallTime < run/2 || r.WallTime > run+5*time.Second {
					t.Errorf("worker %d: wall time %v for a %v run", i, r.WallTime, run)
				}
				if r.CPUTime <= 0 || r.OffCPU != max(r.WallTime-r.CPUTime, 0) {
					t.Errorf("worker %d: cpu %v off-cpu %v wall %v", i, r.CPUTime, r.OffCPU, r.WallTime)
				}
				if r.MaxGap < 0 || r.MaxGap > r.WallTime || r.MaxGapAt > r.WallTime {
					t.Errorf("worker %d: max gap %v at %v of %v", i, r.MaxGap, r.MaxGapAt, r.WallTime)
				}
				if _, ok := readSchedstat(); ok && r.Timeslices == 0 {
					t.Errorf("worker %d: no timeslices (schedstat)", i)
				}
				if r.Messenger != typ.IsMessenger(i) {
					t.Errorf("worker %d: messenger %v", i, r.Messenger)
				}
				if uint64(len(r.WakeLatencies)) > r.WakeSamples || len(r.WakeLatencies) > wakeReservoirCap {
					t.Errorf("worker %d: %d latencies of %d samples", i, len(r.WakeLatencies), r.WakeSamples)
				}
				sampling := slices.Contains(wakeKinds, k) && !r.Messenger && k != work.MutexContentionKind
				if sampling && r.WakeSamples == 0 {
					t.Errorf("worker %d: no wake-up latencies", i)
				}
				if !slices.Contains(wakeKinds, k) && r.WakeSamples != 0 {
					t.Errorf("worker %d: %d wake-up latencies from a kind that does not wait", i, r.WakeSamples)
				}
				if r.Exit != "" {
					t.Errorf("worker %d: exit %q", i, r.Exit)
				}
				checkProgress(t, i, r)
			}
			if k == work.MutexContentionKind && samples == 0 {
				t.Errorf("no contended waits among %d contenders", n)
			}
			t.Logf("%-55v %d workers: %9.0f units/s, wake p50 %-9v p99 %-9v (%d samples), max gap %v, CPUs %s",
				typ, n, float64(units)/wall.Seconds(), percentile(lat, 0.5), percentile(lat, 0.99), samples,
				slices.MaxFunc(reports, func(a, b work.Report) int { return int(a.MaxGap - b.MaxGap) }).MaxGap.Round(time.Microsecond),
				cpuset.Format(slices.Concat(mapCPUs(reports)...)))
		})
	}
}

// checkProgress checks a worker's progress series: from 0 at the boundary
// at or before its start to WorkUnits at its stop, never decreasing. A
// custom function's count is its own: it has none.
func checkProgress(t *testing.T, i int, r work.Report) {
	t.Helper()
	p := r.Progress
	if r.Kind == work.CustomKind {
		if p.Units != nil {
			t.Errorf("worker %d: custom work has a progress series %+v", i, p)
		}
		return
	}
	n := len(p.Units)
	if n < 2 || p.Every != 100*time.Millisecond || p.Start%p.Every != 0 || p.Start > r.Start || p.Start+p.Every <= r.Start {
		t.Errorf("worker %d started at %v: progress %+v, want points every 100ms from the boundary before the start", i, r.Start, p)
		return
	}
	if p.Units[0] != 0 || p.Units[n-1] != r.WorkUnits || !slices.IsSorted(p.Units) {
		t.Errorf("worker %d: progress %v, want from 0 up to %d", i, p.Units, r.WorkUnits)
	}
	// Wall time is read just after the stop's checkpoint.
	if end := r.Start + r.WallTime; p.End < r.Start || p.End > end || p.End <= p.At(n-2) || p.End > p.At(n-2)+p.Every {
		t.Errorf("worker %d: last point at %v after %v, want in the last bucket and by the end %v", i, p.End, p.At(n-2), end)
	}
}

func mapCPUs(rs []work.Report) [][]int {
	out := make([][]int, len(rs))
	for i, r := range rs {
		out[i] = r.CPUs
	}
	return out
}

// TestSpawnGroupSettings checks that policy and affinity reach every
// thread of every worker, and that a memory policy brings NUMA page counts.
func TestSpawnGroupSettings(t *testing.T) {
	cg := testCgroup(t)
	g := work.Group{Type: work.Spin(), Workers: 2, Policy: work.Batch, Affinity: work.SingleCPU, MemPolicy: work.MemLocal}
	aff, err := ResolveAffinity(g.Affinity, 2, nil, []int{0}, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	w, err := SpawnGroup(cg, "test", g, aff, []int{0}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Kill()
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	for _, pid := range w.PIDs() {
		tids, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if len(tids) < 2 {
			t.Errorf("worker %d: %d threads; expected the Go runtime's few", pid, len(tids))
		}
		for _, e := range tids {
			tid, _ := strconv.Atoi(e.Name())
			attr, err := unix.SchedGetAttr(tid, 0)
			if err != nil {
				t.Fatal(err)
			}
			if attr.Policy != schedBatch {
				t.Errorf("worker %d thread %d: policy %d, want SCHED_BATCH", pid, tid, attr.Policy)
			}
			var set unix.CPUSet
			if err := unix.SchedGetaffinity(tid, &set); err != nil {
				t.Fatal(err)
			}
			if set.Count() != 1 || !set.IsSet(0) {
				t.Errorf("worker %d thread %d: affinity of %d CPUs, want CPU 0", pid, tid, set.Count())
			}
		}
	}
	time.Sleep(100 * time.Millisecond)
	rs, err := w.Collect(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if !slices.Equal(r.CPUs, []int{0}) || !slices.Equal(r.ExpectedCPUs, []int{0}) {
			t.Errorf("worker %d: CPUs %v expected %v, want [0] [0]", r.PID, r.CPUs, r.ExpectedCPUs)
		}
		if r.NUMAPages[0] == 0 {
			t.Errorf("worker %d: NUMA pages %v, want some on node 0", r.PID, r.NUMAPages)
		}
	}
	// Two spinners on one CPU share it: each waits about half the time.
	if _, ok := readSchedstat(); ok && rs[0].RunDelay+rs[1].RunDelay < 50*time.Millisecond {
		d := rs[0].RunDelay + rs[1].RunDelay
		t.Errorf("two spinners on one CPU waited %v in total on its run queue", d)
	}
	t.Logf("two spinners on CPU 0: %d and %d units, run delay %v and %v, max gap %v and %v",
		rs[0].WorkUnits, rs[1].WorkUnits, rs[0].RunDelay, rs[1].RunDelay, rs[0].MaxGap, rs[1].MaxGap)
}

// TestSpawnGroupFIFO checks a real-time policy with its priority, and
// that a SCHED_FIFO spinner alone on its CPU, which starves every other
// thread of its process there, still stops at once (the stop flag is in
// memory the parent writes).
func TestSpawnGroupFIFO(t *testing.T) {
	w, err := SpawnGroup("", "test", work.Group{Type: work.Spin(), Workers: 1, Policy: work.FIFO(3)}, [][]int{{0}}, nil, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Kill()
	pid := w.PIDs()[0]
	attr, err := unix.SchedGetAttr(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	if attr.Policy != schedFIFO || attr.Priority != 3 {
		t.Errorf("policy %d priority %d, want SCHED_FIFO 3", attr.Policy, attr.Priority)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	t0 := time.Now()
	rs, err := w.Collect(3 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("stopping a FIFO spinner took %v", d)
	}
	if rs[0].WorkUnits == 0 || !slices.Equal(rs[0].CPUs, []int{0}) {
		t.Errorf("units %d on CPUs %v, want some on [0]", rs[0].WorkUnits, rs[0].CPUs)
	}
	t.Logf("FIFO spinner on CPU 0: %d units, max gap %v, stopped in %v", rs[0].WorkUnits, rs[0].MaxGap, time.Since(t0))
}

// TestCollectBeforeStart checks that a group stopped before it started
// reports so.
func TestCollectBeforeStart(t *testing.T) {
	w, err := SpawnGroup("", "test", work.Group{Type: work.FutexPingPong(1), Workers: 2}, nil, nil, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	pids := w.PIDs()
	rs, err := w.Collect(3 * time.Second)
	if err == nil || !strings.Contains(err.Error(), "stopped before the start") {
		t.Errorf("error %v, want stopped before the start", err)
	}
	for _, r := range rs {
		if r.Exit != "stopped before the start" || r.WorkUnits != 0 {
			t.Errorf("report %+v", r)
		}
	}
	checkGone(t, pids)
}

// TestSpawnGroupInvalid checks that bad groups fail before any process is
// created, with messages that say what is wrong.
func TestSpawnGroupInvalid(t *testing.T) {
	for _, c := range []struct {
		g    work.Group
		want string
	}{
		{work.Group{Type: work.PipePingPong(1024), Workers: 3}, "pipe-ping-pong needs a worker count divisible by 2, got 3"},
		{work.Group{Type: work.FutexFanOut(4, 1024), Workers: 4}, "futex-fan-out needs a worker count divisible by 5, got 4"},
		{work.Group{Type: work.Custom("nope")}, `custom work "nope" is not registered (registered: ` + testCustom},
		{work.Group{Policy: work.FIFO(0)}, "priority from 1 to 99"},
	} {
		_, err := SpawnGroup("", "test", c.g, nil, nil, os.Stderr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.g, err, c.want)
		}
	}
	if _, err := SpawnGroup("", "test", work.Group{Workers: 2}, [][]int{{0}}, nil, os.Stderr); err == nil {
		t.Error("one affinity entry for two workers: no error")
	}
	if _, err := unix.Wait4(-1, nil, unix.WNOHANG, nil); err != unix.ECHILD {
		t.Errorf("children left: wait4: %v", err)
	}
}

// TestSpawnGroupSetupError checks that a worker's set-up failure (here an
// affinity to a CPU that does not exist) comes back from SpawnGroup and
// leaves no process.
func TestSpawnGroupSetupError(t *testing.T) {
	_, err := SpawnGroup("", "test", work.Group{Workers: 1}, [][]int{{1000}}, nil, os.Stderr)
	if err == nil || !strings.Contains(err.Error(), "set-up failed: sched_setaffinity") {
		t.Fatalf("error %v, want a set-up failure", err)
	}
	if _, err := unix.Wait4(-1, nil, unix.WNOHANG, nil); err != unix.ECHILD {
		t.Errorf("children left: wait4: %v", err)
	}
}

// TestCollectInterruptsSleep checks that a worker in a long sleep stops at
// once rather than at the end of its sleep.
func TestCollectInterruptsSleep(t *testing.T) {
	w, err := SpawnGroup("", "test", work.Group{Type: work.Bursty(time.Millisecond, 20*time.Second), Workers: 1}, nil, nil, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		w.Kill()
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	t0 := time.Now()
	rs, err := w.Collect(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("stop took %v", d)
	}
	if rs[0].WorkUnits == 0 || rs[0].WakeSamples != 0 {
		t.Errorf("units %d, wake samples %d: want some units and no sample of the interrupted sleep", rs[0].WorkUnits, rs[0].WakeSamples)
	}
}

// TestCollectDeadline checks that a worker ignoring the stop is killed at
// the deadline and reported as such.
func TestCollectDeadline(t *testing.T) {
	w, err := SpawnGroup("", "test", work.Group{Type: work.Custom(stuckCustom), Workers: 2}, nil, []int{0, 1}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	pids := w.PIDs()
	if err := w.Start(); err != nil {
		w.Kill()
		t.Fatal(err)
	}
	t0 := time.Now()
	rs, err := w.Collect(200 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "killed after the stop deadline") {
		t.Errorf("error %v, want killed after the deadline", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("collect took %v", d)
	}
	for i, r := range rs {
		if r.PID != pids[i] || r.Exit == "" || r.Kind != work.CustomKind || !slices.Equal(r.ExpectedCPUs, []int{0, 1}) {
			t.Errorf("report %d: %+v", i, r)
		}
	}
	checkGone(t, pids)
	if _, err := w.Collect(time.Second); err == nil {
		t.Error("second collect: no error")
	}
}
