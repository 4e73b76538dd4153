package plan

import (
	"fmt"
	"strconv"
	"time"
)

// Hold says how long a step lasts once its workers have started: a
// fraction of the test's duration ([Frac]), a fixed time ([For]), or either
// of those with the step's operations repeated at an interval ([Every]).
// The zero Hold is invalid: every step must say how long it holds.
type Hold struct {
	kind  holdKind
	frac  float64
	fixed time.Duration
	// repeat marks an Every hold, every its interval.
	repeat bool
	every  time.Duration
	// nested marks an Every wrapped around another Every, which is
	// rejected.
	nested bool
}

type holdKind int

const (
	holdFrac holdKind = iota + 1
	holdFixed
)

// Frac holds for f (0 < f ≤ 1) of the test's duration (ktstr.Ctx.Duration):
// two steps of Frac(0.5) fill it.
func Frac(f float64) Hold { return Hold{kind: holdFrac, frac: f} }

// For holds for d.
func For(d time.Duration) Hold { return Hold{kind: holdFixed, fixed: d} }

// Every holds as h does, and repeats the step's operations every interval
// meanwhile: they run once when the step begins, as in any step, then
// again at interval, 2·interval, ... while the hold lasts. The step's
// Defs are set up once.
func Every(interval time.Duration, h Hold) Hold {
	h.nested = h.repeat
	h.repeat, h.every = true, interval
	return h
}

// Duration returns how long the hold lasts in a test of duration total.
func (h Hold) Duration(total time.Duration) time.Duration {
	switch h.kind {
	case holdFrac:
		return time.Duration(h.frac * float64(total))
	case holdFixed:
		return h.fixed
	}
	return 0
}

// Interval returns the repeat interval of an [Every] hold, 0 for others.
func (h Hold) Interval() time.Duration { return h.every }

// Repeats reports whether h is an [Every] hold.
func (h Hold) Repeats() bool { return h.repeat }

// IsZero reports whether h is the zero Hold (no hold given).
func (h Hold) IsZero() bool { return h == Hold{} }

// String describes the hold: "0.5 of the duration", "for 2s", "every
// 200ms for 0.5 of the duration".
func (h Hold) String() string {
	var s string
	switch h.kind {
	case holdFrac:
		s = strconv.FormatFloat(h.frac, 'f', -1, 64) + " of the duration"
	case holdFixed:
		s = "for " + h.fixed.String()
	default:
		s = "no hold"
	}
	if h.repeat {
		s = "every " + h.every.String() + " " + s
	}
	return s
}

// validate says what is wrong with the hold in a test of duration total.
func (h Hold) validate(total time.Duration) error {
	switch h.kind {
	case holdFrac:
		if !(h.frac > 0 && h.frac <= 1) {
			return fmt.Errorf("hold %s: the fraction must be in (0, 1]; use For for a fixed time", h)
		}
		if h.Duration(total) <= 0 {
			return fmt.Errorf("hold %s: nothing of a %v test", h, total)
		}
	case holdFixed:
		if h.fixed <= 0 {
			return fmt.Errorf("hold %s: must be positive", h)
		}
	default:
		if h.repeat {
			return fmt.Errorf("hold every %v: wraps no hold; use Every(interval, Frac(f)) or Every(interval, For(d))", h.every)
		}
		return fmt.Errorf("no hold: set Hold to Frac, For or Every")
	}
	if h.nested {
		return fmt.Errorf("hold %s: Every inside Every", h)
	}
	if !h.repeat {
		return nil
	}
	if h.every <= 0 {
		return fmt.Errorf("hold %s: the interval must be positive", h)
	}
	if h.every >= h.Duration(total) {
		return fmt.Errorf("hold %s: the interval is not shorter than the hold (%v), so the operations would never repeat", h, h.Duration(total))
	}
	return nil
}
