//go:build linux

package guest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ktstr-go/ktstr/internal/env"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/work"
)

// WorkerEnv is the environment variable that turns the test binary into a
// worker process. Its value is the worker's configuration (JSON), or, as
// before, a bare work kind name such as "spin".
const WorkerEnv = env.Worker

// Worker file descriptors, as the child sees them.
const (
	fdStart  = 3 // one byte starts the work; end of file stops it
	fdReport = 4 // 'R' when ready (or 'E' and an error), then the JSON report
	// Further descriptors (the group's memfd, pipe ends) follow from 5 on;
	// the configuration names them.
	fdFirstExtra = 5
)

// readyTimeout bounds a worker's start-up. Under emulation a Go process
// takes a good part of a second to get ready.
const readyTimeout = 30 * time.Second

// workerConfig is what the parent tells one worker, in WorkerEnv.
type workerConfig struct {
	Type      work.Type      `json:"type"`
	Index     int            `json:"index"`
	Workers   int            `json:"workers"`
	Policy    work.Policy    `json:"policy,omitzero"`
	MemPolicy work.MemPolicy `json:"mem_policy,omitzero"`
	// CPUs is the worker's resolved affinity; empty inherits.
	CPUs []int `json:"cpus,omitempty"`
	// SharedFD is the group's memfd, PipeIn and PipeOut the pair's pipe
	// ends; 0 when not used.
	SharedFD int `json:"shared_fd,omitempty"`
	PipeIn   int `json:"pipe_in,omitempty"`
	PipeOut  int `json:"pipe_out,omitempty"`
}

// Workers is a work group's worker processes, created in one cgroup and
// started together.
type Workers struct {
	cgroup   string
	group    work.Group
	expected []int
	procs    []*workerProc
	shared   []byte // the group's memfd, mapped: the stop flag, the slots
	done     bool
	killOnce sync.Once
}

type workerProc struct {
	cmd    *exec.Cmd
	index  int
	start  *os.File // write end of the start pipe
	report *os.File // read end of the report pipe
}

// SpawnGroup creates the worker processes of g directly inside the cgroup
// directory cgroupDir (clone3 with CLONE_INTO_CGROUP, so no work is ever
// done outside it); cgroupDir "" leaves them in the caller's cgroup.
// cgroupName is what reports and errors call the cgroup.
//
// affinity gives each worker's CPUs, resolved from g.Affinity (see
// [ResolveAffinity]): nil, or one entry per worker, an empty entry
// inheriting the cgroup's cpuset. expectedCPUs is the cgroup's cpuset,
// copied into every report for isolation checks (nil: none known).
// The workers' stdout and stderr go to stderr (nil discards them).
//
// The workers apply g's policy, affinity and memory policy, map their
// buffers, say they are ready and wait for [Workers.Start]. An error in
// any of that is returned here, and no worker is left running.
func SpawnGroup(cgroupDir, cgroupName string, g work.Group, affinity [][]int, expectedCPUs []int, stderr io.Writer) (*Workers, error) {
	if g.Type.Kind == "" {
		g.Type.Kind = work.SpinKind
	}
	n := g.WorkerCount()
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("work group in %s: %w", cgroupName, err)
	}
	if affinity != nil && len(affinity) != n {
		return nil, fmt.Errorf("work group in %s: %d affinity entries for %d workers", cgroupName, len(affinity), n)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cgroupFD := -1
	if cgroupDir != "" {
		cg, err := os.Open(cgroupDir)
		if err != nil {
			return nil, fmt.Errorf("spawn workers: open cgroup %s: %w", cgroupName, err)
		}
		defer cg.Close()
		cgroupFD = int(cg.Fd())
	}

	// The group's shared memory (control page, slots), created here so
	// that all the group's workers inherit it; the parent keeps a mapping
	// to set the stop flag.
	fd, err := unix.MemfdCreate("ktstr-work-group", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("work group in %s: memfd: %w", cgroupName, err)
	}
	shared := os.NewFile(uintptr(fd), "ktstr-work-group")
	defer shared.Close()
	size := sharedSize(g.Type, n)
	if err := shared.Truncate(int64(size)); err != nil {
		return nil, fmt.Errorf("work group in %s: memfd: %w", cgroupName, err)
	}
	ctl, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("work group in %s: mapping the memfd: %w", cgroupName, err)
	}
	w := &Workers{cgroup: cgroupName, group: g, expected: slices.Clone(expectedCPUs), shared: ctl}
	var pipes []*os.File // per worker: its read end, then its write end
	defer func() {
		for _, f := range pipes {
			if f != nil {
				f.Close()
			}
		}
	}()
	if pipeKind(g.Type.Kind) {
		pipes = make([]*os.File, 2*n)
		for i := 0; i < n; i += 2 {
			// a: i to i+1; b: i+1 to i.
			ar, aw, err := os.Pipe()
			if err != nil {
				w.Kill()
				return nil, err
			}
			br, bw, err := os.Pipe()
			if err != nil {
				ar.Close()
				aw.Close()
				w.Kill()
				return nil, err
			}
			pipes[2*i], pipes[2*i+1] = br, aw
			pipes[2*(i+1)], pipes[2*(i+1)+1] = ar, bw
		}
	}
	for i := range n {
		cfg := workerConfig{Type: g.Type, Index: i, Workers: n, Policy: g.Policy, MemPolicy: g.MemPolicy}
		if affinity != nil {
			cfg.CPUs = affinity[i]
		}
		cfg.SharedFD = fdFirstExtra
		extra := []*os.File{shared}
		if pipes != nil {
			cfg.PipeIn = fdFirstExtra + len(extra)
			cfg.PipeOut = cfg.PipeIn + 1
			extra = append(extra, pipes[2*i], pipes[2*i+1])
		}
		p, err := spawnWorker(self, cfg, extra, cgroupFD, stderr)
		if pipes != nil {
			// These ends belong to worker i alone: the parent's copies
			// would keep a pair's pipe open after a worker is gone.
			pipes[2*i].Close()
			pipes[2*i+1].Close()
			pipes[2*i], pipes[2*i+1] = nil, nil
		}
		if err != nil {
			w.Kill()
			return nil, fmt.Errorf("spawn worker %d in %s: %w", i, cgroupName, err)
		}
		w.procs = append(w.procs, p)
	}
	// Two-phase start: a worker says it is ready once it has applied its
	// settings and mapped its buffers, so Start releases them all at the
	// same moment.
	for _, p := range w.procs {
		if err := p.awaitReady(); err != nil {
			w.Kill()
			return nil, fmt.Errorf("worker %d (pid %d) in %s: %w", p.index, p.cmd.Process.Pid, cgroupName, err)
		}
	}
	return w, nil
}

func spawnWorker(self string, cfg workerConfig, extra []*os.File, cgroupFD int, stderr io.Writer) (*workerProc, error) {
	env, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
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
	cmd.Env = append(withoutWorkerEnv(os.Environ()), WorkerEnv+"="+string(env))
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.ExtraFiles = append([]*os.File{startR, reportW}, extra...)
	// Setpgid: a worker and anything it forks form one process group, which
	// Kill ends as a whole.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cgroupFD >= 0 {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, cgroupFD
	}
	err = cmd.Start()
	startR.Close()
	reportW.Close()
	if err != nil {
		startW.Close()
		reportR.Close()
		return nil, err
	}
	return &workerProc{cmd: cmd, index: cfg.Index, start: startW, report: reportR}, nil
}

// withoutWorkerEnv drops an inherited WorkerEnv (a worker spawning workers).
func withoutWorkerEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, WorkerEnv+"=") })
}

// awaitReady reads the worker's ready byte, or its set-up error.
func (p *workerProc) awaitReady() error {
	_ = p.report.SetReadDeadline(time.Now().Add(readyTimeout))
	defer p.report.SetReadDeadline(time.Time{})
	var b [1]byte
	if _, err := io.ReadFull(p.report, b[:]); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("not ready within %v", readyTimeout)
		}
		return fmt.Errorf("exited before getting ready (%v)", err)
	}
	switch b[0] {
	case 'R':
		return nil
	case 'E':
		msg, _ := io.ReadAll(io.LimitReader(p.report, 4096))
		return fmt.Errorf("set-up failed: %s", bytes.TrimSpace(msg))
	}
	return fmt.Errorf("bad ready byte %q", b[0])
}

// PIDs returns the workers' process ids, by index.
func (w *Workers) PIDs() []int {
	pids := make([]int, len(w.procs))
	for i, p := range w.procs {
		pids[i] = p.cmd.Process.Pid
	}
	return pids
}

// Cgroup returns the name of the workers' cgroup.
func (w *Workers) Cgroup() string { return w.cgroup }

// Group returns the work group the workers run.
func (w *Workers) Group() work.Group { return w.group }

// Start lets every worker begin.
func (w *Workers) Start() error {
	for _, p := range w.procs {
		if _, err := p.start.Write([]byte{1}); err != nil {
			return fmt.Errorf("start worker %d: %w", p.cmd.Process.Pid, err)
		}
	}
	return nil
}

// Collect tells every worker to stop (it closes their start pipes), and
// returns one report per worker, by index, with PID, Cgroup, Index, Kind,
// Messenger and ExpectedCPUs filled in. Workers that have not reported
// within deadline are killed; their reports carry only those fields and
// Exit says what happened. Finally every worker's process group is killed
// and reaped, so nothing a worker forked outlives it. The error lists the
// workers that did not report, and those whose loop failed (Exit set).
func (w *Workers) Collect(deadline time.Duration) ([]work.Report, error) {
	if w.done {
		return nil, errors.New("workers already stopped")
	}
	w.done = true
	w.signalStop()
	for _, p := range w.procs {
		p.start.Close()
	}
	type res struct {
		i   int
		r   work.Report
		err error
	}
	ch := make(chan res, len(w.procs))
	for i, p := range w.procs {
		go func() {
			var r work.Report
			err := json.NewDecoder(p.report).Decode(&r)
			ch <- res{i, r, err}
		}()
	}
	reports := make([]work.Report, len(w.procs))
	got := make([]bool, len(w.procs))
	var errs []error
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	pending := len(w.procs)
loop:
	for pending > 0 {
		select {
		case r := <-ch:
			pending--
			got[r.i] = true
			if r.err != nil {
				reports[r.i].Exit = fmt.Sprintf("exited without a report (%v)", r.err)
			} else {
				reports[r.i] = r.r
			}
		case <-timer.C:
			break loop
		}
	}
	w.Kill()
	for i, p := range w.procs {
		r := &reports[i]
		r.PID, r.Cgroup, r.Index, r.Kind = p.cmd.Process.Pid, w.cgroup, p.index, w.group.Type.Kind
		r.Messenger = w.group.Type.IsMessenger(p.index)
		r.ExpectedCPUs = slices.Clone(w.expected)
		if !got[i] {
			r.Exit = fmt.Sprintf("killed after the stop deadline (%v)", deadline)
		}
		if r.Exit != "" {
			errs = append(errs, fmt.Errorf("worker %d (pid %d) in %s: %s", p.index, r.PID, w.cgroup, r.Exit))
		}
		p.report.Close()
	}
	return reports, errors.Join(errs...)
}

// signalStop sets the group's stop flag and wakes every worker waiting on
// a futex word of the group.
func (w *Workers) signalStop() {
	if w.shared != nil {
		stopStamp(w.shared).CompareAndSwap(0, nanotime())
		stopFlag(w.shared).Store(true)
		wakeGroup(w.shared)
	}
}

// Kill kills every worker's process group and reaps the workers. It is
// safe to call more than once.
func (w *Workers) Kill() {
	w.killOnce.Do(func() {
		for _, p := range w.procs {
			_ = unix.Kill(-p.cmd.Process.Pid, unix.SIGKILL)
			_ = p.cmd.Process.Kill()
		}
		for _, p := range w.procs {
			_ = p.cmd.Wait()
			p.start.Close()
		}
		if w.shared != nil {
			_ = unix.Munmap(w.shared)
			w.shared = nil
		}
	})
}

// AllowCPUs widens the CPUs the workers may be seen on (their cgroup's
// cpuset grew or moved); nil means any CPU.
func (w *Workers) AllowCPUs(cpus []int) {
	if cpus == nil || w.expected == nil {
		w.expected = nil
		return
	}
	w.expected = append(w.expected, cpus...)
	slices.Sort(w.expected)
	w.expected = slices.Compact(w.expected)
}
