package debian

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progressWriter forwards byte counts of a download to a Progress callback.
type progressWriter struct {
	fn    func(name string, done, total int64)
	name  string
	total int64
	done  int64
}

// Write counts b and reports progress; it never fails.
func (p *progressWriter) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.fn != nil {
		p.fn(p.name, p.done, p.total)
	}
	return len(b), nil
}

// TerminalProgress returns a Fetcher.Progress callback that draws one
// updating line per download on w (a terminal), at most ten times a second,
// and ends the line when the download completes.
func TerminalProgress(w io.Writer) func(name string, done, total int64) {
	var mu sync.Mutex
	var last time.Time
	lastLen := 0
	return func(name string, done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		finished := total > 0 && done >= total
		if !finished && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		line := fmt.Sprintf("%s  %5.1f MB", name, mb(done))
		if total > 0 {
			line = fmt.Sprintf("%s  %5.1f / %.1f MB  %3d%%", name, mb(done), mb(total), done*100/total)
		}
		// Pad over the rest of a longer previous line; no terminal escape
		// codes, so the output stays readable in a log file too.
		pad := max(0, lastLen-len(line))
		fmt.Fprintf(w, "\r%s%s", line, strings.Repeat(" ", pad))
		lastLen = len(line)
		if finished {
			fmt.Fprintln(w)
			lastLen = 0
		}
	}
}

func mb(n int64) float64 { return float64(n) / 1e6 }
