package scenario

import (
	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/internal/cputopo"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// GuestTopology returns the CPU topology a guest booted with t reports as
// ctx.Topology (the guest checks on every boot that it does): CPUs
// numbered thread fastest, then core, LLC and node. It lets a scenario be
// prepared and inspected outside the guest.
func GuestTopology(t ktstr.Topology) *ktstr.CPUTopology {
	return cputopo.Expected(wire.Shape{Nodes: t.NUMANodes, LLCs: t.LLCs, Cores: t.CoresPerLLC, Threads: t.ThreadsPerCore})
}
