package host

import (
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/work"
)

func TestRunDelay(t *testing.T) {
	ws := []work.Report{
		{WallTime: 3 * time.Second, RunDelay: 2 * time.Second},
		{WallTime: 3 * time.Second, RunDelay: time.Second},
		{}, // never reported
	}
	want := "in-guest schedstat: the 2 workers waited runnable 1500 ms on average (the most 2000 ms) of 3.0 s each"
	if got := runDelay(ws); got != want {
		t.Errorf("runDelay = %q, want %q", got, want)
	}
	if runDelay(nil) != "" {
		t.Error("runDelay without workers is not empty")
	}
}
