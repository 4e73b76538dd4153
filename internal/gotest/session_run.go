package gotest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr/internal/cachedir"
)

// Test runs the tests and reports on them; total, when known (Count),
// sizes the status line. It returns go's exit status.
func (s *Session) Test(ctx context.Context, environ []string, total int) (int, error) {
	s.run = NewRun()
	s.run.Now = s.Now
	s.pending = map[string][]byte{}
	verbose := s.Args.Verbose
	out := s.report()
	if s.Terminal {
		s.progress = NewProgress(s.Stderr, s.Now, s.Width, 100*time.Millisecond)
		s.progress.Total = total
		s.mu.Lock()
		s.progress.Update(s.run, true)
		s.mu.Unlock()
		tick := time.NewTicker(time.Second)
		stop := make(chan struct{})
		var ticker sync.WaitGroup
		ticker.Add(1)
		defer func() {
			tick.Stop()
			close(stop)
			ticker.Wait()
		}()
		go func() {
			defer ticker.Done()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				s.mu.Lock()
				if s.progress != nil {
					s.progress.Update(s.run, false)
				}
				s.mu.Unlock()
			}
		}()
	}
	code, err := s.Go(ctx, s.Args.Command("./..."), environ, func(ev Event, raw []byte) {
		if s.Args.JSON {
			s.mu.Lock()
			s.print(s.Stdout, string(raw)+"\n")
			s.mu.Unlock()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		ch := s.run.Apply(ev)
		switch ev.Action {
		case ActionOutput:
			if verbose {
				s.verboseOutput(out, ev.Package, ev.Output)
			} else if l := strings.TrimSpace(ev.Output); strings.HasPrefix(l, "ktstr budget: ") {
				s.print(s.Stderr, l+"\n")
			}
		case ActionBuildOutput:
			if verbose {
				s.verboseOutput(out, "\x00"+ev.ImportPath, ev.Output)
			}
		}
		for _, t := range ch.Finished {
			s.finished(out, t, verbose)
		}
		if ch.PackageDone && !verbose {
			s.packageDone(out, ch.Package)
		}
		if s.progress != nil {
			s.progress.Update(s.run, len(ch.Finished) > 0)
		}
	}, func(line []byte, fromStderr bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		// With -json, go's stdout is echoed as it is; its stderr stays
		// stderr.
		if s.Args.JSON && !fromStderr {
			s.print(s.Stdout, string(line)+"\n")
			return
		}
		s.print(s.Stderr, string(line)+"\n")
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, rest := range s.pending {
		if len(rest) > 0 {
			s.print(out, string(rest)+"\n")
		}
		delete(s.pending, key)
	}
	for _, t := range s.run.Finish() {
		s.finished(out, t, verbose)
	}
	if s.progress != nil {
		s.progress.Clear()
		s.progress = nil
	}
	if err != nil {
		return 0, err
	}
	rows := s.run.Rows()
	var b bytes.Buffer
	if Tally(rows).Failed > 0 {
		b.WriteString("\n")
		WriteFailures(&b, rows)
	}
	b.WriteString("\n")
	WriteSummary(&b, rows, s.Kernels...)
	if s.Report != nil {
		line, err := s.Report()
		if err != nil {
			line = "report: not written: " + err.Error()
			if code == 0 {
				code = 1
			}
		}
		b.WriteString(line + "\n")
	}
	out.Write(b.Bytes())
	if s.JUnit != "" {
		data, err := MarshalJUnit(s.run.JUnit())
		if err == nil {
			err = cachedir.WriteFile(s.JUnit, 0o644, func(w io.Writer) error { _, err := w.Write(data); return err })
		}
		if err != nil {
			fmt.Fprintf(s.Stderr, "ktstr: writing the JUnit report: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code, nil
}

// verboseOutput prints a piece of output as go test -v would, whole lines
// at a time (so that the status line can stay below them). key separates
// the streams of packages. Callers hold s.mu.
func (s *Session) verboseOutput(w io.Writer, key, text string) {
	buf := append(s.pending[key], text...)
	i := bytes.LastIndexByte(buf, '\n')
	if i < 0 {
		s.pending[key] = buf
		return
	}
	s.print(w, string(buf[:i+1]))
	s.pending[key] = append([]byte(nil), buf[i+1:]...)
}

// finished reports a test that reached its outcome: in plain mode (no
// terminal) a line per variant, on a terminal a line per failed variant
// (the status line counts the others); nothing with -v, whose output has
// go's own result lines. Callers hold s.mu.
func (s *Session) finished(w io.Writer, t *Test, verbose bool) {
	if verbose || !t.Leaf() || s.Terminal && t.Status != Failed {
		return
	}
	line := fmt.Sprintf("%s %s (%s)", t.Status, t.Name, FormatDuration(t.Elapsed))
	if t.Status != Passed {
		if r := t.Reason(s.run.Package(t.Package)); r != "" {
			line += "  " + r
		}
	}
	s.print(w, line+"\n")
}

// packageDone prints go's result line for a package ("ok  pkg 1.2s",
// "FAIL pkg [build failed]"), after the compiler's output when the build
// failed, and after what the package printed outside its tests (TestMain,
// go test -list). Callers hold s.mu.
func (s *Session) packageDone(w io.Writer, p *Package) {
	var b strings.Builder
	if p.FailedBuild != "" {
		b.WriteString(p.BuildOutput)
	}
	if out := CleanOutput(p.Output()); out != "" {
		b.WriteString(out + "\n")
	}
	for _, l := range strings.Split(p.Output(), "\n") {
		if strings.HasPrefix(l, "ok  \t") || strings.HasPrefix(l, "FAIL\t") || strings.HasPrefix(l, "?   \t") {
			b.WriteString(l + "\n")
		}
	}
	s.print(w, b.String())
}
