//go:build linux

package guest

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// RunVariant runs in the guest the body of the variant t is, when t is the
// test the host asked for (it skips every other), and records the result
// that [Init] sends. newBody makes the body once the scheduler runs.
func RunVariant(t *testing.T, newBody func(*Env) Body) {
	req := session.req
	if t.Name() != req.Test {
		t.Skipf("not the requested test %s", req.Test)
	}
	res := &wire.Result{}
	session.result = res
	defer func() {
		switch {
		case len(res.Failures) > 0 && req.ExpectFailure:
			// Printed, not logged: a passing test's log shows only
			// under -v.
			fmt.Printf("ktstr: %d failure(s) recorded; the test expects one, and the host judges whether it is the one\n", len(res.Failures))
		case len(res.Failures) > 0:
			// The host reports the failures; failing here too keeps
			// the guest's own output from saying PASS above them.
			t.Fail()
		}
	}()
	runBody(res, newBody)
}

// runBody runs in the guest what the host asked for: it makes the body's
// cgroups, starts the scheduler under test, runs the body newBody makes and
// records everything in res.
func runBody(res *wire.Result, newBody func(*Env) Body) {
	req := session.req
	cg, err := NewCgroups(CgroupMount, filepath.Join(CgroupMount, req.CgroupParent))
	if err != nil {
		res.Failures = append(res.Failures, wire.Failure{Kind: check.Guest, Message: err.Error()})
		return
	}
	cg.rootControllers = true // the guest's root is the harness's
	env := &Env{Request: req, Topology: session.topo, Cgroups: cg,
		Stdout: streamWriter{wire.KindStdout, session.port.Send},
		Stderr: streamWriter{wire.KindStderr, session.port.Send}}
	startMonitor(req)
	if req.Scheduler != nil {
		s, f := StartScheduler(*req.Scheduler)
		if f != nil {
			res.Failures = append(res.Failures, *f)
			return
		}
		env.Scheduler = s
		attached.Store(s)
		defer attached.Store(nil)
		fmt.Printf("ktstr: scheduler %s attached after %v (ops %q)\n", req.Scheduler.Name, s.AttachAfter().Round(time.Millisecond), s.Ops())
		s.SetWatchdog(watchdogInForce(req.Scheduler.Watchdog, s))
		fmt.Printf("ktstr: stall watchdog %s\n", s.Watchdog())
	}
	body := newBody(env)
	mark(wire.EventBodyStart)
	f := body.Run()
	mark(wire.EventBodyEnd)
	if f != nil {
		res.Failures = append(res.Failures, *f)
	}
	sched := env.Scheduler
	if sched != nil {
		if f := sched.Check(); f != nil {
			// A scheduler failure explains body failures; put it first,
			// saying which phase of the body was running.
			if phase, elapsed := body.Phase(); phase != "" {
				f.Message += fmt.Sprintf(" (in phase %q of the body, %.1fs in)", phase, elapsed.Seconds())
			}
			res.Failures = append([]wire.Failure{*f}, res.Failures...)
		}
	}
	body.Finish(res)
	res.MonitorDump = monitorDump()
	if sched != nil {
		res.SchedulerMaps = sched.maps.Load().failureDump(len(res.Failures) > 0)
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

// watchdogInForce says which stall watchdog the kernel enforces for the
// attached scheduler s: what the host reads from guest memory, and how it
// came to be (want is the timeout ktstr put into the scheduler's ops, 0 for
// none).
func watchdogInForce(want time.Duration, s *Scheduler) (*wire.Watchdog, string) {
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
	syms, err := kernelSymbols()
	if err != nil {
		return nil, err
	}
	r, err := session.port.Call(wire.Message{Kind: wire.KindWatchdog, Symbols: syms}, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if r.Watchdog == nil {
		return nil, errors.New("the host's reply holds no watchdog")
	}
	return r.Watchdog, nil
}
