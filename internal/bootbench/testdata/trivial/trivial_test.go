// Package trivial holds the smallest ktstr test: boot, an empty body,
// power-off. BenchmarkBootOverhead in package bootbench times its whole
// test binary against a bare boot of the same kernel.
package trivial

import (
	"testing"

	"github.com/ktstr-go/ktstr"
)

func TestMain(m *testing.M) { ktstr.Main(m) }

// TestTrivial does nothing in the guest: all it costs is the harness.
func TestTrivial(t *testing.T) {
	ktstr.Run(t, ktstr.Spec{Topology: ktstr.Topo(1, 1, 2, 1), NoGauntlet: true},
		func(*ktstr.Ctx) error { return nil })
}
