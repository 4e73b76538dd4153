package ktstr

import (
	"slices"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/host"
	"github.com/ktstr-go/ktstr/work"
)

// testWorkerProgress boots a VM with two cgroups of workers and checks, on the
// host, that each worker's progress series came back and sits on the
// body's clock: it starts after BodyStart (within a bucket) and ends at
// the worker's final count, never decreasing.
func testWorkerProgress(t *testing.T) {
	body := func(ctx *Ctx) error {
		ctx.Phase("work")
		return groupsBody(
			work.Group{Type: work.Spin(), Workers: 2},
			work.Group{Type: work.Bursty(50*time.Millisecond, 100*time.Millisecond), Workers: 1},
		)(ctx)
	}
	vmTest(t, Spec{Topology: Topo(1, 1, 2, 1), Duration: time.Second}, body, func(t *testing.T, o *host.Outcome) {
		if fs := o.Failures(); len(fs) > 0 {
			t.Fatalf("run failed: %s: %s\nguest output:\n%s", fs[0].Kind, fs[0].Message, o.Output)
		}
		res := o.Result
		if res.BodyStart <= 0 || len(res.Timeline) != 1 || len(res.Workers) != 3 {
			t.Fatalf("body start %v, timeline %+v, %d workers; want a start, one phase, 3 workers", res.BodyStart, res.Timeline, len(res.Workers))
		}
		for _, r := range res.Workers {
			p := r.Progress
			t.Logf("%s worker %d: from %v after the body's start, every %v: %v, the last at %v",
				r.Cgroup, r.Index, p.Start-res.BodyStart, p.Every, p.Units, p.End-res.BodyStart)
			n := len(p.Units)
			if n < 2 || p.Start+p.Every <= res.BodyStart || r.Start < res.BodyStart || p.Start > r.Start {
				t.Errorf("%v: series from %v, worker start %v, body start %v", r, p.Start, r.Start, res.BodyStart)
				continue
			}
			if p.Units[0] != 0 || p.Units[n-1] != r.WorkUnits || !slices.IsSorted(p.Units) {
				t.Errorf("%v: series %v, want 0 up to %d", r, p.Units, r.WorkUnits)
			}
		}
	})
}
