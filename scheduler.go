package ktstr

import (
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/layout"
)

// Scheduler is the process scheduler a test runs under. The zero value is
// [EEVDF], the kernel's own fair scheduler: no sched_ext scheduler is loaded.
type Scheduler struct {
	// Name is how results name the scheduler; defaults to the binary's
	// base name.
	Name string
	// Path is the sched_ext scheduler binary on the host, packed into the
	// guest with its shared libraries. A bare name such as "scx_simple" is
	// looked up when the VM is built: in $KTSTR_SCHEDULER (a directory),
	// then among the schedulers `ktstr sched build` made for the kernel
	// under test, then on $PATH.
	Path string
	// Args are the scheduler's arguments.
	Args []string
	// Ops, when set, is the sched_ext ops name the kernel must report in
	// /sys/kernel/sched_ext/root/ops (for scx_simple, "simple"). When empty
	// any attached scheduler is accepted and its ops name recorded.
	Ops string
	// AttachTimeout bounds the wait for the scheduler to attach; 0 means
	// 30 s, enough for a large BPF program to verify under emulation.
	AttachTimeout time.Duration
	// Assert is the scheduler's layer of check configuration, between the
	// defaults and each test's own.
	Assert check.Assert
	// Cmdline are kernel command-line parameters the scheduler needs, and
	// Sysctls kernel tunables it needs (set at boot as sysctl.KEY=VALUE).
	Cmdline []string
	Sysctls map[string]string
	// BPFStats has the kernel count each of the scheduler's BPF programs'
	// runs and run time while it runs (BPF stats), for the result file and
	// the report beside the verifier's figures, which are always there.
	// It costs every callback (about 17 % less throughput for a workload
	// that does little but get scheduled), so it is off unless set here
	// or by KTSTR_BPF_STATS=1 for every run.
	BPFStats bool
	// Flags are the scheduler's named flags; the gauntlet runs every valid
	// combination (see Spec.RequiredFlags).
	Flags []Flag
	// Files are files the scheduler needs in the guest, such as its
	// configuration, keyed by guest path:
	//
	//	Files: map[string]string{"/etc/mysched.toml": "testdata/mysched.toml"}
	//
	// A host path may be a directory, copied whole; a relative one is
	// relative to the test's working directory (the package directory
	// under go test). Pass the guest path in Args where the scheduler
	// needs to be told. The kernel's configuration is always in the guest
	// as /boot/config-<release>, where schedulers such as scx_central look
	// for it when the kernel has no /proc/config.gz.
	Files map[string]string
	// CgroupParent is the cgroup the scheduler expects the workload under,
	// such as "/workload" (an absolute path in the cgroup v2 hierarchy).
	// The guest creates it, with every controller enabled, before the
	// scheduler starts, and test cgroups (Ctx.Cgroups) are made inside it.
	// Empty means "/ktstr". Arguments that tell the scheduler (say
	// --cell-parent-cgroup /workload) go in Args.
	CgroupParent string
	// Topology is what tests of this scheduler run on when the Spec names
	// none; the zero value means Topo(1, 1, 2, 1).
	Topology Topology
	// Constraints are the topologies the scheduler can run on, say at
	// least two LLCs, or SMT. A test whose Topology or Topologies fall
	// outside them fails with the reason; the gauntlet keeps only the
	// presets within them, merged field by field under the test's own
	// Spec.Constraints.
	Constraints Constraints
}

// EEVDF is the kernel's default scheduler: no sched_ext scheduler.
var EEVDF = Scheduler{}

// SchedExt returns a sched_ext scheduler run from the binary at path (or a
// bare name to look up, see [Scheduler.Path]) with args.
func SchedExt(path string, args ...string) Scheduler {
	return Scheduler{Path: path, Args: args}
}

// IsEEVDF reports whether s is the kernel's default scheduler.
func (s Scheduler) IsEEVDF() bool { return s.Path == "" }

// String names the scheduler.
func (s Scheduler) String() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.IsEEVDF():
		return "eevdf"
	default:
		return filepath.Base(s.Path)
	}
}

// DefaultCgroupParent is where test cgroups live when the scheduler names
// no CgroupParent.
const DefaultCgroupParent = "/ktstr"

// cgroupParent returns the cgroup test cgroups are made in.
func (s Scheduler) cgroupParent() string {
	if s.CgroupParent == "" {
		return DefaultCgroupParent
	}
	return s.CgroupParent
}

func (s Scheduler) validate() error {
	if s.IsEEVDF() {
		if len(s.Args) > 0 || s.Ops != "" || len(s.Files) > 0 || len(s.Flags) > 0 {
			return fmt.Errorf("scheduler %s has arguments, an ops name, files or flags but no Path; set Path to the sched_ext scheduler binary", s)
		}
	}
	if s.AttachTimeout < 0 {
		return fmt.Errorf("scheduler %s: negative AttachTimeout %v", s, s.AttachTimeout)
	}
	if s.Topology != (Topology{}) {
		if err := s.Topology.Validate(); err != nil {
			return fmt.Errorf("scheduler %s: Topology: %w", s, err)
		}
	}
	if err := s.Constraints.internal().Validate(); err != nil {
		return fmt.Errorf("scheduler %s: %w", s, err)
	}
	if p := s.CgroupParent; p != "" && (!strings.HasPrefix(p, "/") || p == "/" || path.Clean(p) != p) {
		return fmt.Errorf("scheduler %s: CgroupParent %q: want a clean absolute cgroup path below the root, such as \"/workload\"", s, p)
	}
	for _, g := range slices.Sorted(maps.Keys(s.Files)) {
		if err := layout.CheckUserPath(g); err != nil {
			return fmt.Errorf("scheduler %s: Files: %w", s, err)
		}
	}
	return nil
}

// admits reports why topology t is outside the scheduler's constraints,
// or "" when it is within. Only the bounds the scheduler sets count; the
// gauntlet's defaults (one NUMA node, ...) are not its constraints.
func (c Constraints) admits(t Topology) string {
	return c.internal().Outside(topologyPreset(t), "the scheduler")
}

// under returns c with its zero fields taken from base: a test's
// constraints over its scheduler's.
func (c Constraints) under(base Constraints) Constraints {
	or := func(v, b int) int {
		if v != 0 {
			return v
		}
		return b
	}
	return Constraints{
		MinNodes: or(c.MinNodes, base.MinNodes), MaxNodes: or(c.MaxNodes, base.MaxNodes),
		MinLLCs: or(c.MinLLCs, base.MinLLCs), MaxLLCs: or(c.MaxLLCs, base.MaxLLCs),
		MinCPUs: or(c.MinCPUs, base.MinCPUs), MaxCPUs: or(c.MaxCPUs, base.MaxCPUs),
		RequiresSMT: c.RequiresSMT || base.RequiresSMT,
	}
}
