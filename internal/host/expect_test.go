package host

import (
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/wire"
)

func TestExpectationMet(t *testing.T) {
	e := &Expectation{Kind: check.SchedulerEjected, Contains: []string{"runnable task stall", "failed to run"}}
	stall := wire.Failure{Kind: check.SchedulerEjected, Message: "scheduler ejected: runnable task stall", Detail: "kworker/0:1 failed to run for 10.2s"}
	for _, c := range []struct {
		name string
		fs   []wire.Failure
		met  bool
		why  string
	}{
		{"passed", nil, false, "the run passed; the test expects a scheduler-ejected failure containing"},
		{"met, text split over message and detail", []wire.Failure{stall, {Kind: check.Body, Message: "x"}}, true, ""},
		{"first failure of another kind", []wire.Failure{{Kind: check.Stuck, Message: "gap"}, stall}, false, "the run failed with stuck (gap)"},
		{"text missing", []wire.Failure{{Kind: check.SchedulerEjected, Message: "runnable task stall"}}, false, `does not contain "failed to run"`},
	} {
		met, why := e.Met(c.fs)
		if met != c.met || !strings.Contains(why, c.why) {
			t.Errorf("%s: Met = %v, %q; want %v, %q", c.name, met, why, c.met, c.why)
		}
	}
}
