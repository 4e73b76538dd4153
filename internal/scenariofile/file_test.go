package scenariofile

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/plan"
	"github.com/ktstr-go/ktstr/work"
)

// TestParseFull parses a file that uses every part of the schema into the
// values a Go test would write.
func TestParseFull(t *testing.T) {
	f, err := Load("testdata/full.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if f.Name != "testdata/full.toml" {
		t.Errorf("Name %q", f.Name)
	}
	if want := []string{"1n2l2c1t", "2n2l2c1t"}; !reflect.DeepEqual(f.Topologies, want) {
		t.Errorf("Topologies %v, want %v", f.Topologies, want)
	}
	if f.Duration != 4*time.Second {
		t.Errorf("Duration %v", f.Duration)
	}
	if want := []string{"basic/steady", "cpuset/swap"}; !reflect.DeepEqual(f.Catalogue, want) {
		t.Errorf("Catalogue %v, want %v", f.Catalogue, want)
	}
	wantAssert := check.Assert{
		MaxGap:           check.Set(2500 * time.Millisecond),
		MaxSpreadPct:     check.Set(30.0),
		MinPageLocality:  check.Set(0.5),
		Isolation:        check.Set(false),
		NotStarved:       check.On(),
		MaxLocalDSQDepth: check.Set(80),
		MonitorPeriod:    check.Disable[time.Duration](),
	}
	if !reflect.DeepEqual(f.Assert, wantAssert) {
		t.Errorf("Assert:\n%v\nwant:\n%v", f.Assert, wantAssert)
	}

	mutex := work.MutexContention(2, 10, 1024)
	fanOut := work.FutexFanOut(2, 1024)
	wantBackdrop := plan.Backdrop{
		Defs: []plan.CgroupDef{
			{Name: "bg", Cpuset: plan.LLC(1), Work: []work.Group{{Type: work.Spin(), Workers: 1, Policy: work.Batch}}},
			{Name: "nest/a", Cpuset: plan.Exact(0, 1)},
		},
		Ops: []plan.Op{plan.AddCgroup("side")},
	}
	wantSteps := []plan.Step{
		{
			Name: "split",
			Hold: plan.Frac(0.25),
			Defs: []plan.CgroupDef{
				{Name: "cg0", Cpuset: plan.Disjoint(0, 2), Work: []work.Group{
					{Type: work.Bursty(20*time.Millisecond, 100*time.Millisecond), Workers: 4},
					{Type: work.PipePingPong(512), Affinity: work.LLCAligned},
				}},
				{Name: "cg1", Cpuset: plan.Overlap(1, 2, 0.5), Work: []work.Group{
					{Type: work.Sequence(work.SpinFor(20*time.Millisecond), work.SleepFor(5*time.Millisecond))},
					{Type: mutex, Workers: 4},
				}},
			},
			Ops: []plan.Op{
				plan.AddCgroup("extra"),
				plan.SetCpuset("extra", plan.Range(0, 0.5)),
				plan.Spawn("extra", work.Group{Type: fanOut, Workers: 3, MemPolicy: work.Bind(0)}),
				plan.Spawn("extra", work.Group{Type: work.YieldHeavy()}),
			},
		},
		{
			Hold: plan.Every(250*time.Millisecond, plan.For(time.Second)),
			Ops: []plan.Op{
				plan.SwapCpusets("bg", "extra"),
				plan.SetAffinity("extra", work.Exact(0, 2)),
				plan.SpawnHost(work.Group{Type: work.ForkExit(), Workers: 1, Policy: work.FIFO(5)}),
			},
		},
		{
			Name: "wind-down",
			Hold: plan.Frac(0.5),
			Defs: []plan.CgroupDef{{Name: "last", Cpuset: plan.Node(0), Work: []work.Group{{Type: work.CachePressure(64, 64), MemPolicy: work.MemLocal}}}},
			Ops: []plan.Op{
				plan.StopCgroup(""),
				plan.MoveAllTasks("extra", "nest/a"),
				plan.ClearCpuset("bg"),
				plan.StopCgroup("extra"),
				plan.RemoveCgroup("extra"),
			},
		},
	}
	if !reflect.DeepEqual(f.Backdrop, wantBackdrop) {
		t.Errorf("Backdrop:\n%+v\nwant:\n%+v", f.Backdrop, wantBackdrop)
	}
	if len(f.Steps) != len(wantSteps) {
		t.Fatalf("%d steps, want %d", len(f.Steps), len(wantSteps))
	}
	for i := range wantSteps {
		if !reflect.DeepEqual(f.Steps[i], wantSteps[i]) {
			t.Errorf("step %d:\n%+v\nwant:\n%+v", i+1, f.Steps[i], wantSteps[i])
		}
	}
	// 25 % and 50 % of 4 s, 1 s, and 4 s per catalogue scenario.
	if got, want := f.RunTime(), 12*time.Second; got != want {
		t.Errorf("RunTime %v, want %v", got, want)
	}
}

// TestLoadMissing checks that a file that cannot be read says so.
func TestLoadMissing(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none.toml")); !os.IsNotExist(err) {
		t.Errorf("error %v, want not exist", err)
	}
}

// TestDefaults checks what a minimal file leaves to the defaults.
func TestDefaults(t *testing.T) {
	f, err := Parse("t.toml", doc(`topology = "1n2l2c1t"`, `[[step]]`, `hold = "100%"`, `[[step.cgroup]]`, `name = "cg0"`, `[[step.cgroup]]`, `name = "cg1"`, `work = [{}]`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Duration != DefaultDuration {
		t.Errorf("Duration %v", f.Duration)
	}
	want := []plan.CgroupDef{{Name: "cg0"}, {Name: "cg1", Work: []work.Group{{Type: work.Spin()}}}}
	if !reflect.DeepEqual(f.Steps[0].Defs, want) {
		t.Errorf("Defs %+v, want %+v", f.Steps[0].Defs, want)
	}
	if f.Assert != (check.Assert{}) {
		t.Errorf("Assert set: %v", f.Assert)
	}
}
