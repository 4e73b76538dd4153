package scenariofile

import (
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/work"
)

// TestReferenceComplete checks that docs/scenario-files.md documents every
// key the schema takes: every check of check.Assert (which [checks] takes
// without a change here), every work type and parameter, every op and
// every key of every table.
func TestReferenceComplete(t *testing.T) {
	data, err := os.ReadFile("../../docs/scenario-files.md")
	if err != nil {
		t.Fatal(err)
	}
	ref := string(data)
	mention := func(what, name string) {
		if !strings.Contains(ref, "`"+name+"`") && !strings.Contains(ref, "`["+name+"]`") && !strings.Contains(ref, "`[["+name+"]]`") {
			t.Errorf("docs/scenario-files.md does not document %s `%s`", what, name)
		}
	}
	for _, name := range checkNames() {
		mention("the check", name)
	}
	for _, k := range work.AllKinds() {
		mention("the work type", string(k))
		for _, p := range params[k] {
			mention("the parameter", p)
		}
	}
	for _, op := range opNames() {
		mention("the op", op)
	}
	for _, v := range []any{rawFile{}, rawBackdrop{}, rawStep{}, rawCgroup{}, rawOp{}, rawWork{}, rawPhase{}} {
		for _, key := range keysOf(reflect.TypeOf(v)) {
			mention("the key", key)
		}
	}
}

// TestDeps checks that this package links neither the root package nor
// package scenario, and with them the testing package and the guest
// runtime: the ktstr command parses and validates files with it.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/ktstr-go/ktstr"
	for _, p := range strings.Fields(string(out)) {
		switch p {
		case mod, mod + "/scenario", mod + "/internal/guest", mod + "/internal/host", "testing":
			t.Errorf("internal/scenariofile links %s", p)
		}
	}
}
