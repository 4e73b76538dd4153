package plan

import (
	"errors"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/work"
)

func TestPrepareProblemLocations(t *testing.T) {
	// Each problem says where it is, so that a scenario file can name the
	// line that declared it.
	_, err := Prepare(topo(1, 2, 2, 1), 2*time.Second,
		Backdrop{Defs: []CgroupDef{{Name: "bd"}, {Name: "b2", Cpuset: LLC(5)}}},
		Step{Hold: Every(100*time.Millisecond, Frac(1)), Ops: []Op{AddCgroup("x"), SetCpuset("bd", Node(3))}},
		Step{Defs: []CgroupDef{{Name: "ok"}, {Name: "a/../b"}, {Name: "w", Work: []work.Group{{}, {Type: work.PipePingPong(1), Workers: 3}}}}},
	)
	want := []Problem{
		{Step: 0, Def: 2, Field: "cpuset"},
		{Step: 1, Op: 2, Field: "cpuset"},
		{Step: 1, Op: 1, Repeat: true},
		{Step: 1, Op: 2, Field: "cpuset", Repeat: true},
		{Step: 2, Field: "hold"},
		{Step: 2, Def: 2, Field: "name"},
		{Step: 2, Def: 3, Field: "work", Work: 2},
	}
	var got []Problem
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var p *Problem
		if !errors.As(e, &p) {
			t.Fatalf("%v: not a *Problem", e)
		}
		if p.Error() == "" || p.Err == nil || !errors.Is(p, p.Err) {
			t.Errorf("%+v: no message or no Err", p)
		}
		got = append(got, Problem{Step: p.Step, Def: p.Def, Op: p.Op, Field: p.Field, Work: p.Work, Repeat: p.Repeat})
	}
	if len(got) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(got), len(want), err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("problem %d at %+v, want %+v", i+1, got[i], want[i])
		}
	}
}
