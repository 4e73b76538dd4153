package plan

import (
	"testing"
	"time"
)

func TestHold(t *testing.T) {
	const total = 2 * time.Second
	for _, c := range []struct {
		h        Hold
		d, every time.Duration
		repeats  bool
		str      string
	}{
		{Frac(0.5), time.Second, 0, false, "0.5 of the duration"},
		{Frac(1), total, 0, false, "1 of the duration"},
		{For(300 * time.Millisecond), 300 * time.Millisecond, 0, false, "for 300ms"},
		{Every(100*time.Millisecond, Frac(0.25)), 500 * time.Millisecond, 100 * time.Millisecond, true, "every 100ms 0.25 of the duration"},
		{Every(time.Second, For(3*time.Second)), 3 * time.Second, time.Second, true, "every 1s for 3s"},
	} {
		if err := c.h.validate(total); err != nil {
			t.Errorf("%v: %v", c.h, err)
		}
		if d := c.h.Duration(total); d != c.d {
			t.Errorf("%v: Duration(%v) = %v, want %v", c.h, total, d, c.d)
		}
		if c.h.Interval() != c.every || c.h.Repeats() != c.repeats {
			t.Errorf("%v: Interval %v Repeats %v, want %v %v", c.h, c.h.Interval(), c.h.Repeats(), c.every, c.repeats)
		}
		if s := c.h.String(); s != c.str {
			t.Errorf("String() = %q, want %q", s, c.str)
		}
	}
}

func TestHoldErrors(t *testing.T) {
	for _, c := range []struct {
		h     Hold
		total time.Duration
		want  string
	}{
		{Hold{}, time.Second, "no hold: set Hold to Frac, For or Every"},
		{Frac(0), time.Second, "hold 0 of the duration: the fraction must be in (0, 1]; use For for a fixed time"},
		{Frac(1.5), time.Second, "hold 1.5 of the duration: the fraction must be in (0, 1]; use For for a fixed time"},
		{Frac(-0.5), time.Second, "hold -0.5 of the duration: the fraction must be in (0, 1]; use For for a fixed time"},
		{Frac(0.5), 0, "hold 0.5 of the duration: nothing of a 0s test"},
		{For(0), time.Second, "hold for 0s: must be positive"},
		{For(-time.Second), time.Second, "hold for -1s: must be positive"},
		{Every(0, Frac(1)), time.Second, "hold every 0s 1 of the duration: the interval must be positive"},
		{Every(time.Second, Frac(0.5)), 2 * time.Second, "hold every 1s 0.5 of the duration: the interval is not shorter than the hold (1s), so the operations would never repeat"},
		{Every(time.Millisecond, Every(time.Millisecond, Frac(1))), time.Second, "hold every 1ms 1 of the duration: Every inside Every"},
		{Every(time.Millisecond, Hold{}), time.Second, "hold every 1ms: wraps no hold; use Every(interval, Frac(f)) or Every(interval, For(d))"},
	} {
		err := c.h.validate(c.total)
		if err == nil || err.Error() != c.want {
			t.Errorf("%v in %v: error %v\nwant %s", c.h, c.total, err, c.want)
		}
	}
	if !(Hold{}).IsZero() || Frac(1).IsZero() {
		t.Error("IsZero")
	}
}
