package work

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DefaultWorkers is the worker count of a [Group] that leaves Workers zero.
const DefaultWorkers = 2

// Group is a work group: workers of one [Type] in one cgroup, with the
// scheduling policy, CPU affinity and NUMA memory policy they apply before
// their loop. It is plain data (it serialises to JSON).
type Group struct {
	// Type is the work every worker does; the zero Type spins.
	Type Type `json:"type"`
	// Workers is the number of worker processes; 0 means DefaultWorkers.
	// Grouped types need a multiple of [Type.GroupSize].
	Workers int `json:"workers,omitempty"`
	// Policy is the scheduling policy; the zero Policy is [Normal].
	Policy Policy `json:"policy,omitzero"`
	// Affinity is the CPU affinity intent; the zero Affinity is [Inherit].
	// The harness resolves it to concrete CPUs per worker.
	Affinity Affinity `json:"affinity,omitzero"`
	// MemPolicy is the NUMA memory policy; the zero MemPolicy is
	// [MemDefault].
	MemPolicy MemPolicy `json:"mem_policy,omitzero"`
}

// WorkerCount returns the number of workers, applying the default.
func (g Group) WorkerCount() int {
	if g.Workers == 0 {
		return DefaultWorkers
	}
	return g.Workers
}

// Validate reports what is wrong with the group: its type for its worker
// count ([Type.Validate]), its policy, affinity and memory policy.
func (g Group) Validate() error {
	return errors.Join(g.Type.Validate(g.WorkerCount()), g.Policy.Validate(), g.Affinity.Validate(), g.MemPolicy.Validate())
}

// String summarises the group, e.g. "4 × bursty(burst=50ms, sleep=100ms),
// fifo(10), llc-aligned".
func (g Group) String() string {
	s := fmt.Sprintf("%d × %v", g.WorkerCount(), g.Type)
	if !g.Policy.IsNormal() {
		s += ", " + g.Policy.String()
	}
	if g.Affinity.Mode != AffinityInherit {
		s += ", " + g.Affinity.String()
	}
	if g.MemPolicy.Mode != MemModeDefault {
		s += ", mem " + g.MemPolicy.String()
	}
	return s
}

// PolicyClass is a scheduling policy class.
type PolicyClass string

// The scheduling policy classes.
const (
	ClassNormal PolicyClass = ""      // SCHED_OTHER (also accepted as "normal")
	ClassBatch  PolicyClass = "batch" // SCHED_BATCH
	ClassIdle   PolicyClass = "idle"  // SCHED_IDLE
	ClassFIFO   PolicyClass = "fifo"  // SCHED_FIFO, with a priority
	ClassRR     PolicyClass = "rr"    // SCHED_RR, with a priority
)

// Policy is a scheduling policy. Use [Normal], [Batch], [Idle], [FIFO] or
// [RR].
type Policy struct {
	// Class is the policy class.
	Class PolicyClass `json:"class,omitempty"`
	// Priority is the real-time priority, 1 to 99, of FIFO and RR.
	Priority int `json:"priority,omitempty"`
}

// The policies without parameters.
var (
	// Normal is SCHED_OTHER, the default.
	Normal = Policy{}
	// Batch is SCHED_BATCH.
	Batch = Policy{Class: ClassBatch}
	// Idle is SCHED_IDLE.
	Idle = Policy{Class: ClassIdle}
)

// FIFO is SCHED_FIFO at priority prio (1 to 99). Real-time policies need
// CAP_SYS_NICE, which the guest's root has.
func FIFO(prio int) Policy { return Policy{Class: ClassFIFO, Priority: prio} }

// RR is SCHED_RR at priority prio (1 to 99).
func RR(prio int) Policy { return Policy{Class: ClassRR, Priority: prio} }

// IsNormal reports whether p is SCHED_OTHER.
func (p Policy) IsNormal() bool { return p.Class == ClassNormal || p.Class == "normal" }

// Validate reports an unknown class or a priority out of range.
func (p Policy) Validate() error {
	switch {
	case p.IsNormal(), p.Class == ClassBatch, p.Class == ClassIdle:
		if p.Priority != 0 {
			return fmt.Errorf("policy %s takes no priority, got %d", p, p.Priority)
		}
	case p.Class == ClassFIFO, p.Class == ClassRR:
		if p.Priority < 1 || p.Priority > 99 {
			return fmt.Errorf("policy %s needs a priority from 1 to 99, got %d", p.Class, p.Priority)
		}
	default:
		return fmt.Errorf("unknown scheduling policy %q (have: normal, batch, idle, fifo, rr)", string(p.Class))
	}
	return nil
}

// String formats the policy as "normal", "batch", "idle", "fifo(10)" or
// "rr(5)".
func (p Policy) String() string {
	switch {
	case p.IsNormal():
		return "normal"
	case p.Class == ClassFIFO || p.Class == ClassRR:
		return fmt.Sprintf("%s(%d)", p.Class, p.Priority)
	}
	return string(p.Class)
}

// AffinityMode is how the CPUs a worker may run on are chosen.
type AffinityMode string

// The affinity modes.
const (
	AffinityInherit      AffinityMode = ""              // no sched_setaffinity: the cgroup's cpuset
	AffinityRandomSubset AffinityMode = "random-subset" // a random half of the cgroup's CPUs (or of all CPUs)
	AffinityLLCAligned   AffinityMode = "llc-aligned"   // the CPUs of one LLC, workers spread over the LLCs
	AffinityAllCPUs      AffinityMode = "all-cpus"      // every CPU, across cgroup cpusets
	AffinitySingleCPU    AffinityMode = "single-cpu"    // one CPU each, workers spread over the CPUs
	AffinityExact        AffinityMode = "exact"         // the given CPUs
)

// Affinity is a CPU affinity intent, which the harness resolves to concrete
// CPUs per worker from the topology and the cgroup's cpuset. Use
// [Inherit], [RandomSubset], [LLCAligned], [AllCPUs], [SingleCPU] or
// [Exact].
type Affinity struct {
	// Mode is the intent.
	Mode AffinityMode `json:"mode,omitempty"`
	// CPUs are the CPUs of AffinityExact.
	CPUs []int `json:"cpus,omitempty"`
}

// The affinity intents without parameters.
var (
	// Inherit leaves affinity alone: the worker may run on its cgroup's
	// cpuset.
	Inherit = Affinity{}
	// RandomSubset pins each worker to a random half (at least one) of its
	// cgroup's CPUs, or of all CPUs without a cpuset.
	RandomSubset = Affinity{Mode: AffinityRandomSubset}
	// LLCAligned pins each worker to the CPUs of one LLC (within the
	// cgroup's cpuset), spreading workers over the LLCs.
	LLCAligned = Affinity{Mode: AffinityLLCAligned}
	// AllCPUs pins each worker to every CPU (the kernel still confines it
	// to its cgroup's cpuset).
	AllCPUs = Affinity{Mode: AffinityAllCPUs}
	// SingleCPU pins each worker to one CPU of its cgroup's cpuset,
	// spreading workers over the CPUs.
	SingleCPU = Affinity{Mode: AffinitySingleCPU}
)

// Exact pins every worker to cpus.
func Exact(cpus ...int) Affinity { return Affinity{Mode: AffinityExact, CPUs: slices.Clone(cpus)} }

// Validate reports an unknown mode or bad CPUs.
func (a Affinity) Validate() error {
	switch a.Mode {
	case AffinityInherit, AffinityRandomSubset, AffinityLLCAligned, AffinityAllCPUs, AffinitySingleCPU:
		if len(a.CPUs) > 0 {
			return fmt.Errorf("affinity %s takes no CPUs, got %v", a, a.CPUs)
		}
	case AffinityExact:
		if len(a.CPUs) == 0 {
			return errors.New("affinity exact: no CPUs")
		}
		for _, c := range a.CPUs {
			if c < 0 || c >= maxCPUs {
				return fmt.Errorf("affinity exact: bad CPU %d", c)
			}
		}
	default:
		return fmt.Errorf("unknown affinity %q (have: inherit, random-subset, llc-aligned, all-cpus, single-cpu, exact)", string(a.Mode))
	}
	return nil
}

// maxCPUs bounds CPU and node ids (the kernel's largest NR_CPUS is 8192).
const maxCPUs = 8192

// String formats the affinity as "inherit", "llc-aligned" or
// "exact(0,2)".
func (a Affinity) String() string {
	switch a.Mode {
	case AffinityInherit:
		return "inherit"
	case AffinityExact:
		return "exact(" + joinInts(a.CPUs) + ")"
	}
	return string(a.Mode)
}

// MemMode is a NUMA memory policy mode (set_mempolicy(2)).
type MemMode string

// The memory policy modes.
const (
	MemModeDefault    MemMode = ""           // MPOL_DEFAULT: allocate on the local node
	MemModeBind       MemMode = "bind"       // MPOL_BIND: only from the nodes
	MemModePreferred  MemMode = "preferred"  // MPOL_PREFERRED: the node first
	MemModeInterleave MemMode = "interleave" // MPOL_INTERLEAVE: round-robin over the nodes
	MemModeLocal      MemMode = "local"      // MPOL_LOCAL: the node of the CPU allocating
)

// MemPolicy is a NUMA memory policy a worker sets (set_mempolicy(2)) for
// the thread that runs its loop, before it allocates its buffers. Use
// [MemDefault], [Bind], [Preferred], [Interleave] or [MemLocal].
type MemPolicy struct {
	// Mode is the policy mode.
	Mode MemMode `json:"mode,omitempty"`
	// Nodes are the NUMA nodes of bind, interleave (one or more) and
	// preferred (exactly one).
	Nodes []int `json:"nodes,omitempty"`
}

// The memory policies without parameters.
var (
	// MemDefault is the kernel's default policy: no set_mempolicy call,
	// and no NUMA page counts in the report.
	MemDefault = MemPolicy{}
	// MemLocal allocates on the node of the CPU that allocates.
	MemLocal = MemPolicy{Mode: MemModeLocal}
)

// Bind allocates only from nodes.
func Bind(nodes ...int) MemPolicy { return MemPolicy{Mode: MemModeBind, Nodes: slices.Clone(nodes)} }

// Preferred allocates from node first, then elsewhere.
func Preferred(node int) MemPolicy { return MemPolicy{Mode: MemModePreferred, Nodes: []int{node}} }

// Interleave allocates round-robin over nodes.
func Interleave(nodes ...int) MemPolicy {
	return MemPolicy{Mode: MemModeInterleave, Nodes: slices.Clone(nodes)}
}

// Validate reports an unknown mode or a node set the mode does not take.
func (m MemPolicy) Validate() error {
	for _, n := range m.Nodes {
		if n < 0 || n >= maxCPUs {
			return fmt.Errorf("memory policy %s: bad node %d", m, n)
		}
	}
	switch m.Mode {
	case MemModeDefault, MemModeLocal:
		if len(m.Nodes) > 0 {
			return fmt.Errorf("memory policy %s takes no nodes, got %v", m, m.Nodes)
		}
	case MemModeBind, MemModeInterleave:
		if len(m.Nodes) == 0 {
			return fmt.Errorf("memory policy %s: no nodes", m.Mode)
		}
	case MemModePreferred:
		if len(m.Nodes) != 1 {
			return fmt.Errorf("memory policy preferred takes one node, got %v", m.Nodes)
		}
	default:
		return fmt.Errorf("unknown memory policy %q (have: default, bind, preferred, interleave, local)", string(m.Mode))
	}
	return nil
}

// String formats the policy as "default", "local", "bind(0,1)" or
// "preferred(1)".
func (m MemPolicy) String() string {
	switch m.Mode {
	case MemModeDefault:
		return "default"
	case MemModeLocal:
		return "local"
	}
	return string(m.Mode) + "(" + joinInts(m.Nodes) + ")"
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}
