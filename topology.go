package ktstr

import (
	"fmt"

	"github.com/ktstr-go/ktstr/internal/topolabel"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// Topology is the CPU topology a test's VM gets: NUMA nodes, last-level
// caches (LLCs), cores per LLC and hardware threads per core. LLCs are spread
// evenly over the nodes; CPU ids count threads fastest, then cores, LLCs and
// nodes, so CPUs 0..Cores*Threads-1 share LLC 0.
type Topology struct {
	NUMANodes      int
	LLCs           int
	CoresPerLLC    int
	ThreadsPerCore int
}

// Topo returns the topology with the given NUMA nodes, LLCs, cores per LLC
// and threads per core. Topo(1, 2, 2, 1) is one node with two LLCs of two
// single-threaded cores each: 4 CPUs.
func Topo(nodes, llcs, coresPerLLC, threadsPerCore int) Topology {
	return Topology{NUMANodes: nodes, LLCs: llcs, CoresPerLLC: coresPerLLC, ThreadsPerCore: threadsPerCore}
}

// CPUs is the number of logical CPUs.
func (t Topology) CPUs() int { return t.LLCs * t.CoresPerLLC * t.ThreadsPerCore }

// String is the topology's label, "{nodes}n{llcs}l{cores}c{threads}t", for
// example "1n2l4c2t". It names subtests and result files.
func (t Topology) String() string {
	return fmt.Sprintf("%dn%dl%dc%dt", t.NUMANodes, t.LLCs, t.CoresPerLLC, t.ThreadsPerCore)
}

// Validate reports what is wrong with the topology, if anything.
func (t Topology) Validate() error { return topolabel.Validate(t.shape()) }

// ParseTopology parses a label such as "1n2l4c2t" (see [Topology.String]).
func ParseTopology(label string) (Topology, error) {
	s, err := topolabel.Parse(label)
	return Topo(s.Nodes, s.LLCs, s.Cores, s.Threads), err
}

func (t Topology) shape() wire.Shape {
	return wire.Shape{Nodes: t.NUMANodes, LLCs: t.LLCs, Cores: t.CoresPerLLC, Threads: t.ThreadsPerCore}
}
