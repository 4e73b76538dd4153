//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestShellVM boots real VMs with the ktstr command built from this tree:
// one command run with --exec, and an interactive shell driven through a
// pseudo-terminal as a user's terminal would.
func TestShellVM(t *testing.T) {
	simple := vmPrereqs(t)
	bin := ktstrBinary(t)
	t.Run("Exec", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		note := filepath.Join(dir, "note.txt")
		if err := os.WriteFile(note, []byte("included-by-the-test\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "shell", "--topology", "1n2l1c1t", "--scheduler", simple,
			"--include", note, "--include", dir+":/data",
			"--exec", "nproc; cat /sys/kernel/sched_ext/root/ops; cat /include/note.txt; ls /data; echo oops >&2; exit 7")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 7 {
			t.Fatalf("ktstr shell --exec: %v, want exit status 7\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
		}
		if want := "2\nsimple\nincluded-by-the-test\nnote.txt\n"; stdout.String() != want {
			t.Errorf("stdout = %q, want %q (stderr: %s)", stdout.String(), want, &stderr)
		}
		if stderr.String() != "oops\n" {
			t.Errorf("stderr = %q, want the command's own %q", stderr.String(), "oops\n")
		}
	})
	t.Run("Interactive", func(t *testing.T) {
		t.Parallel()
		term := startOnPTY(t, bin, "shell", "--topology", "1n1l2c2t", "--scheduler", simple)
		term.expect(t, "4 CPUs: 1 NUMA node(s), 1 LLC(s), 2 thread(s) per core")
		term.expect(t, "scheduler scx_simple")
		term.expect(t, "sched_ext enabled")
		term.expect(t, "ktstr:/root# ")
		term.send(t, "echo $((6*7)); sleep 100 &\r")
		term.expect(t, "42")
		term.send(t, "jobs\r")
		term.expect(t, "Running")
		// Ctrl-C reaches the guest's foreground job, not ktstr.
		term.send(t, "sleep 50\r")
		time.Sleep(time.Second)
		term.send(t, "\x03")
		term.send(t, "echo after-$?\r")
		term.expect(t, "after-130")
		term.send(t, "exit 4\r")
		if code := term.wait(t); code != 4 {
			t.Errorf("ktstr shell exited %d after `exit 4`, want 4", code)
		}
	})
}

// pty is a command running on a pseudo-terminal, with what it printed.
type pty struct {
	cmd    *exec.Cmd
	master *os.File
	mu     sync.Mutex
	out    bytes.Buffer
	seen   int
	done   chan struct{}
}

// startOnPTY runs bin with args on a new pseudo-terminal of 24x80, as its
// controlling terminal.
func startOnPTY(t *testing.T, bin string, args ...string) *pty {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		t.Fatal(err)
	}
	p := &pty{cmd: exec.Command(bin, args...), master: master, done: make(chan struct{})}
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = slave, slave, slave
	p.cmd.Env = append(os.Environ(), "TERM=xterm")
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return p
}

// expect waits until s appears after what earlier expects matched.
func (p *pty) expect(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		i := strings.Index(p.out.String()[p.seen:], s)
		if i >= 0 {
			p.seen += i + len(s)
		}
		p.mu.Unlock()
		if i >= 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t.Fatalf("%q did not appear on the terminal; it shows:\n%s", s, p.out.String())
}

func (p *pty) send(t *testing.T, s string) {
	t.Helper()
	if _, err := p.master.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the command to exit and returns its exit status.
func (p *pty) wait(t *testing.T) int {
	t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(time.Minute):
		p.mu.Lock()
		defer p.mu.Unlock()
		t.Fatalf("ktstr shell did not exit within a minute; the terminal shows:\n%s", p.out.String())
	}
	return -1
}
