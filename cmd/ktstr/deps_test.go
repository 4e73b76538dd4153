package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps checks what the command links. It boots VMs itself (ktstr
// shell) and is their init, so the host and guest runtimes are in; test
// fixtures must never be, and neither the root package nor package
// scenario, which only a scenario file's run in the guest needs: `ktstr
// scenarios` plans from internal/catalog and internal/plan, and calling
// ktstr.ParseTopology would link the root without any other test noticing.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/ktstr-go/ktstr"
	banned := []string{mod, mod + "/scenario"}
	for _, p := range strings.Fields(string(out)) {
		for _, b := range banned {
			if p == b {
				t.Errorf("cmd/ktstr links %s", p)
			}
		}
		if base := p[strings.LastIndex(p, "/")+1:]; strings.HasSuffix(base, "test") && base != "gotest" && strings.HasPrefix(p, mod+"/") {
			t.Errorf("cmd/ktstr links the test fixture %s", p)
		}
	}
}
