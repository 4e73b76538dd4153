package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps checks that the command links no test fixture. It links the
// host and guest runtimes and the public API on purpose: it boots VMs
// itself (ktstr shell, ktstr run) and is their init, running a scenario
// file's body with ktstr.RegisterProgram as any program could.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/ktstr-go/ktstr"
	for _, p := range strings.Fields(string(out)) {
		if base := p[strings.LastIndex(p, "/")+1:]; strings.HasSuffix(base, "test") && base != "gotest" && strings.HasPrefix(p, mod+"/") {
			t.Errorf("cmd/ktstr links the test fixture %s", p)
		}
	}
}
