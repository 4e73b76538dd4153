//go:build linux

package guest

import (
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
	"github.com/ktstr-go/ktstr/internal/layout"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// session is PID 1's state, owned by this file: the host's request, the
// port to the host, the topology the guest sees, and the result of the one
// test that ran.
var session struct {
	req    *wire.Request
	port   *Port
	topo   *wire.GuestTopology
	result *wire.Result
}

// Active reports whether this process is the guest's init, running the test
// the host asked for.
func Active() bool { return session.req != nil }

// Request is the host's request, nil outside the guest.
func Request() *wire.Request { return session.req }

// Takeover runs the role this process has in the guest, when it has one:
// the stall watchdog's supervisor, a worker process, or PID 1 ([Init] with
// m, nil in a binary that is not a test binary). It does not return then.
// Elsewhere (on the host) it returns at once.
func Takeover(m *testing.M) {
	if conf := os.Getenv(OpsTimeoutEnv); conf != "" {
		if err := RunOpsTimeoutSupervisor(conf); err != nil {
			fmt.Fprintln(os.Stderr, "ktstr watchdog supervisor:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if work := os.Getenv(WorkerEnv); work != "" {
		if err := RunWorker(work); err != nil {
			fmt.Fprintln(os.Stderr, "ktstr worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getpid() == 1 {
		Init(m) // never returns
	}
}

// resultAckTimeout bounds the guest's wait for the host to acknowledge the
// result before it powers off anyway. The host acknowledges as soon as it
// has read the result; only a host that is gone or stopped never does.
const resultAckTimeout = 60 * time.Second

// Init is PID 1: it sets the guest up, reads the host's request, checks the
// topology, runs exactly the requested test of m (whose ktstr.Run calls
// [RunVariant]) or the requested registered [Program], sends the result and
// powers off. m is nil in a binary that is not a test binary. Init never
// returns: init exiting would panic the kernel and be misread as a kernel
// bug.
func Init(m *testing.M) {
	start := time.Now()
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "ktstr guest: "+format+"\n", args...)
		_ = PowerOff()
		select {}
	}
	if err := Mount(); err != nil {
		fail("%v", err)
	}
	if err := LinkKernelConfig(layout.KernelConfig); err != nil {
		fail("%v", err)
	}
	setPath()
	f, err := OpenPort(wire.PortName)
	if err != nil {
		fail("%v", err)
	}
	p := NewPort(f, start)
	req, err := p.ReadRequest()
	if err != nil {
		fail("reading the request from the host: %v", err)
	}
	_ = p.Send(wire.Message{Kind: wire.KindHello})
	session.port = p
	session.req = req

	defer func() {
		// A panic in the harness itself: report it rather than die as init.
		if r := recover(); r != nil {
			finish(p, nil, &wire.Result{Failures: []wire.Failure{{Kind: check.Guest,
				Message: fmt.Sprint("harness panic in the guest: ", r), Detail: string(debug.Stack())}}})
		}
	}()
	flush := forwardOutput(p)

	res := &wire.Result{KernelRelease: KernelRelease()}
	got, err := ReadTopology("/sys")
	if err != nil {
		res.Failures = append(res.Failures, wire.Failure{Kind: check.Guest, Message: "reading the guest topology: " + err.Error()})
		finish(p, flush, res)
	}
	res.Topology = got
	session.topo = got
	if diff := Diff(Expected(req.Topology), got); diff != nil {
		res.Failures = append(res.Failures, wire.Failure{Kind: check.TopologyMismatch,
			Message: fmt.Sprintf("the guest does not see the requested topology %s", req.Topology),
			Detail:  strings.Join(diff, "\n")})
		finish(p, flush, res)
	}

	if req.Program != "" {
		runProgram(req.Program, res)
		finish(p, flush, res)
	}
	if m == nil {
		res.Failures = append(res.Failures, wire.Failure{Kind: check.Guest,
			Message: fmt.Sprintf("test %s cannot run: this guest binary is not a test binary", req.Test)})
		finish(p, flush, res)
	}
	// Run exactly the requested test through the testing package, so the
	// body runs inside the real *testing.T of the guest.
	os.Args = []string{os.Args[0], "-test.run=" + exactRunPattern(req.Test), "-test.count=1", "-test.timeout=0"}
	if req.Verbose {
		os.Args = append(os.Args, "-test.v")
	}
	m.Run()
	if session.result == nil {
		res.Failures = append(res.Failures, wire.Failure{Kind: check.Guest,
			Message: fmt.Sprintf("test %s did not run in the guest: the binary has no such test calling ktstr.Run", req.Test)})
		finish(p, flush, res)
	}
	r := session.result
	r.Topology, r.KernelRelease = got, res.KernelRelease
	finish(p, flush, r)
}

// runProgram runs the registered program name into res.
func runProgram(name string, res *wire.Result) {
	prog, ok := lookupProgram(name)
	if !ok {
		res.Failures = append(res.Failures, wire.Failure{Kind: check.Guest,
			Message: fmt.Sprintf("program %q is not registered in this guest binary (the host and guest binaries differ?)", name)})
		return
	}
	session.result = res
	runBody(res, prog)
}

// finish sends the result, waits for the host to acknowledge it and powers
// off.
func finish(p *Port, flush func(), r *wire.Result) {
	if flush != nil {
		flush()
	}
	r.Passed = len(r.Failures) == 0
	if err := p.SendResult(r, resultAckTimeout); err != nil {
		// Said on the kernel console, the one channel left that the
		// host reads whatever happened to the port.
		Kmsg(fmt.Sprintf("ktstr: the host did not acknowledge the result (%v); powering off anyway", err))
	}
	_ = PowerOff()
	select {}
}

// forwardOutput points stdout and stderr at a pipe whose contents go to the
// host as output messages. The returned func flushes what is pending.
func forwardOutput(p *Port) (flush func()) {
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

// setPath puts the payload directories on $PATH, so the body can also run
// payload binaries by name. The kernel starts init without a PATH.
func setPath() {
	var dirs []string
	ents, _ := os.ReadDir(layout.Payloads)
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(layout.Payloads, e.Name()))
		}
	}
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	if len(dirs) > 0 {
		path = strings.Join(dirs, ":") + ":" + path
	}
	os.Setenv("PATH", path)
}
