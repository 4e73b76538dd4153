package ktstr

import (
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/host"

	"github.com/ktstr-go/ktstr/internal/gauntlet"
	"github.com/ktstr-go/ktstr/internal/vm"
)

// Environment variables that shape which variants run. `ktstr test` sets
// them from its flags; they work with plain go test too.
const (
	// GauntletEnv=1 enables gauntlet variants.
	GauntletEnv = env.Gauntlet
	// BudgetEnv=N selects the variants that cover most within N seconds.
	BudgetEnv = env.BudgetSecs
	// ShardEnv=K/N runs the K-th of N deterministic slices.
	ShardEnv = env.Shard
	// ListEnv=1 boots nothing and prints each variant that would run as
	// "ktstr-variant: NAME".
	ListEnv = env.List
	// KernelsEnv lists several kernels (comma-separated); each variant
	// then runs once per kernel.
	KernelsEnv = env.Kernels
	// MaxVCPUsEnv overrides the host's vCPU limit for gauntlet presets.
	MaxVCPUsEnv = env.MaxVCPUs
)

// Constraints limit the gauntlet presets a test runs on. Zero fields take
// the defaults (at most 1 NUMA node, 12 LLCs, 192 CPUs); NoLimit removes a
// bound.
type Constraints struct {
	MinNodes, MaxNodes int
	MinLLCs, MaxLLCs   int
	MinCPUs, MaxCPUs   int
	RequiresSMT        bool
}

// NoLimit, in a Constraints field, removes that bound.
const NoLimit = gauntlet.NoLimit

func (c Constraints) internal() gauntlet.Constraints {
	return gauntlet.Constraints{MinNodes: c.MinNodes, MaxNodes: c.MaxNodes, MinLLCs: c.MinLLCs, MaxLLCs: c.MaxLLCs,
		MinCPUs: c.MinCPUs, MaxCPUs: c.MaxCPUs, RequiresSMT: c.RequiresSMT}
}

// Flag is a named scheduler flag: its arguments, and the flags it needs.
type Flag struct {
	Name     string
	Args     []string
	Requires []string
}

// variant is one leaf of a test's tree: a topology, a flag profile and a
// kernel.
type variant struct {
	preset   gauntlet.Preset // for a base variant, named by its topology
	topo     Topology
	profile  gauntlet.Profile
	gauntlet bool
	kernel   string // label; "" with one kernel
}

// profiles returns the scheduler's flag profiles for spec: every valid
// combination of optional flags with the required ones.
func (s Spec) profiles() ([]gauntlet.Profile, error) {
	flags := make([]gauntlet.Flag, len(s.Scheduler.Flags))
	for i, f := range s.Scheduler.Flags {
		flags[i] = gauntlet.Flag{Name: f.Name, Args: f.Args, Requires: f.Requires}
	}
	ps, err := gauntlet.Profiles(flags, s.RequiredFlags, s.ExcludedFlags)
	if err != nil {
		return nil, fmt.Errorf("scheduler %s flags: %w", s.Scheduler, err)
	}
	return ps, nil
}

// baseProfile is what a base (non-gauntlet) variant runs with: just the
// required flags.
func (s Spec) baseProfile() (gauntlet.Profile, error) {
	ps, err := s.profiles()
	if err != nil {
		return gauntlet.Profile{}, err
	}
	for _, p := range ps {
		if len(p.Flags) == len(s.RequiredFlags) {
			return p, nil
		}
	}
	return ps[0], nil
}

// gauntletPresets returns the presets the test runs on in the gauntlet and
// why the others are out.
func (s Spec) gauntletPresets(accel vm.Accel) ([]gauntlet.Preset, []gauntlet.Dropped, error) {
	c := s.Constraints.under(s.Scheduler.Constraints).internal()
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	limit, err := gauntlet.ResolveHostLimit(accel == vm.TCG, runtime.NumCPU(), os.Getenv(MaxVCPUsEnv))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", MaxVCPUsEnv, err)
	}
	kept, dropped := gauntlet.Filter(gauntlet.Presets(), c, limit)
	return kept, dropped, nil
}

func presetTopology(p gauntlet.Preset) Topology {
	return Topo(p.Nodes, p.LLCs, p.Cores, p.Threads)
}

func gauntletEnabled() bool { return os.Getenv(GauntletEnv) == "1" }

// forKernels runs leaf once, or once per kernel as subtests named by the
// kernel's label when several are in play.
func forKernels(t *testing.T, kernels []string, leaf func(t *testing.T, kernel string)) {
	if len(kernels) <= 1 {
		k := ""
		if len(kernels) == 1 {
			k = kernels[0]
		}
		leaf(t, k)
		return
	}
	for _, k := range kernels {
		t.Run(kernelLabel(k), func(t *testing.T) { leaf(t, k) })
	}
}

// kernelLabels lists the kernels variants run on: from KTSTR_KERNELS on
// the host, from the request in the guest.
func kernelLabels() []string {
	if guest.Active() {
		return guest.Request().Kernels
	}
	return host.KernelLabels()
}

// describe is the variant's entry for budget selection.
func (v variant) describe(test, name string, spec Spec) gauntlet.Variant {
	gv := gauntlet.Variant{
		Test:          test,
		Preset:        v.preset,
		Profile:       v.profile,
		Kernel:        v.kernel,
		Scheduler:     spec.Scheduler.String(),
		Duration:      spec.duration(),
		Gauntlet:      v.gauntlet,
		RequiredFlags: spec.RequiredFlags,
		ExcludedFlags: spec.ExcludedFlags,
	}
	for _, f := range spec.Scheduler.Flags {
		gv.DeclaredFlags = append(gv.DeclaredFlags, f.Name)
	}
	return gv
}

func topologyPreset(t Topology) gauntlet.Preset {
	return gauntlet.Preset{Name: t.String(), Nodes: t.NUMANodes, LLCs: t.LLCs, Cores: t.CoresPerLLC, Threads: t.ThreadsPerCore}
}

// kernelLabel names a kernel in subtest names: a path (a cache entry, an
// image, a source tree) by its last element, anything else as given, made
// safe for -run patterns.
func kernelLabel(k string) string { return gauntlet.KernelName(k) }

// job is the host's view of variant v of spec: the test called name, a leaf
// of test. It is built once; the host changes nothing in it.
func (s Spec) job(v variant, test, name string) host.Job {
	sched := s.Scheduler
	j := host.Job{
		Name:     name,
		Variant:  v.describe(test, name, s),
		Topology: v.topo.shape(),
		Kernel:   v.kernel,
		Scheduler: host.Scheduler{
			Name:          sched.String(),
			Path:          sched.Path,
			Args:          s.schedulerArgs(v.profile),
			Ops:           sched.Ops,
			AttachTimeout: sched.AttachTimeout,
			Files:         sched.Files,
			Sysctls:       sched.Sysctls,
			RunStats:      sched.BPFStats,
		},
		Payloads:      s.Payloads,
		Duration:      s.duration(),
		Timeout:       s.Timeout,
		MemoryMB:      s.MemoryMB,
		Cmdline:       s.cmdline(),
		Assert:        []check.Assert{sched.Assert, s.Assert},
		Expect:        s.Expect.job(),
		Deterministic: s.Deterministic,
		Watchdog:      s.Watchdog,
		CgroupParent:  sched.cgroupParent(),
		BootTimeout:   s.bootTimeout,
	}
	if s.bootTopology != nil {
		shape := s.bootTopology.shape()
		j.BootTopology = &shape
	}
	return j
}

// job is the expectation as package host takes it; nil for none.
func (e *Expectation) job() *host.Expectation {
	if e == nil {
		return nil
	}
	return &host.Expectation{Kind: e.Kind, Contains: e.Contains}
}

// cmdline is the guest kernel command line the test adds: for a sched_ext
// scheduler the periodic tick on idle CPUs, then the scheduler's parameters
// and sysctls, then the test's own (later ones win).
func (s Spec) cmdline() string {
	var parts []string
	if !s.Scheduler.IsEEVDF() {
		// The kernel's stall watchdog has a backstop in the scheduler
		// tick, for when its worker thread is itself stalled. A
		// scheduler that stops dispatching leaves every CPU idle, and
		// idle CPUs stop their tick (NO_HZ_IDLE), so the stall was
		// caught up to 3 s late (measured: 7.1 s with a 4 s timeout).
		// With the tick kept it is caught on time (TestWatchdogBound).
		parts = append(parts, "nohz=off")
	}
	parts = append(parts, s.Scheduler.Cmdline...)
	for _, k := range slices.Sorted(maps.Keys(s.Scheduler.Sysctls)) {
		parts = append(parts, "sysctl."+k+"="+s.Scheduler.Sysctls[k])
	}
	if s.Cmdline != "" {
		parts = append(parts, s.Cmdline)
	}
	return strings.Join(parts, " ")
}
