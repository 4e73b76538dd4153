package gotest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Session runs go test -json over ./... and reports on it as `ktstr test`
// does: a line per finished variant (or, on a terminal, a status line and
// the failures), go's package lines, the failures with their reasons, a
// summary table, and optionally a JUnit report. Set the fields, then call
// one of List, Count or Test once.
type Session struct {
	// Args are the go test arguments.
	Args Args
	// Listing says the run only lists variants (List): the report then
	// goes to stdout even with -json.
	Listing bool
	// JUnit, when set, is where Test writes a JUnit report.
	JUnit string
	// Kernels are the labels of the kernels the variants run on, as the
	// last element of their names (gauntlet.KernelName); with two or more
	// the summary adds each kernel's totals and what differs between them.
	Kernels []string
	// Report, when set, is called by Test after the run to write the
	// run's HTML report; the line it returns ends the summary.
	Report func() (line string, err error)
	// Stdout and Stderr take the report and go's own output.
	Stdout, Stderr io.Writer
	// Terminal draws a status line on Stderr; StdoutTerminal says Stdout
	// shares the screen with it.
	Terminal, StdoutTerminal bool
	// Now is the clock and Width the terminal's width, for the status line.
	Now   func() time.Time
	Width func() int
	// GoCmd makes the go command; nil means the go on $PATH.
	GoCmd func(ctx context.Context, args, env []string) *exec.Cmd

	mu       sync.Mutex
	run      *Run
	progress *Progress // nil when not on a terminal
	pending  map[string][]byte
}

// report is where the human report goes: stdout, unless go's JSON does.
func (s *Session) report() io.Writer {
	if s.Args.JSON && !s.Listing {
		return s.Stderr
	}
	return s.Stdout
}

// print writes text (whole lines) to w, above the status line when there
// is one. Callers hold s.mu.
func (s *Session) print(w io.Writer, text string) {
	if text == "" {
		return
	}
	if s.progress != nil && (w != s.Stdout || s.StdoutTerminal) {
		s.progress.Print(w, s.run, text)
		return
	}
	io.WriteString(w, text)
}

// Go runs go with args and environ, calling onEvent for each event,
// onLine for each line of go's stdout that is not an event and of its
// stderr (with fromStderr set), and gives go's exit status (130 when ctx
// ended first). go runs in a process group of its own; when ctx ends, the
// group gets SIGINT (the test library then stops its VMs and cleans up)
// and, 15 s later, SIGKILL.
func (s *Session) Go(ctx context.Context, args, environ []string, onEvent func(ev Event, raw []byte), onLine func(line []byte, fromStderr bool)) (int, error) {
	var cmd *exec.Cmd
	if s.GoCmd != nil {
		cmd = s.GoCmd(ctx, args, environ)
	} else {
		cmd = exec.Command("go", args...)
		cmd.Env = environ
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("running go: %w", err)
	}
	done := make(chan struct{})
	var stopped sync.WaitGroup
	stopped.Add(1)
	go func() {
		defer stopped.Done()
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	var errDone sync.WaitGroup
	errDone.Add(1)
	go func() {
		defer errDone.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			onLine(sc.Bytes(), true)
		}
		io.Copy(io.Discard, stderr)
	}()
	d := NewDecoder(stdout)
	for {
		ev, err := d.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, ErrNotEvent) {
			onLine(d.Raw(), false)
			continue
		}
		if err != nil {
			// A line too long to be an event: drain the rest so go can
			// finish.
			io.Copy(io.Discard, stdout)
			break
		}
		onEvent(ev, d.Raw())
	}
	errDone.Wait()
	werr := cmd.Wait()
	close(done)
	stopped.Wait()
	var exit *exec.ExitError
	switch {
	case werr == nil:
		return 0, nil
	case ctx.Err() != nil:
		return 130, nil // interrupted, as a shell reports SIGINT
	case errors.As(werr, &exit):
		return max(exit.ExitCode(), 1), nil
	}
	return 0, werr
}
