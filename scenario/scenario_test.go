package scenario

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/internal/catalog"
	"github.com/ktstr-go/ktstr/internal/plan"
)

// The planner's own tests are in internal/plan and internal/catalog;
// these check what this package adds on top.

func TestCatalogue(t *testing.T) {
	all, entries := All(), catalog.All()
	if len(all) != len(entries) {
		t.Fatalf("%d scenarios, %d catalogue entries", len(all), len(entries))
	}
	for i, s := range all {
		e := entries[i]
		if s.Name != e.Name || s.Category != e.Category || s.Description != e.Description || s.Assert != e.Assert {
			t.Errorf("scenario %d: %s %q, entry %s %q", i, s.Name, s.Description, e.Name, e.Description)
		}
		if s.Run == nil || s.Build == nil {
			t.Errorf("%s: Run or Build missing", s.Name)
		}
		if got, err := Lookup(s.Name); err != nil || got.Name != s.Name || got.Run == nil {
			t.Errorf("Lookup(%q) = %v, %v", s.Name, got.Name, err)
		}
	}
	if _, err := Lookup("nope"); err == nil || !strings.HasPrefix(err.Error(), `unknown scenario "nope"`) {
		t.Errorf("Lookup(nope): %v", err)
	}
}

func TestPlan(t *testing.T) {
	p, err := Prepare(topo(1, 2, 2, 1), 2*time.Second, Backdrop{Defs: []CgroupDef{{Name: "cg0", Cpuset: LLC(0)}}},
		Step{Hold: Frac(0.5)}, Step{Ops: []Op{SetCpuset("cg0", LLC(1))}, Hold: For(300 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	want := `backdrop:
  cgroup cg0, cpus 0-1 (llc 0): 2 × spin
step 1, 1s:
step 2, 300ms:
  set-cpuset cg0 llc 1 (cpus 2)
`
	if p.String() != want || p.Steps() != 2 || p.Duration() != 1300*time.Millisecond {
		t.Errorf("String:\n%s\nSteps %d, Duration %v", p, p.Steps(), p.Duration())
	}
	if _, err := Prepare(topo(1, 2, 2, 1), time.Second, Backdrop{}); err == nil || err.Error() != "scenario: no steps" {
		t.Errorf("no steps: %v", err)
	}
}

func TestDo(t *testing.T) {
	// The function the plan carries hands f the executor's *ktstr.Ctx.
	ctx := &ktstr.Ctx{}
	var got *ktstr.Ctx
	want := errors.New("done")
	op := Do("look", func(c *ktstr.Ctx) error { got = c; return want })
	p, err := plan.Prepare(topo(1, 1, 2, 1), time.Second, Backdrop{}, Step{Ops: []Op{op}, Hold: Frac(1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Steps[0].Ops[0].Fn(ctx); err != want || got != ctx {
		t.Errorf("Fn returned %v with ctx %p, want %v with %p", err, got, want, ctx)
	}
	// A nil function stays nil, for Prepare to report.
	_, err = Prepare(topo(1, 1, 2, 1), time.Second, Backdrop{}, Step{Ops: []Op{Do("nil", nil)}, Hold: Frac(1)})
	if err == nil || err.Error() != `step 1: op 1 (do "nil"): no function` {
		t.Errorf("nil Do: %v", err)
	}
}
