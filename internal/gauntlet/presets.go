package gauntlet

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ktstr-go/ktstr/internal/env"
)

// Preset is a named gauntlet topology: NUMA nodes, last-level caches (LLCs,
// spread evenly over the nodes), cores per LLC and hardware threads per core.
type Preset struct {
	Name    string
	Nodes   int
	LLCs    int
	Cores   int // per LLC
	Threads int // per core
}

// CPUs is the number of logical CPUs (vCPUs): LLCs × Cores × Threads.
func (p Preset) CPUs() int { return p.LLCs * p.Cores * p.Threads }

// SMT reports whether cores have more than one hardware thread.
func (p Preset) SMT() bool { return p.Threads > 1 }

// Label is the shape "{nodes}n{llcs}l{cores}c{threads}t", e.g. "1n2l4c2t"
// (16 CPUs), the same format as ktstr.Topology's String.
func (p Preset) Label() string {
	return fmt.Sprintf("%dn%dl%dc%dt", p.Nodes, p.LLCs, p.Cores, p.Threads)
}

// presets is the reference table (ktstr's vm::gauntlet_presets(), x86_64):
// 24 presets from 4 to 252 CPUs.
var presets = []Preset{
	{"tiny-1llc", 1, 1, 4, 1},
	{"tiny-2llc", 1, 2, 2, 1},
	{"odd-3llc", 1, 3, 3, 1},
	{"odd-5llc", 1, 5, 3, 1},
	{"odd-7llc", 1, 7, 2, 1},
	{"smt-2llc", 1, 2, 2, 2},
	{"smt-3llc", 1, 3, 2, 2},
	{"medium-4llc", 1, 4, 4, 2},
	{"medium-8llc", 1, 8, 4, 2},
	{"large-4llc", 1, 4, 16, 2},
	{"large-8llc", 1, 8, 8, 2},
	{"near-max-llc", 1, 15, 8, 2},
	{"max-cpu", 1, 14, 9, 2},
	{"medium-4llc-nosmt", 1, 4, 8, 1},
	{"medium-8llc-nosmt", 1, 8, 8, 1},
	{"large-4llc-nosmt", 1, 4, 32, 1},
	{"large-8llc-nosmt", 1, 8, 16, 1},
	{"near-max-llc-nosmt", 1, 15, 16, 1},
	{"max-cpu-nosmt", 1, 14, 18, 1},
	{"numa2-4llc", 2, 4, 4, 1},
	{"numa2-8llc", 2, 8, 8, 2},
	{"numa2-8llc-nosmt", 2, 8, 16, 1},
	{"numa4-8llc", 4, 8, 4, 1},
	{"numa4-12llc", 4, 12, 8, 2},
}

// Presets returns the 24 reference presets in their reference order. The
// slice is a fresh copy the caller may modify.
func Presets() []Preset { return append([]Preset(nil), presets...) }

// PresetByName returns the reference preset with the given name.
func PresetByName(name string) (Preset, bool) {
	for _, p := range presets {
		if p.Name == name {
			return p, true
		}
	}
	return Preset{}, false
}

// NoLimit, in a Constraints field, removes that bound: MaxLLCs: NoLimit
// accepts any number of LLCs, MinCPUs: NoLimit any CPU count. (Any negative
// value means the same.)
const NoLimit = -1

// Default bounds of Constraints (the reference's TopologyConstraints
// defaults). They keep a plain gauntlet on one NUMA node and away from the
// largest presets: near-max-llc*, max-cpu* and every numa* preset are out
// unless a test widens them.
const (
	DefaultMaxNodes = 1
	DefaultMaxLLCs  = 12
	DefaultMaxCPUs  = 192
)

// Constraints is what topologies a test accepts. A zero field means the
// default (every minimum 1; MaxNodes 1, MaxLLCs 12, MaxCPUs 192); a negative
// field ([NoLimit]) means no bound. So Constraints{} is the reference default,
// and Constraints{MaxNodes: NoLimit, MinLLCs: 2} accepts every node count and
// at least 2 LLCs.
type Constraints struct {
	MinNodes, MaxNodes int
	MinLLCs, MaxLLCs   int
	MinCPUs, MaxCPUs   int
	// RequiresSMT accepts only presets with 2 or more threads per core.
	RequiresSMT bool
}

// Effective returns c with zero fields replaced by their defaults and
// negative fields normalised to NoLimit.
func (c Constraints) Effective() Constraints {
	lo := func(v int) int {
		switch {
		case v == 0:
			return 1
		case v < 0:
			return NoLimit
		}
		return v
	}
	hi := func(v, def int) int {
		switch {
		case v == 0:
			return def
		case v < 0:
			return NoLimit
		}
		return v
	}
	return Constraints{
		MinNodes: lo(c.MinNodes), MaxNodes: hi(c.MaxNodes, DefaultMaxNodes),
		MinLLCs: lo(c.MinLLCs), MaxLLCs: hi(c.MaxLLCs, DefaultMaxLLCs),
		MinCPUs: lo(c.MinCPUs), MaxCPUs: hi(c.MaxCPUs, DefaultMaxCPUs),
		RequiresSMT: c.RequiresSMT,
	}
}

// Validate reports a minimum above its maximum (after defaults), which would
// silently reject every preset.
func (c Constraints) Validate() error {
	e := c.Effective()
	for _, b := range []struct {
		what     string
		min, max int
	}{{"NUMA nodes", e.MinNodes, e.MaxNodes}, {"LLCs", e.MinLLCs, e.MaxLLCs}, {"CPUs", e.MinCPUs, e.MaxCPUs}} {
		if b.min > 0 && b.max > 0 && b.min > b.max {
			return fmt.Errorf("constraints: minimum %s %d is above the maximum %d (a zero maximum means the default; use NoLimit for none)", b.what, b.min, b.max)
		}
	}
	return nil
}

// Accepts reports whether the test's constraints admit p and, when not, why
// (one reason, checked in the order nodes, LLCs, SMT, CPUs). Host capacity
// is not part of it; see [Filter].
func (c Constraints) Accepts(p Preset) (bool, string) {
	why := c.Effective().Outside(p, "the test")
	return why == "", why
}

// Outside says why p is outside c's bounds as they stand, with no defaults
// (a zero or NoLimit field is no bound), or "" when it is within. owner
// names whose bounds they are in the reason ("the test", "the
// scheduler"). The order is nodes, LLCs, SMT, CPUs.
func (c Constraints) Outside(p Preset, owner string) string {
	bound := func(what string, v, min, max int) string {
		if min > 0 && v < min {
			return fmt.Sprintf("%d %s, below %s's minimum of %d", v, what, owner, min)
		}
		if max > 0 && v > max {
			return fmt.Sprintf("%d %s, above %s's maximum of %d", v, what, owner, max)
		}
		return ""
	}
	if r := bound("NUMA nodes", p.Nodes, c.MinNodes, c.MaxNodes); r != "" {
		return r
	}
	if r := bound("LLCs", p.LLCs, c.MinLLCs, c.MaxLLCs); r != "" {
		return r
	}
	if c.RequiresSMT && !p.SMT() {
		return fmt.Sprintf("%d thread per core, and %s requires SMT", p.Threads, owner)
	}
	return bound("CPUs", p.CPUs(), c.MinCPUs, c.MaxCPUs)
}

// HostLimit is what the host can run in reasonable time. MaxCPUs <= 0 means
// no limit (so HostLimit{} filters nothing).
type HostLimit struct {
	// MaxCPUs is the largest vCPU count a variant may have.
	MaxCPUs int
	// Basis says where MaxCPUs came from, for skip reasons and --list
	// output, e.g. "KVM host with 2 CPUs" or "KTSTR_MAX_VCPUS".
	Basis string
}

// EnvMaxVCPUs is the environment variable (and, by convention, the
// --max-vcpus flag) that overrides the default host limit; see
// [ResolveHostLimit].
const EnvMaxVCPUs = env.MaxVCPUs

// TCGBootCeiling is the longest estimated boot, in seconds, that the default
// TCG host limit admits. See [DefaultHostLimit].
const TCGBootCeiling = 20.0

// maxVCPUsScan bounds the search in HostLimitForBoot; well above QEMU's
// 288-vCPU q35 limit.
const maxVCPUsScan = 1024

// DefaultHostLimit is the vCPU limit for a host with hostCPUs logical CPUs
// (values below 1 count as 1).
//
// Under KVM it is hostCPUs, as in the reference (a preset fits when its
// vCPUs do not outnumber the host's CPUs).
//
// Under TCG it is the largest vCPU count whose estimated boot, by
// [TCGBootCost], is at most [TCGBootCeiling] (20 s): 1.6 + 0.35·(n−2) ≤ 20
// gives n ≤ 54. Derivation: the field measurements (2-core host,
// single-threaded TCG) are about 1.6 s to boot 2 vCPUs and 3.7 s for 8, i.e. each
// vCPU beyond 2 adds about 0.35 s, linearly as far as measured. 20 s of boot,
// plus the default 2 s body and 2 s of overhead, keeps one variant under about
// half a minute; on the default constraints this keeps every preset up to 32
// vCPUs (medium-4llc, medium-4llc-nosmt) and drops the 64-vCPU ones (whose
// boot would be about 23 s) and everything larger.
//
// The TCG limit deliberately does not scale with hostCPUs: ktstr runs TCG
// with thread=single (multi-threaded TCG crashes guests when sched_ext
// patches the kernel), so all of a VM's vCPUs share one host thread and more
// host cores do not make one boot faster; they only let more VMs run at once.
// Override with [ResolveHostLimit] (KTSTR_MAX_VCPUS).
func DefaultHostLimit(accelTCG bool, hostCPUs int) HostLimit {
	if hostCPUs < 1 {
		hostCPUs = 1
	}
	if !accelTCG {
		return HostLimit{MaxCPUs: hostCPUs, Basis: fmt.Sprintf("KVM host with %d CPUs", hostCPUs)}
	}
	h := HostLimitForBoot(TCGBootCost, TCGBootCeiling)
	h.Basis = fmt.Sprintf("TCG: estimated boot above %gs", TCGBootCeiling)
	return h
}

// HostLimitForBoot returns the largest vCPU count n (at least 1) with
// boot(n) <= ceilingSeconds, assuming boot grows with n.
func HostLimitForBoot(boot BootCost, ceilingSeconds float64) HostLimit {
	n := 1
	for n < maxVCPUsScan && boot(n+1) <= ceilingSeconds {
		n++
	}
	return HostLimit{MaxCPUs: n, Basis: fmt.Sprintf("estimated boot above %gs", ceilingSeconds)}
}

// ResolveHostLimit is DefaultHostLimit unless override (the value of
// --max-vcpus or KTSTR_MAX_VCPUS; the caller reads it) is set: a positive
// integer N sets the limit to N vCPUs, "unlimited" removes it, "" keeps the
// default. Anything else is an error.
func ResolveHostLimit(accelTCG bool, hostCPUs int, override string) (HostLimit, error) {
	s := strings.TrimSpace(override)
	switch {
	case s == "":
		return DefaultHostLimit(accelTCG, hostCPUs), nil
	case strings.EqualFold(s, "unlimited"):
		return HostLimit{Basis: EnvMaxVCPUs + "=unlimited"}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return HostLimit{}, fmt.Errorf("%s=%q: want a positive number of vCPUs or \"unlimited\"", EnvMaxVCPUs, override)
	}
	return HostLimit{MaxCPUs: n, Basis: EnvMaxVCPUs}, nil
}

// Accepts reports whether the host can run p and, when not, why.
func (h HostLimit) Accepts(p Preset) (bool, string) {
	if h.MaxCPUs > 0 && p.CPUs() > h.MaxCPUs {
		basis := ""
		if h.Basis != "" {
			basis = " (" + h.Basis + ")"
		}
		return false, fmt.Sprintf("%d vCPUs, above the host limit of %d%s; set %s to change it", p.CPUs(), h.MaxCPUs, basis, EnvMaxVCPUs)
	}
	return true, ""
}

// Dropped is a preset Filter left out, and why.
type Dropped struct {
	Preset Preset
	Reason string
}

// Filter splits presets, keeping their order, into those both the test's
// constraints and the host accept and those dropped with the first reason
// (the test's constraints are checked before the host's capacity).
func Filter(ps []Preset, c Constraints, h HostLimit) (kept []Preset, dropped []Dropped) {
	for _, p := range ps {
		ok, why := c.Accepts(p)
		if ok {
			ok, why = h.Accepts(p)
		}
		if ok {
			kept = append(kept, p)
		} else {
			dropped = append(dropped, Dropped{p, why})
		}
	}
	return kept, dropped
}
