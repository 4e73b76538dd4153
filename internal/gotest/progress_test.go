package gotest

import (
	"strings"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// screen is a writer that keeps what a terminal would show: "\r\x1b[K"
// clears the current line.
type screen struct {
	raw   strings.Builder
	lines []string
	cur   string
}

func (s *screen) Write(p []byte) (int, error) {
	s.raw.Write(p)
	text := string(p)
	for text != "" {
		switch {
		case strings.HasPrefix(text, "\r\x1b[K"):
			s.cur = ""
			text = text[len("\r\x1b[K"):]
		case text[0] == '\n':
			s.lines = append(s.lines, s.cur)
			s.cur = ""
			text = text[1:]
		default:
			i := strings.IndexAny(text, "\r\n")
			if i < 0 {
				i = len(text)
			}
			s.cur += text[:i]
			text = text[i:]
		}
	}
	return len(p), nil
}

func progressFixture(width int) (*Progress, *Run, *fakeClock, *screen) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	scr := &screen{}
	r := NewRun()
	r.Now = clock.now
	p := NewProgress(scr, clock.now, func() int { return width }, 100*time.Millisecond)
	return p, r, clock, scr
}

func TestProgressLine(t *testing.T) {
	p, r, clock, _ := progressFixture(100)
	p.Total = 5
	if got := p.Line(r); got != "[0/5 done]" {
		t.Errorf("empty: %q", got)
	}
	at := clock.t
	ev := func(action, test string, elapsed float64) {
		r.Apply(Event{Time: at, Action: action, Package: "p", Test: test, Elapsed: elapsed})
	}
	ev(ActionRun, "TestX", 0)
	ev(ActionRun, "TestX/1n2l2c1t", 0)
	at = at.Add(2 * time.Second)
	ev(ActionRun, "TestY", 0)
	ev(ActionRun, "TestY/1n1l2c2t", 0)
	at = at.Add(time.Second)
	ev(ActionRun, "TestZ", 0)
	ev(ActionFail, "TestZ", 0.5)
	clock.advance(14 * time.Second)
	// TestX and TestY have subtests: only the variants count as running.
	if got, want := p.Line(r), "[1/5 done] running 2: TestX/1n2l2c1t 14s, TestY/1n1l2c2t 12s | 1 failed"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	clock.advance(3 * time.Minute)
	if got, want := p.Line(r), "[1/5 done] running 2: TestX/1n2l2c1t 3m14s, TestY/1n1l2c2t 3m12s | 1 failed"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	clock.advance(-3 * time.Minute)
	// Unknown total.
	p.Total = 0
	if got, want := p.Line(r), "[1 done] running 2: TestX/1n2l2c1t 14s, TestY/1n1l2c2t 12s | 1 failed"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// More running than the total allowed for: the total grows.
	p.Total = 2
	if got := p.Line(r); !strings.HasPrefix(got, "[1/3 done]") {
		t.Errorf("%q", got)
	}
	p.Prefix = "listing…"
	if got := p.Line(r); got != "listing…" {
		t.Errorf("prefix: %q", got)
	}
}

func TestProgressLineFitsWidth(t *testing.T) {
	p, r, clock, _ := progressFixture(60)
	p.Total = 40
	for _, name := range []string{"TestAlpha/1n2l2c1t", "TestBeta/gauntlet/medium-4llc/default", "TestGamma/1n1l2c2t"} {
		r.Apply(Event{Time: clock.t, Action: ActionRun, Package: "p", Test: name})
	}
	got := p.Line(r)
	if want := "[0/40 done] running 3: TestAlpha/1n2l2c1t, +2 more"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// So narrow that not even one name fits: it is cut.
	p.width = func() int { return 30 }
	got = p.Line(r)
	if n := len([]rune(got)); n > 29 || !strings.HasPrefix(got, "[0/40 done] running 3: ") {
		t.Errorf("%q (%d wide)", got, n)
	}
}

func TestProgressDrawing(t *testing.T) {
	p, r, clock, scr := progressFixture(80)
	p.Total = 3
	p.Update(r, true)
	if scr.cur != "[0/3 done]" {
		t.Fatalf("screen %q", scr.cur)
	}
	r.Apply(Event{Time: clock.t, Action: ActionRun, Package: "p", Test: "TestA"})
	// Within the interval and not forced: no redraw.
	clock.advance(50 * time.Millisecond)
	p.Update(r, false)
	if scr.cur != "[0/3 done]" {
		t.Errorf("redrawn too early: %q", scr.cur)
	}
	clock.advance(50 * time.Millisecond)
	p.Update(r, false)
	if scr.cur != "[0/3 done] running 1: TestA" {
		t.Errorf("screen %q", scr.cur)
	}
	// Unchanged: nothing written.
	n := scr.raw.Len()
	clock.advance(200 * time.Millisecond)
	p.Update(r, false)
	if scr.raw.Len() != n {
		t.Errorf("wrote %q for no change", scr.raw.String()[n:])
	}
	// A second on, the running time shows.
	clock.advance(time.Second)
	p.Update(r, false)
	if scr.cur != "[0/3 done] running 1: TestA 1s" {
		t.Errorf("screen %q", scr.cur)
	}
	// Printing goes above the status line, which is redrawn below it.
	r.Apply(Event{Time: clock.t, Action: ActionFail, Package: "p", Test: "TestA", Elapsed: 1.3})
	p.Print(scr, r, "FAIL TestA (1.3s)\n")
	if got := strings.Join(scr.lines, "|"); got != "FAIL TestA (1.3s)" {
		t.Errorf("lines %q", got)
	}
	if scr.cur != "[1/3 done] | 1 failed" {
		t.Errorf("screen %q", scr.cur)
	}
	// Printing to another stream (stdout on the same terminal) clears
	// the line on this one first.
	other := &strings.Builder{}
	before := scr.raw.Len()
	p.Print(other, r, "ok  \tp\t1.4s\n")
	if got := scr.raw.String()[before:]; got != "\r\x1b[K\r\x1b[K[1/3 done] | 1 failed" {
		t.Errorf("status stream got %q", got)
	}
	if other.String() != "ok  \tp\t1.4s\n" {
		t.Errorf("other stream %q", other.String())
	}
	p.Clear()
	if scr.cur != "" {
		t.Errorf("not cleared: %q", scr.cur)
	}
	// Nothing drawn: Print just prints.
	before = scr.raw.Len()
	p.Print(scr, r, "x\n")
	if got := scr.raw.String()[before:]; got != "x\n" {
		t.Errorf("%q", got)
	}
}
