package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps checks that the command links neither the root package nor
// what it brings along: the testing package and the guest and host
// runtimes. `ktstr scenarios` plans from internal/catalog and
// internal/plan for that reason; importing package scenario (or calling
// ktstr.ParseTopology) would undo it without any other test noticing.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/ktstr-go/ktstr"
	banned := []string{mod, mod + "/scenario", mod + "/internal/guest", mod + "/internal/host", mod + "/internal/vm", "testing"}
	for _, p := range strings.Fields(string(out)) {
		for _, b := range banned {
			if p == b {
				t.Errorf("cmd/ktstr links %s", p)
			}
		}
	}
}
