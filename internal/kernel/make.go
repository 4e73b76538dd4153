package kernel

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// RunMake runs make with args, its standard output and error both going
// to out. make runs in a process group of its own, which is killed whole
// when ctx ends: the compilers it started would otherwise outlive it.
func RunMake(ctx context.Context, out io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, "make", args...)
	cmd.Stdout, cmd.Stderr = out, out
	// English messages, whatever the user's locale: the error excerpts
	// are matched and read by people reading English documentation.
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd.Run()
}

// lineWriter calls fn with each complete line written to it, without the
// newline. exec.Cmd calls Write from one goroutine at a time when stdout
// and stderr are the same writer.
type lineWriter struct {
	fn      func(string)
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			return n, nil
		}
		w.fn(string(append(w.partial, p[:i]...)))
		w.partial = w.partial[:0]
		p = p[i+1:]
	}
}
