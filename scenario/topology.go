package scenario

import (
	"github.com/ktstr-go/ktstr"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// GuestTopology returns the CPU topology a guest booted with t reports as
// ctx.Topology (the guest checks on every boot that it does): CPUs
// numbered thread fastest, then core, LLC and node. It lets a scenario be
// prepared and inspected outside the guest.
func GuestTopology(t ktstr.Topology) *ktstr.CPUTopology {
	g := guest.Expected(wire.Shape{Nodes: t.NUMANodes, LLCs: t.LLCs, Cores: t.CoresPerLLC, Threads: t.ThreadsPerCore})
	return &ktstr.CPUTopology{CPUs: g.CPUs, LLCs: g.LLCs, Nodes: g.Nodes, Distances: g.Distances, Siblings: g.Siblings}
}
