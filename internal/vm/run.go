// Package vm boots a kernel in QEMU with a given CPU topology, hands the guest
// its request over virtio-serial and collects what the guest reports.
//
// It is the host side of ktstr: it owns every QEMU process, socket and guest
// RAM file it creates and removes them on every path, including a guest
// panic, a timeout and the caller's cancellation.
package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/hostnoise"
	"github.com/ktstr-go/ktstr/internal/logtail"
	"github.com/ktstr-go/ktstr/internal/monitor"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// Config describes one VM run.
type Config struct {
	// QEMU is the qemu-system-x86_64 binary; found on $PATH when empty.
	QEMU string
	// Kernel is the image to boot: an ELF vmlinux with a PVH note (fastest)
	// or a bzImage.
	Kernel string
	// Initrd is the initramfs.
	Initrd string
	// Cmdline is appended to [BaseCmdline].
	Cmdline string
	// Topology is the guest's CPU topology.
	Topology wire.Shape
	// MemoryMB is the guest's RAM.
	MemoryMB int
	// Accel is the accelerator; see [ChooseAccel].
	Accel Accel
	// Deterministic runs TCG with -icount, so guest time follows
	// instructions executed rather than the host's clock: each one
	// counts 2^ICountShift ns (see DefaultICountShift).
	Deterministic bool
	ICountShift   int
	// Request is sent to the guest when it connects.
	Request wire.Request
	// BootTimeout bounds the time from QEMU's start to the guest's hello.
	// A boot that misses it is retried once.
	BootTimeout time.Duration
	// Timeout bounds the whole run once the guest said hello.
	Timeout time.Duration
	// Dir is where the run's scratch directory (the port's socket) is
	// made; "" means the system's temporary directory.
	Dir string
	// Vmlinux is the kernel's ELF with BTF, for struct layouts the host
	// needs to read guest kernel state; HZ its tick rate.
	Vmlinux string
	HZ      int
	// OnMessage, when set, sees every guest message as it arrives.
	OnMessage func(wire.Message)
	// Console, when set, gets a live copy of the kernel console.
	Console io.Writer
	// Stdin, when set, is the console's input: what a user types into
	// the guest's serial console. A file, not any reader: QEMU reads it
	// itself, and no copy blocked in a read outlives the run.
	Stdin *os.File
}

// Outcome is what a VM run produced.
type Outcome struct {
	// Result is the guest's result; nil when the guest never sent one.
	Result *wire.Result
	// Failure is the host's diagnosis when there is no result, or nil.
	Failure *wire.Failure
	// Console is the kernel console (serial) output.
	Console []byte
	// Output is the guest program's stdout and stderr.
	Output []byte
	// QEMUStderr is QEMU's own diagnostics.
	QEMUStderr []byte
	// Accel is the accelerator used.
	Accel Accel
	// Retried tells that the first boot never reached init and was retried.
	Retried bool
	// BootTime is the time from QEMU's start to the guest's hello.
	BootTime time.Duration
	// Wall is the whole run's duration.
	Wall time.Duration
	// HostNoise is how long the host held the vCPU threads off during
	// the run.
	HostNoise *hostnoise.Record
	// PowerOffKilled tells that the guest delivered its result but did not
	// power off within a grace period, so QEMU was stopped. The result
	// stands.
	PowerOffKilled bool
	// Monitor is what the host monitor saw, nil when it did not run;
	// MonitorOff then says why, when the request wanted it.
	Monitor    *monitor.Record
	MonitorOff string
	// Symbols are the kernel symbol addresses the guest gave, and
	// SymbolsBad tells that the host did not find the guest's runqueues
	// through them while the guest ran.
	Symbols    map[string]uint64
	SymbolsBad bool
}

// errBootStall marks a boot that never reached the guest's init.
var errBootStall = errors.New("guest never reached init")

// Run boots the VM and returns when the guest has reported and QEMU has
// exited, or when something failed. The error is for host-side problems that
// prevent a run (QEMU missing, bad config); guest failures are in the
// Outcome.
func Run(ctx context.Context, c Config) (*Outcome, error) {
	if c.QEMU == "" {
		p, err := exec.LookPath("qemu-system-x86_64")
		if err != nil {
			return nil, errors.New("qemu-system-x86_64 not found on $PATH: install it (Debian/Ubuntu: apt-get install qemu-system-x86)")
		}
		c.QEMU = p
	}
	if c.Accel == "" {
		a, _, err := ChooseAccel()
		if err != nil {
			return nil, err
		}
		c.Accel = a
	}
	start := time.Now()
	out, err := runOnce(ctx, c)
	if errors.Is(err, errBootStall) && ctx.Err() == nil {
		first := out
		out, err = runOnce(ctx, c)
		if out != nil {
			out.Retried = true
			if out.Failure != nil {
				out.Failure.Detail += "\n(first boot also failed: guest never reached init)\n" + logtail.LastLines(first.Console, 20)
			}
		}
	}
	if out != nil {
		out.Wall = time.Since(start)
	}
	if errors.Is(err, errBootStall) {
		err = nil // reported in out.Failure
	}
	return out, err
}

// firmware returns qboot's ROM when installed: it boots faster than SeaBIOS
// and avoids a QEMU 11 assertion with dies > 1.
func firmware() string {
	for _, p := range []string{"/usr/share/qemu/qboot.rom", "/usr/share/qboot/bios.bin"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func runOnce(ctx context.Context, c Config) (*Outcome, error) {
	out := &Outcome{Accel: c.Accel}
	dir, err := os.MkdirTemp(c.Dir, "vm-")
	if err != nil {
		return nil, fmt.Errorf("vm: scratch dir: %w", err)
	}
	defer os.RemoveAll(dir)

	sock := filepath.Join(dir, "port.sock")
	ln, err := listenUnix(sock)
	if err != nil {
		return nil, fmt.Errorf("vm: listen on %s: %w", sock, err)
	}
	defer ln.Close()

	args, err := qemuArgs(argsConfig{
		Accel: c.Accel, Topology: c.Topology, MemoryMB: c.MemoryMB,
		Kernel: c.Kernel, Initrd: c.Initrd, Cmdline: c.Cmdline,
		Socket: sock, Firmware: firmware(),
		Deterministic: c.Deterministic, ICountShift: c.ICountShift,
	})
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.QEMU, args...)
	var console, stderr logtail.Buffer
	if c.Console != nil {
		cmd.Stdout = io.MultiWriter(&console, c.Console)
	} else {
		cmd.Stdout = &console
	}
	cmd.Stderr = &stderr
	if c.Stdin != nil {
		cmd.Stdin = c.Stdin
	}
	cmd.SysProcAttr = qemuProcAttr()
	started := time.Now()
	if err := startLocked(cmd); err != nil {
		return nil, fmt.Errorf("vm: start %s: %w", c.QEMU, err)
	}
	untrack := track(cmd.Process)
	defer untrack()
	guest := newGuestView(c, cmd.Process.Pid)
	defer func() { out.Monitor, out.MonitorOff = guest.stop() }()
	// How long the host holds the vCPU threads off, to take out of the
	// guest's timing figures (package hostnoise). The guest's clock is
	// placed on the host's by the messages' stamps: the smallest
	// difference is the closest (a message is never received before it
	// is sent). Under -icount guest time follows instructions, not the
	// host's clock, so there is nothing to place.
	noise := hostnoise.Start(cmd.Process.Pid, c.Topology.CPUs(), hostnoise.DefaultPeriod)
	if !c.Deterministic {
		guest.noise = noise
	}
	var offset time.Duration
	offsetKnown := false
	defer func() {
		out.HostNoise = noise.Stop(offset, offsetKnown && !c.Deterministic)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	kill := func() {
		_ = cmd.Process.Kill()
	}
	var exitErr error
	waitExit := func(grace time.Duration) {
		select {
		case exitErr = <-exited:
		case <-time.After(grace):
			kill()
			exitErr = <-exited
		}
	}
	finish := func() *Outcome {
		out.Console = console.Bytes()
		out.QEMUStderr = stderr.Bytes()
		return out
	}

	// Wait for the guest to connect and say hello.
	connCh := make(chan *os.File, 1)
	go func() {
		conn, err := acceptUnix(ln)
		if err == nil {
			connCh <- conn
		}
	}()
	bootTimer := time.NewTimer(c.BootTimeout)
	defer bootTimer.Stop()
	var conn *os.File
	select {
	case conn = <-connCh:
	case exitErr = <-exited:
		// QEMU quit before connecting: bad arguments or an early panic.
		out.Failure = diagnose(console.Bytes(), stderr.Bytes(), exitErr, "QEMU exited before the guest connected")
		return finish(), nil
	case <-bootTimer.C:
		kill()
		exitErr = <-exited
		out.Failure = &wire.Failure{Kind: check.Boot,
			Message: fmt.Sprintf("QEMU did not connect to the guest port within %v", c.BootTimeout),
			Detail:  logtail.LastLines(console.Bytes(), 40)}
		return finish(), errBootStall
	case <-ctx.Done():
		kill()
		<-exited
		out.Failure = &wire.Failure{Kind: check.Host, Message: "cancelled: " + ctx.Err().Error()}
		return finish(), nil
	}
	defer conn.Close()
	// QEMU connects as soon as it starts; the guest's hello proves init runs.
	l := newLink(conn)
	if err := l.send(c.Request); err != nil {
		kill()
		waitExit(0)
		return finish(), fmt.Errorf("vm: send request: %w", err)
	}
	msgs := make(chan wire.Message, 64)
	go func() { _ = l.read(conn, msgs) }()
	var output bytes.Buffer
	hello := false
	deadline := time.NewTimer(c.Timeout)
	defer deadline.Stop()
	// Once the result is in, the guest has a bounded time to power off;
	// then QEMU is stopped. Neither that nor anything else QEMU does
	// afterwards changes the verdict.
	var afterResult <-chan time.Time
	// stop ends the run early (timeout, cancellation): QEMU is killed, and
	// the failure stands only if no result arrived.
	stop := func(f *wire.Failure) *Outcome {
		kill()
		exitErr = <-exited
		out.Output = output.Bytes()
		if out.Result = l.received(); out.Result == nil {
			out.Failure = f
		}
		return finish()
	}
	for {
		var m wire.Message
		var ok bool
		select {
		case m, ok = <-msgs:
		case <-bootTimer.C:
			if hello {
				continue
			}
			kill()
			exitErr = <-exited
			out.Failure = &wire.Failure{Kind: check.Boot,
				Message: fmt.Sprintf("guest did not reach init within %v", c.BootTimeout),
				Detail:  logtail.LastLines(console.Bytes(), 40)}
			return finish(), errBootStall
		case <-deadline.C:
			return stop(&wire.Failure{Kind: check.Timeout,
				Message: fmt.Sprintf("VM timed out after %v (set Spec.Timeout to allow more)", c.Timeout),
				Detail:  "last guest output:\n" + logtail.LastLines(output.Bytes(), 20) + "\nconsole:\n" + logtail.LastLines(console.Bytes(), 20)}), nil
		case <-ctx.Done():
			return stop(&wire.Failure{Kind: check.Host, Message: "cancelled: " + ctx.Err().Error()}), nil
		case <-afterResult:
			out.PowerOffKilled = true
			return stop(nil), nil
		}
		if !ok {
			break
		}
		if m.Clock > 0 {
			if d := hostnoise.Now() - m.Clock; !offsetKnown || d < offset {
				offset, offsetKnown = d, true
			}
		}
		if c.OnMessage != nil {
			c.OnMessage(m)
		}
		switch m.Kind {
		case wire.KindHello:
			hello = true
			out.BootTime = time.Since(started)
			if !bootTimer.Stop() {
				select {
				case <-bootTimer.C:
				default:
				}
			}
		case wire.KindOutput:
			output.WriteString(m.Text)
		case wire.KindResult:
			out.Result = m.Result
			if afterResult == nil {
				afterResult = time.After(powerOffGrace)
			}
		case wire.KindSymbols:
			guest.startMonitor(m.Symbols, l)
			out.Symbols, out.SymbolsBad = m.Symbols, guest.badSymbols
		case wire.KindEvent:
			guest.mark(m.Text)
		case wire.KindWatchdog:
			_ = l.send(readWatchdog(c, guest, m.Symbols))
		}
	}
	// The port closed: the guest powered off, panicked or QEMU died.
	waitExit(10 * time.Second)
	out.Output = output.Bytes()
	out.Result = l.received()
	if out.Result == nil {
		out.Failure = diagnose(console.Bytes(), stderr.Bytes(), exitErr, "guest ended without a result")
		if !hello && out.Failure.Kind != check.KernelPanic {
			if msg := qemuError(stderr.Bytes(), exitErr); msg != "" {
				// QEMU itself refused (a kernel it cannot load, say):
				// booting again would fail the same way.
				out.Failure.Kind = check.Boot
				out.Failure.Message = "QEMU failed before the guest reached init: " + msg
				return finish(), nil
			}
			return finish(), errBootStall
		}
	}
	return finish(), nil
}

// qemuError returns QEMU's own complaint when it exited with an error and
// said why on stderr (its first line that is not a warning), else "".
func qemuError(stderr []byte, exitErr error) string {
	if exitErr == nil {
		return ""
	}
	for _, l := range strings.Split(string(stderr), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, "warning:") {
			return l
		}
	}
	return ""
}

// powerOffGrace is how long a guest that delivered its result may take to
// power off before QEMU is stopped.
const powerOffGrace = 30 * time.Second

// diagnose explains a run that ended without a result.
func diagnose(console, stderr []byte, exitErr error, what string) *wire.Failure {
	if i := bytes.Index(console, []byte("Kernel panic - not syncing")); i >= 0 {
		line := console[i:]
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		return &wire.Failure{Kind: check.KernelPanic,
			Message: "guest kernel panic: " + strings.TrimSpace(string(line)),
			Detail:  logtail.LastLines(console, 40)}
	}
	msg := what
	if exitErr != nil {
		msg += " (QEMU: " + exitErr.Error() + ")"
	}
	detail := logtail.LastLines(console, 40)
	if len(stderr) > 0 {
		detail = "QEMU stderr:\n" + logtail.LastLines(stderr, 20) + "\nconsole:\n" + detail
	}
	return &wire.Failure{Kind: check.NoResult, Message: msg, Detail: detail}
}
