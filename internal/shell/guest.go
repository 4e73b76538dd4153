//go:build linux

package shell

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// The guest's serial console, where the kernel writes (console=ttyS0) and
// where the host connects the user's terminal.
const consoleTTY = "/dev/ttyS0"

func init() {
	guest.RegisterProgram(ProgramShell, func(env *guest.Env) guest.Body { return newBody(env, true) })
	guest.RegisterProgram(ProgramExec, func(env *guest.Env) guest.Body { return newBody(env, false) })
}

// body runs the shell (interactive) or one command (exec) in the guest.
type body struct {
	env         *guest.Env
	interactive bool
	start       time.Time
	status      int
}

func newBody(env *guest.Env, interactive bool) *body {
	return &body{env: env, interactive: interactive, start: time.Now()}
}

// Run installs busybox's applets, says what the guest is, and runs the
// shell or the command until it exits.
func (b *body) Run() *wire.Failure {
	args, err := decodeArgs(b.env.Request.Args)
	if err != nil {
		return &wire.Failure{Kind: check.Guest, Message: err.Error()}
	}
	if err := installBusybox(); err != nil {
		return &wire.Failure{Kind: check.Guest, Message: err.Error()}
	}
	// A shell is where cgroups get tried out by hand: it starts, as a
	// test's first cgroup would, with the parent made and every
	// controller passed down.
	if err := b.env.Cgroups.Prepare(); err != nil {
		return &wire.Failure{Kind: check.Guest, Message: err.Error()}
	}
	env := append(os.Environ(), "HOME=/root", "PATH="+IncludeDir+":"+os.Getenv("PATH"))
	_ = os.MkdirAll("/root", 0o700)
	if !b.interactive {
		cmd := exec.Command(guestShell, "-c", args.Command)
		cmd.Dir = "/root"
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = b.env.Stdout, b.env.Stderr
		return b.wait(cmd, cmd.Run())
	}
	tty, err := os.OpenFile(consoleTTY, os.O_RDWR, 0)
	if err != nil {
		return &wire.Failure{Kind: check.Guest, Message: "opening the console for the shell: " + err.Error()}
	}
	defer tty.Close()
	if t := b.env.Request.Terminal; t != nil {
		_ = unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: t.Rows, Col: t.Cols})
		if t.Term != "" {
			env = append(env, "TERM="+t.Term)
		}
	}
	fmt.Fprint(tty, b.banner(args.Includes))
	cmd := exec.Command(guestShell, "-i")
	cmd.Dir = "/root"
	cmd.Env = append(env, `PS1=ktstr:\w\$ `)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// Its own session with the console as controlling terminal: job
	// control and Ctrl-C then work as on any terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	return b.wait(cmd, cmd.Run())
}

// wait turns the command's end into its exit status, or a failure when it
// could not run at all.
func (b *body) wait(cmd *exec.Cmd, err error) *wire.Failure {
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		b.status = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			b.status = 128 + int(ws.Signal())
		}
	default:
		return &wire.Failure{Kind: check.Guest, Message: fmt.Sprintf("starting %s: %v", cmd.Path, err)}
	}
	return nil
}

// banner says what the guest is: its CPUs, the scheduler and what was
// included.
func (b *body) banner(includes []string) string {
	var s strings.Builder
	t := b.env.Topology
	fmt.Fprintf(&s, "\r\nktstr shell: kernel %s, %s\r\n", guest.KernelRelease(), describeTopology(t))
	if sc := b.env.Scheduler; sc != nil {
		fmt.Fprintf(&s, "  scheduler %s (pid %d, ops %q), sched_ext %s\r\n", b.env.Request.Scheduler.Name, sc.PID(), sc.Ops(), guest.SchedExtState())
	} else {
		s.WriteString("  scheduler: the kernel's own (EEVDF)\r\n")
	}
	for _, in := range includes {
		fmt.Fprintf(&s, "  included %s\r\n", in)
	}
	s.WriteString("  exit or Ctrl-D powers the VM off; Ctrl-] forces it off\r\n\r\n")
	return s.String()
}

// describeTopology condenses what the guest kernel reports.
func describeTopology(t *wire.GuestTopology) string {
	if t == nil {
		return "topology unknown"
	}
	smt := 0
	for _, sib := range t.Siblings {
		smt = max(smt, len(sib))
	}
	return fmt.Sprintf("%d CPUs: %d NUMA node(s), %d LLC(s), %d thread(s) per core", len(t.CPUs), len(t.Nodes), len(t.LLCs), smt)
}

// Phase is "" : a shell has no phases.
func (b *body) Phase() (string, time.Duration) { return "", time.Since(b.start) }

// Finish records the exit status.
func (b *body) Finish(res *wire.Result) { res.ExitStatus = b.status }

// guestShell is the shell the guest runs: busybox's, or the host's shell
// packed in its place.
const guestShell = "/bin/sh"

// installBusybox links busybox's applets into /bin when busybox was packed,
// so that the shell finds ls, ps, cat and the rest.
func installBusybox() error {
	if _, err := os.Stat(guestBusybox); err != nil {
		return nil
	}
	out, err := exec.Command(guestBusybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %v", err)
	}
	applets := strings.Fields(string(out))
	sort.Strings(applets)
	for _, a := range applets {
		link := filepath.Join("/bin", a)
		if _, err := os.Lstat(link); err == nil {
			continue // packed from the host, or busybox itself
		}
		if err := os.Symlink(guestBusybox, link); err != nil {
			return fmt.Errorf("linking busybox applet %s: %v", a, err)
		}
	}
	return nil
}
