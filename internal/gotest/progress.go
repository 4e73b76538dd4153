package gotest

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Progress keeps one status line at the bottom of a terminal:
//
//	[12/40 done] running 2: TestX/1n2l2c1t 14s, TestY/1n1l2c2t 3s | 1 failed
//
// and lets other output scroll past above it (Print). It is not safe for
// concurrent use: the caller serialises calls, and keeps the Run it passes
// from changing during them.
type Progress struct {
	w        io.Writer
	now      func() time.Time
	width    func() int
	interval time.Duration

	// Total is the number of variants expected; 0 means unknown.
	Total int
	// Prefix, when set, replaces the whole status (e.g. while listing
	// variants before the run).
	Prefix string

	drawn    string // the line on the screen; "" when none
	lastDraw time.Time
}

// NewProgress returns a Progress drawing on w (a terminal). now is the
// clock (time.Now when nil); width returns the terminal's columns (80 when
// nil or not positive). Redraws that only advance time happen at most
// every interval (see Update).
func NewProgress(w io.Writer, now func() time.Time, width func() int, interval time.Duration) *Progress {
	if now == nil {
		now = time.Now
	}
	return &Progress{w: w, now: now, width: width, interval: interval}
}

const (
	clearLine = "\r\x1b[K"
)

func (p *Progress) columns() int {
	if p.width != nil {
		if c := p.width(); c > 0 {
			return c
		}
	}
	return 80
}

// Line returns the status line for the run as it stands, at most width-1
// characters wide (a full-width line would wrap on some terminals): the
// variants done (of Total, when known), the ones running with how long
// they have run, longest first, as many as fit, and the failures so far.
func (p *Progress) Line(r *Run) string {
	width := p.columns() - 1
	if p.Prefix != "" {
		return truncate(p.Prefix, width)
	}
	c := r.Counts()
	running := r.Running()
	head := fmt.Sprintf("[%d done]", c.Done)
	if p.Total > 0 {
		head = fmt.Sprintf("[%d/%d done]", c.Done, max(p.Total, c.Done+len(running)))
	}
	tail := ""
	if c.Failed > 0 {
		tail = fmt.Sprintf(" | %d failed", c.Failed)
	}
	if len(running) == 0 {
		return truncate(head+tail, width)
	}
	now := p.now()
	names := make([]string, len(running))
	for i, t := range running {
		names[i] = t.Name
		if d := now.Sub(t.Resumed); d >= time.Second {
			names[i] += " " + wholeSeconds(d)
		}
	}
	body := fmt.Sprintf(" running %d: ", len(running))
	room := width - utf8.RuneCountInString(head+body+tail)
	list := ""
	for n := len(names); n >= 1; n-- {
		s := strings.Join(names[:n], ", ")
		if n < len(names) {
			s += fmt.Sprintf(", +%d more", len(names)-n)
		}
		if utf8.RuneCountInString(s) <= room {
			list = s
			break
		}
	}
	if list == "" { // not even one name fits: cut the first
		more := ""
		if len(names) > 1 {
			more = fmt.Sprintf(", +%d more", len(names)-1)
		}
		list = truncate(names[0], max(room-utf8.RuneCountInString(more), 8)) + more
	}
	return truncate(head+body+list+tail, width)
}

// Update redraws the status line when it changed. Unless force is set,
// it redraws at most every interval, so a burst of events or a clock tick
// costs one write.
func (p *Progress) Update(r *Run, force bool) {
	now := p.now()
	if !force && p.drawn != "" && now.Sub(p.lastDraw) < p.interval {
		return
	}
	line := p.Line(r)
	if line == p.drawn {
		return
	}
	io.WriteString(p.w, clearLine+line)
	p.drawn, p.lastDraw = line, now
}

// Clear removes the status line from the screen.
func (p *Progress) Clear() {
	if p.drawn != "" {
		io.WriteString(p.w, clearLine)
		p.drawn = ""
	}
}

// Print writes s to w (the terminal's other stream, or the same one) on
// lines of its own above the status line, then redraws the status line.
// s should end with a newline.
func (p *Progress) Print(w io.Writer, r *Run, s string) {
	had := p.drawn != ""
	if had && w == p.w {
		io.WriteString(w, clearLine+s)
		p.drawn = ""
	} else {
		p.Clear()
		io.WriteString(w, s)
	}
	if had {
		p.Update(r, true)
	}
}

// wholeSeconds formats a running time to the second: "14s", "3m07s".
func wholeSeconds(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
	return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
}
