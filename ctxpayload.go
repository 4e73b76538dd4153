package ktstr

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/layout"
	"github.com/ktstr-go/ktstr/internal/logtail"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/payload"
)

// payloadGrace is how long a stopped payload has between SIGINT (most
// tools then print their results) and SIGKILL.
const payloadGrace = 5 * time.Second

// PayloadOption configures one run of a payload.
type PayloadOption func(*payloadConfig)

type payloadConfig struct {
	cgroup  string
	args    []string
	timeout time.Duration
}

// PayloadIn runs the payload in cgroup, which the body must have created.
// Without it, or with "", the payload runs where the harness itself runs
// (the guest's root cgroup), outside the test's cgroups: the harness's
// parent cgroup cannot hold processes, as it passes controllers down to
// the test's cgroups.
func PayloadIn(cgroup string) PayloadOption {
	return func(c *payloadConfig) { c.cgroup = cgroup }
}

// PayloadArgs appends args to the payload's default arguments.
func PayloadArgs(args ...string) PayloadOption {
	return func(c *payloadConfig) { c.args = append(c.args, args...) }
}

// PayloadTimeout stops the payload if it still runs after d: SIGINT to its
// process group, SIGKILL 5 s later. A timeout fails the test. Without it
// the payload may run until the VM's own timeout.
func PayloadTimeout(d time.Duration) PayloadOption {
	return func(c *payloadConfig) { c.timeout = d }
}

// RunPayload runs p in the foreground and returns its result: metrics,
// exit code, the tails of its output and its failures. The failures (a
// failed check, an exit status other than 0 unless p checks the exit code,
// output that does not parse, a timeout) are recorded in the test's
// result and fail the test, as [Ctx.Check] does; the metrics go to the
// test's result file, prefixed with the payload's name ("fio.read.iops").
// The error is for a payload that could not be started.
//
// The binary must have been packed by listing p in Spec.Payloads.
func (c *Ctx) RunPayload(p payload.Payload, opts ...PayloadOption) (*payload.Result, error) {
	h, err := c.StartPayload(p, opts...)
	if err != nil {
		return nil, err
	}
	return h.Wait(), nil
}

// StartPayload starts p in the background, as its own process group in the
// cgroup of [PayloadIn], and returns at once. Its result is recorded when
// it exits, whether or not the body waits for it; a payload still running
// when the body returns is stopped (as [PayloadRun.Kill] does) and noted
// as left behind.
func (c *Ctx) StartPayload(p payload.Payload, opts ...PayloadOption) (*PayloadRun, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var cfg payloadConfig
	for _, o := range opts {
		o(&cfg)
	}
	bin := layout.PayloadPath(p.Name, p.Binary)
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("payload %s: %s is not in the guest: list the payload in Spec.Payloads so the host packs it%s", p.Name, bin, packedPayloads())
	}
	cgDir := ""
	if cfg.cgroup != "" {
		cgDir = c.Cgroups.Path(cfg.cgroup)
		if _, err := os.Stat(cgDir); err != nil {
			return nil, fmt.Errorf("payload %s: %s: %w (create it first with ctx.Cgroups.Create)", p.Name, cgroupLabel(cfg.cgroup), err)
		}
	}

	r := &PayloadRun{ctx: c, p: p, cgroup: cfg.cgroup, done: make(chan struct{})}
	args := append(append([]string(nil), p.Args...), cfg.args...)
	for i, a := range args {
		if !strings.Contains(a, payload.OutFile) {
			continue
		}
		if r.outFile == "" {
			f, err := os.CreateTemp("/tmp", "ktstr-payload-"+p.Name+"-*.out")
			if err != nil {
				return nil, fmt.Errorf("payload %s: output file: %w", p.Name, err)
			}
			f.Close()
			r.outFile = f.Name()
		}
		args[i] = strings.ReplaceAll(a, payload.OutFile, r.outFile)
	}
	r.stdout, r.stderr = newCapture(), newCapture()
	cmd := exec.Command(bin, args...)
	cmd.Dir = "/tmp"
	cmd.Stdout, cmd.Stderr = r.stdout, r.stderr
	cmd.Env = os.Environ()
	if lp, err := os.ReadFile(layout.PayloadLibraryPath); err == nil && len(strings.TrimSpace(string(lp))) > 0 {
		cmd.Env = append(cmd.Env, "LD_LIBRARY_PATH="+strings.TrimSpace(string(lp)))
	}
	// Children that keep the output pipes open must not hold up Wait.
	cmd.WaitDelay = 2 * time.Second
	r.cmd = cmd
	r.start = time.Now()
	if err := guest.StartInCgroup(cmd, cgDir); err != nil {
		if r.outFile != "" {
			os.Remove(r.outFile)
		}
		return nil, fmt.Errorf("payload %s: start %s in %s: %w", p.Name, bin, payloadCgroupLabel(cfg.cgroup), err)
	}
	r.name = c.payloads.name(p.Name)
	c.payloads.started(r)
	go r.supervise(cfg.timeout)
	return r, nil
}

func payloadCgroupLabel(name string) string {
	if name == "" {
		return "the root cgroup"
	}
	return "cgroup " + name
}

// packedPayloads lists the payloads in the guest, for error messages.
func packedPayloads() string {
	var names []string
	ents, _ := os.ReadDir(layout.Payloads)
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return " (none is packed)"
	}
	return " (packed: " + strings.Join(names, ", ") + ")"
}

// PayloadRun is a payload started by [Ctx.StartPayload].
type PayloadRun struct {
	ctx     *Ctx
	p       payload.Payload
	name    string
	cgroup  string
	cmd     *exec.Cmd
	start   time.Time
	outFile string
	stdout  *capture
	stderr  *capture

	mu       sync.Mutex
	exited   bool
	stopping string // "", "killed", "timeout" or "left"
	done     chan struct{}
	result   *payload.Result
}

// Name is the run's name: the payload's, with "#2", "#3", ... for further
// runs of the same payload in one test.
func (r *PayloadRun) Name() string { return r.name }

// PID is the payload's process id (and process group id).
func (r *PayloadRun) PID() int { return r.cmd.Process.Pid }

// Done is closed once the payload has exited and its result is recorded.
func (r *PayloadRun) Done() <-chan struct{} { return r.done }

// Wait waits for the payload to exit and returns its result.
func (r *PayloadRun) Wait() *payload.Result {
	<-r.done
	return r.result
}

// Kill stops the payload, if it still runs, and returns its result: SIGINT
// to its process group, on which the usual tools stop and print what they
// measured, then SIGKILL if it still runs 5 s later. The implicit checks
// (exit status 0, output that parses) do not apply to a killed payload;
// its own checks do.
func (r *PayloadRun) Kill() *payload.Result {
	r.stop("killed")
	return r.Wait()
}

// stop starts stopping the payload unless it has exited or is stopping.
func (r *PayloadRun) stop(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.exited || r.stopping != "" {
		return
	}
	r.stopping = why
	pgid := r.cmd.Process.Pid
	_ = unix.Kill(-pgid, unix.SIGINT)
	go func() {
		select {
		case <-r.done:
		case <-time.After(payloadGrace):
			_ = unix.Kill(-pgid, unix.SIGKILL)
		}
	}()
}

// supervise waits for the payload, stopping it at its timeout, then
// records its result.
func (r *PayloadRun) supervise(timeout time.Duration) {
	waited := make(chan error, 1)
	go func() { waited <- r.cmd.Wait() }()
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-waited:
	case <-expired:
		r.stop("timeout")
		<-waited
	}
	r.mu.Lock()
	r.exited = true
	why := r.stopping
	r.mu.Unlock()
	// Whatever the leader left in its group goes with it.
	_ = unix.Kill(-r.cmd.Process.Pid, unix.SIGKILL)
	r.result = r.finish(why, timeout)
	r.ctx.payloads.finished(r)
	close(r.done)
}

// finish builds the run's result: metrics, checks, failures.
func (r *PayloadRun) finish(why string, timeout time.Duration) *payload.Result {
	ps := r.cmd.ProcessState
	res := &payload.Result{
		Name:     r.name,
		ExitCode: ps.ExitCode(),
		Duration: time.Since(r.start),
		Stdout:   r.stdout.tail(),
		Stderr:   r.stderr.tail(),
		Killed:   why == "killed" || why == "left",
		TimedOut: why == "timeout",
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Signal = ws.Signal().String()
	}
	out := r.stdout.head()
	if r.outFile != "" {
		if b, err := readCapped(r.outFile); err == nil && len(b) > 0 {
			out = b
		}
		os.Remove(r.outFile)
	}
	m, err := payload.Extract(r.p.Output, out, r.stderr.head())
	res.Metrics = m
	fail := func(msg string) {
		res.Failures = append(res.Failures, payload.Failure{Payload: r.name, Message: msg})
	}
	if res.TimedOut {
		fail(fmt.Sprintf("timed out after %v and was stopped", timeout))
	}
	checks := r.p.Checks
	if !res.Killed && !res.TimedOut {
		checks = r.p.EffectiveChecks()
		if err != nil {
			msg := fmt.Sprintf("output (%s): %v", r.p.Output, err)
			if r.stdout.cut || r.stderr.cut {
				msg += fmt.Sprintf(" (output beyond %d MiB was dropped)", payload.MaxOutput>>20)
			}
			fail(msg)
		}
	}
	for _, f := range payload.Evaluate(checks, m, res.ExitCode) {
		f.Payload = r.name
		res.Failures = append(res.Failures, f)
	}
	return res
}

func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, payload.MaxOutput))
}

// payloadRuns is the payloads a test body ran.
type payloadRuns struct {
	mu      sync.Mutex
	count   map[string]int
	running []*PayloadRun
	results []*payload.Result
}

// name names a new run of the payload called base.
func (s *payloadRuns) name(base string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count == nil {
		s.count = map[string]int{}
	}
	s.count[base]++
	if n := s.count[base]; n > 1 {
		return fmt.Sprintf("%s#%d", base, n)
	}
	return base
}

func (s *payloadRuns) started(r *PayloadRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = append(s.running, r)
}

func (s *payloadRuns) finished(r *PayloadRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results = append(s.results, r.result)
}

// recordPayloads stops the payloads the body left running and records
// every payload's result in res: its metrics, its failures, and what was
// left behind. guestRun calls it after the body, before the cleanup.
func (c *Ctx) recordPayloads(res *wire.Result) {
	c.payloads.mu.Lock()
	running := append([]*PayloadRun(nil), c.payloads.running...)
	c.payloads.mu.Unlock()
	for _, r := range running {
		select {
		case <-r.done:
			continue
		default:
		}
		r.stop("left")
		r.Wait()
		res.Leftovers = append(res.Leftovers, fmt.Sprintf("payload %s (pid %d) running in %s", r.name, r.PID(), payloadCgroupLabel(r.cgroup)))
	}
	c.payloads.mu.Lock()
	defer c.payloads.mu.Unlock()
	for _, pr := range c.payloads.results {
		w := wire.PayloadResult{Name: pr.Name, ExitCode: pr.ExitCode, Signal: pr.Signal, Duration: pr.Duration,
			Killed: pr.Killed, TimedOut: pr.TimedOut, Metrics: map[string]float64{}}
		for k, v := range pr.Metrics {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				w.Metrics[k] = v
			}
		}
		res.Payloads = append(res.Payloads, w)
		for _, f := range pr.Failures {
			res.Failures = append(res.Failures, wire.Failure{Kind: check.Payload, Message: f.String(), Detail: outputDetail(pr)})
		}
	}
}

// outputDetail quotes the last lines of a payload's output for a failure.
func outputDetail(r *payload.Result) string {
	var b strings.Builder
	for _, s := range []struct{ name, text string }{{"stdout", r.Stdout}, {"stderr", r.Stderr}} {
		if t := strings.TrimSpace(s.text); t != "" {
			fmt.Fprintf(&b, "--- %s %s (last lines) ---\n%s\n", r.Name, s.name, logtail.LastLines([]byte(t), 20))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// capture keeps the first payload.MaxOutput bytes of a stream, for metric
// extraction, and its last payload.TailBytes, for reports.
type capture struct {
	mu   sync.Mutex
	buf  []byte
	cut  bool
	ring []byte // the last TailBytes, in order
}

func newCapture() *capture { return &capture{} }

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := max(0, payload.MaxOutput-len(c.buf))
	if len(p) > room {
		c.cut = true
	}
	c.buf = append(c.buf, p[:min(room, len(p))]...)
	c.ring = append(c.ring, p[max(0, len(p)-payload.TailBytes):]...)
	if len(c.ring) > payload.TailBytes {
		c.ring = append(c.ring[:0], c.ring[len(c.ring)-payload.TailBytes:]...)
	}
	return len(p), nil
}

func (c *capture) head() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf
}

func (c *capture) tail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.ring)
}
