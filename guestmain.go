package ktstr

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// guestState is the guest side's state: the request and, once the test ran,
// its result.
var guestState struct {
	req    *wire.Request
	result *wire.Result
	topo   *wire.GuestTopology
	port   *guest.Port
}

func inGuest() bool { return guestState.req != nil }

// resultAckTimeout bounds the guest's wait for the host to acknowledge the
// result before it powers off anyway. The host acknowledges as soon as it
// has read the result; only a host that is gone or stopped never does.
const resultAckTimeout = 60 * time.Second

// guestMain is PID 1. It never returns: every path ends in power-off, since
// init exiting would panic the kernel and be misread as a kernel bug.
func guestMain(m *testing.M) {
	start := time.Now()
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "ktstr guest: "+format+"\n", args...)
		_ = guest.PowerOff()
		select {}
	}
	if err := guest.Mount(); err != nil {
		fail("%v", err)
	}
	if err := guest.LinkKernelConfig(guestKernelConfig); err != nil {
		fail("%v", err)
	}
	f, err := guest.OpenPort(wire.PortName)
	if err != nil {
		fail("%v", err)
	}
	p := guest.NewPort(f, start)
	req, err := p.ReadRequest()
	if err != nil {
		fail("reading the request from the host: %v", err)
	}
	_ = p.Send(wire.Message{Kind: wire.KindHello})
	guestState.port = p
	guestState.req = req

	defer func() {
		// A panic in the harness itself: report it rather than die as init.
		if r := recover(); r != nil {
			finishGuest(p, nil, &wire.Result{Failures: []wire.Failure{{Kind: check.Guest,
				Message: fmt.Sprint("harness panic in the guest: ", r), Detail: string(debug.Stack())}}})
		}
	}()
	flush := forwardOutput(p)

	res := &wire.Result{KernelRelease: guest.KernelRelease()}
	got, err := guest.ReadTopology("/sys")
	if err != nil {
		res.Failures = append(res.Failures, wire.Failure{Kind: check.Guest, Message: "reading the guest topology: " + err.Error()})
		finishGuest(p, flush, res)
	}
	res.Topology = got
	guestState.topo = got
	if diff := guest.Diff(guest.Expected(req.Topology), got); diff != nil {
		res.Failures = append(res.Failures, wire.Failure{Kind: check.TopologyMismatch,
			Message: fmt.Sprintf("the guest does not see the requested topology %s", shapeLabel(req.Topology)),
			Detail:  strings.Join(diff, "\n")})
		finishGuest(p, flush, res)
	}

	// Run exactly the requested test through the testing package, so the
	// body runs inside the real *testing.T of the guest.
	os.Args = []string{os.Args[0], "-test.run=" + exactRunPattern(req.Test), "-test.count=1", "-test.timeout=0"}
	if req.Verbose {
		os.Args = append(os.Args, "-test.v")
	}
	m.Run()
	if guestState.result == nil {
		res.Failures = append(res.Failures, wire.Failure{Kind: check.Guest,
			Message: fmt.Sprintf("test %s did not run in the guest: the binary has no such test calling ktstr.Run", req.Test)})
		finishGuest(p, flush, res)
	}
	r := guestState.result
	r.Topology, r.KernelRelease = got, res.KernelRelease
	finishGuest(p, flush, r)
}

// finishGuest sends the result, waits for the host to acknowledge it and
// powers off.
func finishGuest(p *guest.Port, flush func(), r *wire.Result) {
	if flush != nil {
		flush()
	}
	r.Passed = len(r.Failures) == 0
	if err := p.SendResult(r, resultAckTimeout); err != nil {
		// Said on the kernel console, the one channel left that the
		// host reads whatever happened to the port.
		guest.Kmsg(fmt.Sprintf("ktstr: the host did not acknowledge the result (%v); powering off anyway", err))
	}
	_ = guest.PowerOff()
	select {}
}

// forwardOutput points stdout and stderr at a pipe whose contents go to the
// host as output messages. The returned func flushes what is pending.
func forwardOutput(p *guest.Port) (flush func()) {
	r, w, err := os.Pipe()
	if err != nil {
		return func() {}
	}
	_ = unix.Dup3(int(w.Fd()), 1, 0)
	_ = unix.Dup3(int(w.Fd()), 2, 0)
	w.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				_ = p.Send(wire.Message{Kind: wire.KindOutput, Text: string(buf[:n])})
			}
			if err != nil {
				return
			}
		}
	}()
	return func() {
		// Closing 1 and 2 ends the pipe once no child holds them.
		_ = unix.Close(1)
		_ = unix.Close(2)
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
}

// exactRunPattern turns a test name such as "TestX/1n2l2c1t" into a -test.run
// pattern matching only it.
func exactRunPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, s := range parts {
		parts[i] = "^" + regexp.QuoteMeta(s) + "$"
	}
	return strings.Join(parts, "/")
}

func shapeLabel(s wire.Shape) string {
	return Topo(s.Nodes, s.LLCs, s.Cores, s.Threads).String()
}

// guestRun runs one variant's body in the guest and records the result.
func guestRun(t *testing.T, spec Spec, topo Topology, body Body) {
	req := guestState.req
	if t.Name() != req.Test {
		t.Skipf("not the requested test %s", req.Test)
	}
	res := &wire.Result{}
	guestState.result = res
	defer func() {
		if len(res.Failures) > 0 {
			// The host reports the failures; failing here too keeps
			// the guest's own output from saying PASS above them.
			t.Fail()
		}
	}()
	cg, err := guest.NewCgroups(guest.CgroupMount, filepath.Join(guest.CgroupMount, req.CgroupParent))
	if err != nil {
		res.Failures = append(res.Failures, wire.Failure{Kind: check.Guest, Message: err.Error()})
		return
	}
	var sched *guest.Scheduler
	if req.Scheduler != nil {
		s, f := guest.StartScheduler(*req.Scheduler)
		if f != nil {
			res.Failures = append(res.Failures, *f)
			return
		}
		sched = s
		fmt.Printf("ktstr: scheduler %s attached after %v (ops %q)\n", req.Scheduler.Name, s.AttachAfter().Round(time.Millisecond), s.Ops())
		s.SetWatchdog(watchdogInForce(req.Scheduler.Watchdog, s))
		fmt.Printf("ktstr: stall watchdog %s\n", s.Watchdog())
	}
	ctx := &Ctx{
		Topology:  newCPUTopology(guestState.topo),
		Duration:  req.Duration,
		Scheduler: spec.Scheduler.String(),
		Assert:    req.Assert,
		sched:     sched,
		start:     time.Now(),
	}
	ctx.Cgroups = &Cgroups{m: cg, ctx: ctx}
	if sched != nil {
		ctx.SchedulerPID = sched.PID()
	}
	if err := runBody(ctx, body); err != nil {
		res.Failures = append(res.Failures, *err)
	}
	if sched != nil {
		if f := sched.Check(); f != nil {
			// A scheduler failure explains body failures; put it first,
			// saying which phase of the body was running.
			if n := len(ctx.timeline); n > 0 {
				f.Message += fmt.Sprintf(" (in phase %q of the body, %.1fs in)", ctx.timeline[n-1].Name, ctx.Elapsed().Seconds())
			}
			res.Failures = append([]wire.Failure{*f}, res.Failures...)
		}
	}
	ctx.recordPayloads(res)
	left, err := ctx.finish()
	res.Leftovers = append(res.Leftovers, left...)
	if err != nil {
		res.Failures = append(res.Failures, wire.Failure{Kind: check.Guest, Message: "cleaning up after the body: " + err.Error()})
	}
	res.Workers = ctx.all
	res.Timeline = ctx.timeline
	if ctx.checks != nil {
		res.Checks = ctx.checks
		for _, f := range ctx.checks.Failures {
			res.Failures = append(res.Failures, wire.Failure{Kind: f.Kind, Message: f.Message})
		}
	}
	if sched != nil {
		rep := sched.Stop()
		res.Scheduler = &rep
		if rep.FinalState != "disabled" && rep.FinalState != "" {
			// The system must be back on the kernel's fair scheduler.
			res.Failures = append(res.Failures, wire.Failure{Kind: check.SchedulerNotDetached,
				Message: fmt.Sprintf("scheduler %s stopped but sched_ext is still %q: the system did not return to EEVDF", rep.Name, rep.FinalState),
				Detail:  "scheduler output:\n" + rep.Output})
		}
	}
}

// runBody runs body, turning an error or a panic into a failure.
func runBody(ctx *Ctx, body Body) (f *wire.Failure) {
	defer func() {
		if r := recover(); r != nil {
			f = &wire.Failure{Kind: check.Body, Message: fmt.Sprint("test body panicked: ", r), Detail: string(debug.Stack())}
		}
	}()
	if err := body(ctx); err != nil {
		return &wire.Failure{Kind: check.Body, Message: err.Error()}
	}
	return nil
}

// watchdogInForce says which stall watchdog the kernel enforces for the
// attached scheduler s: what the host reads from guest memory, and how it
// came to be (want is the timeout ktstr put into the scheduler's ops, 0 for
// none).
func watchdogInForce(want time.Duration, s *guest.Scheduler) (*wire.Watchdog, string) {
	how := "the scheduler's own"
	setOK := false
	if want > 0 {
		asked, err := s.WatchdogSet()
		switch {
		case err != nil:
			how = fmt.Sprintf("ktstr could not set %v: %v", want, err)
		case asked == 0:
			how, setOK = "set by ktstr in the scheduler's ops, which asked for none (the kernel's default is 30s)", true
		default:
			how, setOK = fmt.Sprintf("set by ktstr in the scheduler's ops, which asked for %v", asked), true
		}
	}
	read, err := readWatchdog()
	switch {
	case err != nil && setOK:
		return nil, fmt.Sprintf("%v (%s; not read back from guest memory: %v)", want, how, err)
	case err != nil:
		return nil, fmt.Sprintf("unknown (%s; not read from guest memory: %v)", how, err)
	}
	text := fmt.Sprintf("%v, checked every %v (read from guest memory; %s)", read.Timeout, read.Interval, how)
	if setOK && read.Timeout != want {
		text += fmt.Sprintf("; not the %v ktstr set", want)
	}
	return read, text
}

// readWatchdog asks the host to read the stall watchdog in force from guest
// memory.
func readWatchdog() (*wire.Watchdog, error) {
	syms, err := guest.KernelSymbols(wire.WatchdogSymbols...)
	if err != nil {
		return nil, err
	}
	r, err := guestState.port.Call(wire.Message{Kind: wire.KindWatchdog, Symbols: syms}, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if r.Watchdog == nil {
		return nil, errors.New("the host's reply holds no watchdog")
	}
	return r.Watchdog, nil
}
