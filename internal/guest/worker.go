package guest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/internal/wire"
)

// WorkerEnv is the environment variable that turns the test binary into a
// worker process; its value is the work type.
const WorkerEnv = "KTSTR_WORKER"

// WorkSpin is the CPU-spinning work type.
const WorkSpin = "spin"

// Worker file descriptors, as the child sees them.
const (
	fdStart  = 3 // one byte starts the work; EOF stops it
	fdReport = 4 // the worker writes its JSON report here before exiting
)

// Workers is a group of worker processes started together in one cgroup.
type Workers struct {
	cgroup  string
	work    string
	procs   []*workerProc
	started time.Time
	done    bool
}

type workerProc struct {
	cmd    *exec.Cmd
	start  *os.File // write end of the start pipe
	report *os.File // read end of the report pipe
}

// SpawnWorkers starts n worker processes of the given work type directly
// inside the cgroup directory dir (clone3 with CLONE_INTO_CGROUP, so no work
// is ever done outside it). They wait until [Workers.Start].
func SpawnWorkers(dir, name, work string, n int, stderr io.Writer) (*Workers, error) {
	if n < 1 {
		return nil, fmt.Errorf("spawn workers in %s: count %d, want at least 1", name, n)
	}
	if work != WorkSpin {
		return nil, fmt.Errorf("spawn workers in %s: unknown work type %q (have: %s)", name, work, WorkSpin)
	}
	cg, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("spawn workers: open cgroup %s: %w", name, err)
	}
	defer cg.Close()
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	w := &Workers{cgroup: name, work: work}
	for range n {
		p, err := spawn(self, work, int(cg.Fd()), stderr)
		if err != nil {
			w.Kill()
			return nil, fmt.Errorf("spawn worker in %s: %w", name, err)
		}
		w.procs = append(w.procs, p)
	}
	// Two-phase start: a worker says it is ready once its runtime is up, so
	// Start releases them all at the same moment. Under emulation a Go
	// process takes a good part of a second to get there.
	for _, p := range w.procs {
		_ = p.report.SetReadDeadline(time.Now().Add(readyTimeout))
		var b [1]byte
		if _, err := io.ReadFull(p.report, b[:]); err != nil {
			w.Kill()
			return nil, fmt.Errorf("worker %d in %s did not get ready within %v: %v", p.cmd.Process.Pid, name, readyTimeout, err)
		}
		_ = p.report.SetReadDeadline(time.Time{})
	}
	return w, nil
}

// readyTimeout bounds a worker's start-up.
const readyTimeout = 30 * time.Second

func spawn(self, work string, cgroupFD int, stderr io.Writer) (*workerProc, error) {
	startR, startW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	reportR, reportW, err := os.Pipe()
	if err != nil {
		startR.Close()
		startW.Close()
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), WorkerEnv+"="+work)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.ExtraFiles = []*os.File{startR, reportW}
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cgroupFD, Setpgid: true}
	err = cmd.Start()
	startR.Close()
	reportW.Close()
	if err != nil {
		startW.Close()
		reportR.Close()
		return nil, err
	}
	return &workerProc{cmd: cmd, start: startW, report: reportR}, nil
}

// PIDs returns the workers' process ids.
func (w *Workers) PIDs() []int {
	pids := make([]int, len(w.procs))
	for i, p := range w.procs {
		pids[i] = p.cmd.Process.Pid
	}
	return pids
}

// Start lets every worker begin.
func (w *Workers) Start() error {
	w.started = time.Now()
	for _, p := range w.procs {
		if _, err := p.start.Write([]byte{1}); err != nil {
			return fmt.Errorf("start worker %d: %w", p.cmd.Process.Pid, err)
		}
	}
	return nil
}

// Stop tells every worker to stop and collects their reports. Workers that
// have not reported by the deadline are killed and reported as such.
func (w *Workers) Stop(deadline time.Duration) ([]wire.WorkerReport, error) {
	if w.done {
		return nil, errors.New("workers already stopped")
	}
	w.done = true
	for _, p := range w.procs {
		p.start.Close()
	}
	type res struct {
		i   int
		r   wire.WorkerReport
		err error
	}
	ch := make(chan res, len(w.procs))
	for i, p := range w.procs {
		go func() {
			var r wire.WorkerReport
			err := json.NewDecoder(p.report).Decode(&r)
			ch <- res{i, r, err}
		}()
	}
	reports := make([]wire.WorkerReport, len(w.procs))
	var errs []error
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	got := 0
loop:
	for got < len(w.procs) {
		select {
		case r := <-ch:
			got++
			pid := w.procs[r.i].cmd.Process.Pid
			if r.err != nil {
				errs = append(errs, fmt.Errorf("worker %d in %s sent no report: %v", pid, w.cgroup, r.err))
			}
			r.r.PID, r.r.Cgroup, r.r.Work = pid, w.cgroup, w.work
			reports[r.i] = r.r
		case <-timer.C:
			errs = append(errs, fmt.Errorf("%d of %d workers in %s did not stop within %v; killed", len(w.procs)-got, len(w.procs), w.cgroup, deadline))
			break loop
		}
	}
	w.Kill()
	for _, p := range w.procs {
		p.report.Close()
	}
	return reports, errors.Join(errs...)
}

// Kill kills every worker's process group and reaps them.
func (w *Workers) Kill() {
	for _, p := range w.procs {
		_ = unix.Kill(-p.cmd.Process.Pid, unix.SIGKILL)
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		p.start.Close()
	}
}

// RunWorker is the worker process's main: it waits for the start byte, works
// until told to stop, writes its report and returns.
func RunWorker(work string) error {
	// Keep the Go runtime's own activity out of the measurement: one P, so
	// runtime work never runs in parallel with the loop, and no GC, since the
	// loop does not allocate.
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(-1)
	start := os.NewFile(fdStart, "start")
	report := os.NewFile(fdReport, "report")
	if start == nil || report == nil {
		return errors.New("worker started without its pipes; workers are started by the harness")
	}
	if _, err := report.Write([]byte{'R'}); err != nil {
		return fmt.Errorf("worker: signalling ready: %w", err)
	}
	var b [1]byte
	if _, err := start.Read(b[:]); err != nil {
		return fmt.Errorf("worker: waiting for start: %w", err)
	}
	var stop atomic.Bool
	go func() {
		// EOF (or any read) means stop.
		_, _ = start.Read(b[:])
		stop.Store(true)
	}()
	var r wire.WorkerReport
	switch work {
	case WorkSpin:
		r = spin(&stop)
	default:
		return fmt.Errorf("worker: unknown work type %q", work)
	}
	return json.NewEncoder(report).Encode(r)
}

// spin burns CPU in fixed-size work units and notes the CPU it runs on after
// each one.
func spin(stop *atomic.Bool) wire.WorkerReport {
	var ru0 unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru0)
	t0 := time.Now()
	var cpus [1024 / 64]uint64
	var units, migrations uint64
	last := -1
	x := uint64(t0.UnixNano())
	for !stop.Load() {
		for range 1 << 12 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		units++
		if cpu := getcpu(); cpu >= 0 && cpu < 1024 {
			cpus[cpu/64] |= 1 << (cpu % 64)
			if last >= 0 && cpu != last {
				migrations++
			}
			last = cpu
		}
	}
	runtime.KeepAlive(x) // keeps the compiler from dropping the loop
	wall := time.Since(t0)
	var ru1 unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru1)
	cpuTime := time.Duration(unix.TimevalToNsec(ru1.Utime)+unix.TimevalToNsec(ru1.Stime)) -
		time.Duration(unix.TimevalToNsec(ru0.Utime)+unix.TimevalToNsec(ru0.Stime))
	var list []int
	for i, word := range cpus {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			list = append(list, i*64+b)
			word &^= 1 << b
		}
	}
	return wire.WorkerReport{WorkUnits: units, CPUTime: cpuTime, WallTime: wall, CPUs: list, Migrations: migrations}
}

// getcpu returns the CPU the caller runs on, or -1.
func getcpu() int {
	var cpu, node uint32
	_, _, e := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), uintptr(unsafe.Pointer(&node)), 0)
	if e != 0 {
		return -1
	}
	return int(cpu)
}

// Cgroup returns the name of the workers' cgroup.
func (w *Workers) Cgroup() string { return w.cgroup }
