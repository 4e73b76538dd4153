package scenario

import (
	"time"

	"github.com/ktstr-go/ktstr/internal/plan"
)

// Hold says how long a step lasts once its workers have started: a
// fraction of the test's duration ([Frac]), a fixed time ([For]), or either
// of those with the step's operations repeated at an interval ([Every]).
// The zero Hold is invalid: every step must say how long it holds. Its
// methods Duration, Interval, Repeats, IsZero and String tell what it is.
type Hold = plan.Hold

// Frac holds for f (0 < f ≤ 1) of the test's duration (ktstr.Ctx.Duration):
// two steps of Frac(0.5) fill it.
func Frac(f float64) Hold { return plan.Frac(f) }

// For holds for d.
func For(d time.Duration) Hold { return plan.For(d) }

// Every holds as h does, and repeats the step's operations every interval
// meanwhile: they run once when the step begins, as in any step, then
// again at interval, 2·interval, ... while the hold lasts. The step's
// Defs are set up once.
func Every(interval time.Duration, h Hold) Hold { return plan.Every(interval, h) }
