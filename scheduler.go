package ktstr

import (
	"fmt"

	"github.com/ktstr-go/ktstr/check"
	"path/filepath"
	"time"
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
	// Flags are the scheduler's named flags; the gauntlet runs every valid
	// combination (see Spec.RequiredFlags).
	Flags []Flag
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

func (s Scheduler) validate() error {
	if s.IsEEVDF() {
		if len(s.Args) > 0 || s.Ops != "" {
			return fmt.Errorf("scheduler %s has arguments or an ops name but no Path; set Path to the sched_ext scheduler binary", s)
		}
		return nil
	}
	if s.AttachTimeout < 0 {
		return fmt.Errorf("scheduler %s: negative AttachTimeout %v", s, s.AttachTimeout)
	}
	return nil
}
