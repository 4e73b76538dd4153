package ktfail

import (
	"errors"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr"
)

func TestMain(m *testing.M) { ktstr.Main(m) }

func TestBodyFails(t *testing.T) {
	ktstr.Run(t, ktstr.Spec{
		Topologies: []ktstr.Topology{ktstr.Topo(1, 1, 2, 1), ktstr.Topo(1, 2, 1, 1)},
		Duration:   time.Second,
	}, func(ctx *ktstr.Ctx) error {
		if len(ctx.Topology.LLCs) == 2 {
			return errors.New("cg1: worker 3 starved: 0 work units in 1s")
		}
		return nil
	})
}

func TestBodyPanics(t *testing.T) {
	ktstr.Run(t, ktstr.Spec{Topology: ktstr.Topo(1, 1, 1, 1), Duration: time.Second}, func(ctx *ktstr.Ctx) error {
		var m map[string]int
		m["x"] = 1
		return nil
	})
}
