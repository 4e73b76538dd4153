package host

import (
	"flag"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/kernel/kconfig"
	"github.com/ktstr-go/ktstr/internal/vm"
)

// timeouts derives the boot and whole-run limits. Under TCG each vCPU
// beyond two adds about 0.3 s of boot on a 2-core host (FIELD-NOTES), and a
// loaded host can make everything several times slower, hence the margins.
func timeouts(j Job, accel vm.Accel) (boot, total time.Duration) {
	cpus := time.Duration(j.Topology.CPUs())
	boot = 60*time.Second + cpus*time.Second
	if accel == vm.KVM {
		boot = 30 * time.Second
	}
	if j.Timeout > 0 {
		return min(boot, j.Timeout), j.Timeout
	}
	total = 60*time.Second + 3*j.Duration + cpus*time.Second
	if !j.Scheduler.EEVDF() {
		total += 30 * time.Second // attach, under emulation
	}
	return boot, total
}

// memoryMB sizes guest RAM: room for the unpacked initramfs (it lives in
// RAM) plus 64 MB per CPU, at least 512 MB, a multiple of the node count.
func memoryMB(j Job, initrdBytes int64) int {
	mb := j.MemoryMB
	if mb == 0 {
		mb = max(512, 64*j.Topology.CPUs(), 256+int(3*initrdBytes>>20))
	}
	n := j.Topology.Nodes
	return (mb + n - 1) / n * n
}

// mergedAssert is the check configuration of a job: the defaults for where
// it runs (KVM, TCG with the host's clock, TCG in deterministic mode; see
// check.Defaults), then the job's layers (the scheduler's, the test's).
func mergedAssert(j Job, accel vm.Accel, deterministic bool) check.Assert {
	env := check.Env{TCG: accel == vm.TCG, Deterministic: deterministic, EEVDF: j.Scheduler.EEVDF()}
	return check.Merge(append([]check.Assert{check.Defaults(env)}, j.Assert...)...)
}

// watchdog is the stall watchdog timeout to force for a test that asked
// for want, or 0 to keep the scheduler's own.
func watchdog(want time.Duration, accel vm.Accel) time.Duration {
	switch {
	case want < 0:
		return 0
	case want > 0:
		return want
	}
	return DefaultWatchdog(accel)
}

// DefaultWatchdog is the stall watchdog timeout forced on a test that sets
// none. It is the reference's 4 s under KVM; under TCG a loaded host can
// stop the single QEMU thread long enough that guest time jumps by seconds
// at once, which a 4 s watchdog reads as a stall (seen about once in 5 runs
// at load 4-5 on 2 cores), so 10 s.
func DefaultWatchdog(accel vm.Accel) time.Duration {
	if accel == vm.TCG {
		return 10 * time.Second
	}
	return 4 * time.Second
}

// kernelHZ reads CONFIG_HZ from the kernel's config, 0 when unknown.
func kernelHZ(k *kernel.Kernel) int {
	if k.Config == "" {
		return 0
	}
	b, err := os.ReadFile(k.Config)
	if err != nil {
		return 0
	}
	v, _ := kconfig.Value(b, "CONFIG_HZ")
	hz, _ := strconv.Atoi(v)
	return hz
}

// verbose reports go test -v. Under go test -json the testing package is
// verbose too (test2json needs the events), but the person reading wants
// the quiet report then.
func verbose() bool {
	if !testing.Testing() {
		return false // a program, such as the ktstr command
	}
	if f := flag.Lookup("test.v"); f != nil && f.Value.String() == "test2json" {
		return false
	}
	return testing.Verbose()
}
