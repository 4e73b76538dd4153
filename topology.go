package ktstr

import (
	"fmt"
	"regexp"
	"strconv"

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

// maxCPUs is QEMU's limit for the q35 machine with x2APIC.
const maxCPUs = 288

// Validate reports what is wrong with the topology, if anything.
func (t Topology) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"NUMA nodes", t.NUMANodes}, {"LLCs", t.LLCs}, {"cores per LLC", t.CoresPerLLC}, {"threads per core", t.ThreadsPerCore}} {
		if f.v > maxCPUs {
			return fmt.Errorf("topology %s: %s is %d; at most %d", t, f.name, f.v, maxCPUs)
		}
		if f.v < 1 {
			return fmt.Errorf("topology %s: %s is %d; every field must be at least 1 (Topo(nodes, llcs, cores, threads), e.g. Topo(1, 2, 2, 1))", t, f.name, f.v)
		}
	}
	if t.LLCs%t.NUMANodes != 0 {
		return fmt.Errorf("topology %s: %d LLCs cannot be spread evenly over %d NUMA nodes; make LLCs a multiple of the node count", t, t.LLCs, t.NUMANodes)
	}
	if t.ThreadsPerCore > 2 {
		return fmt.Errorf("topology %s: %d threads per core; x86 CPUs have 1 or 2", t, t.ThreadsPerCore)
	}
	if t.CPUs() > maxCPUs {
		return fmt.Errorf("topology %s: %d CPUs, more than the %d a q35 VM can have", t, t.CPUs(), maxCPUs)
	}
	return nil
}

var labelRE = regexp.MustCompile(`^(0|[1-9]\d{0,2})n(0|[1-9]\d{0,2})l(0|[1-9]\d{0,2})c(0|[1-9]\d{0,2})t$`)

// ParseTopology parses a label such as "1n2l4c2t" (see [Topology.String]).
func ParseTopology(label string) (Topology, error) {
	m := labelRE.FindStringSubmatch(label)
	if m == nil {
		return Topology{}, fmt.Errorf("topology %q: want {nodes}n{llcs}l{cores}c{threads}t, e.g. 1n2l4c2t", label)
	}
	n := make([]int, 4)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	t := Topo(n[0], n[1], n[2], n[3])
	return t, t.Validate()
}

func (t Topology) shape() wire.Shape {
	return wire.Shape{Nodes: t.NUMANodes, LLCs: t.LLCs, Cores: t.CoresPerLLC, Threads: t.ThreadsPerCore}
}
