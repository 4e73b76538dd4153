package scenariofile

import (
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/plan"
)

func TestIndexLines(t *testing.T) {
	x, err := newIndex(doc(
		`topology = "1n2l2c1t"`,
		`backdrop.op = [{ op = "add-cgroup", cgroup = "x" }]`,
		`[[step]]`,
		`hold = "1s"`,
		`[[step.cgroup]]`,
		`name = "a"`,
		`[[step.cgroup.work]]`,
		`type = "spin"`,
		`[[step]]`,
		`[[step.cgroup]]`,
		`work = [`,
		`  { type = "bursty" },`,
		`  { type = "sequence", phases = [{ kind = "spin" }] },`,
		`]`,
		`[checks]`,
		`max_gap = "2s"`,
	))
	if err != nil {
		t.Fatal(err)
	}
	for path, line := range map[string]int{
		"topology":                            1,
		"backdrop":                            2,
		"backdrop.op[0].cgroup":               2,
		"step[0]":                             3,
		"step[0].hold":                        4,
		"step[0].cgroup[0].name":              6,
		"step[0].cgroup[0].work[0]":           7,
		"step[0].cgroup[0].work[0].type":      8,
		"step[1]":                             9,
		"step[1].hold":                        9, // missing: its step
		"step[1].cgroup[0]":                   10,
		"step[1].cgroup[0].work[0].type":      12,
		"step[1].cgroup[0].work[1]":           13,
		"step[1].cgroup[0].work[1].phases[0]": 13,
		"checks.max_gap":                      16,
		"nothing":                             0,
	} {
		if got := x.line(path); got != line {
			t.Errorf("line(%q) = %d, want %d", path, got, line)
		}
	}
}

// TestValidateUnparsed checks that Validate works on a File built in Go,
// without lines to give.
func TestValidateUnparsed(t *testing.T) {
	f := &File{Name: "go", Topologies: []string{"1n1l1c1t"}, Duration: time.Second,
		Steps: []plan.Step{{Defs: []plan.CgroupDef{{Name: "a", Cpuset: plan.LLC(3)}}, Hold: plan.Frac(1)}}}
	expect := func(err error, want string) {
		t.Helper()
		if err == nil || err.Error() != want {
			t.Errorf("error %v, want %s", err, want)
		}
	}
	expect(f.Validate(), "go: on 1n1l1c1t: step 1: cgroup a: cpuset llc 3: the guest has 1 LLCs (0-0)")
	f.Topologies = nil
	expect(f.Validate(), "go: no topology to validate against")
}
