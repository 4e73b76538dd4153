//go:build !linux

package guest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/bpfdump"
	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/work"
)

// The guest runtime needs Linux: it is PID 1 of a Linux VM. On other
// systems this file lets packages that import it compile, so a user can
// build and edit a package of ktstr tests anywhere; nothing here runs.

// errNotLinux is what every entry point says off Linux.
var errNotLinux = errors.New("the ktstr guest runtime runs only on Linux")

// WorkerEnv runs the binary as a worker process.
const WorkerEnv = env.Worker

// OpsTimeoutEnv runs the binary as the stall watchdog's supervisor.
const OpsTimeoutEnv = env.OpsTimeout

// Active reports false: no guest runs off Linux.
func Active() bool { return false }

// Request returns nil off Linux.
func Request() *wire.Request { return nil }

// Monotonic returns 0 off Linux.
func Monotonic() time.Duration { return 0 }

// Init exits: off Linux no process is the guest's init.
func Init(*testing.M) {
	fmt.Fprintln(os.Stderr, "ktstr:", errNotLinux)
	os.Exit(1)
}

// Takeover returns at once off Linux: no process has a guest role.
func Takeover(*testing.M) {}

// RunVariant skips t off Linux.
func RunVariant(t *testing.T, _ func(*Env) Body) { t.Skip(errNotLinux) }

// RunWorker fails off Linux.
func RunWorker(string) error { return errNotLinux }

// RunOpsTimeoutSupervisor fails off Linux.
func RunOpsTimeoutSupervisor(string) error { return errNotLinux }

// Scheduler is a sched_ext scheduler process; off Linux there is none.
type Scheduler struct{}

// PID returns 0 off Linux.
func (*Scheduler) PID() int { return 0 }

// Check returns nil off Linux.
func (*Scheduler) Check() *wire.Failure { return nil }

// DumpMaps fails off Linux.
func (*Scheduler) DumpMaps() (string, error) { return "", errNotLinux }

// Var fails off Linux.
func (*Scheduler) Var(string) (*bpfdump.Var, error) { return nil, errNotLinux }

// Workers is a group of worker processes; off Linux there are none.
type Workers struct{}

// SpawnGroup fails off Linux.
func SpawnGroup(string, string, work.Group, [][]int, []int, io.Writer) (*Workers, error) {
	return nil, errNotLinux
}

// PIDs returns nil off Linux.
func (*Workers) PIDs() []int { return nil }

// Cgroup returns "" off Linux.
func (*Workers) Cgroup() string { return "" }

// Start fails off Linux.
func (*Workers) Start() error { return errNotLinux }

// Kill does nothing off Linux.
func (*Workers) Kill() {}

// AllowCPUs does nothing off Linux.
func (*Workers) AllowCPUs([]int) {}

// Collect fails off Linux.
func (*Workers) Collect(time.Duration) ([]work.Report, error) { return nil, errNotLinux }

// StartInCgroup fails off Linux.
func StartInCgroup(*exec.Cmd, string) error { return errNotLinux }

// PinProcess fails off Linux.
func PinProcess(int, []int) error { return errNotLinux }

// SchedExtState is "" off Linux: there is no sched_ext.
func SchedExtState() string { return "" }

// OnHost is a body's run on the machine itself; off Linux there is none.
type OnHost struct{ Parent string }

// ErrHostUnfit marks what PrepareOnHost refuses because of the machine.
var ErrHostUnfit = errors.New("cannot run on this host")

// NeededControllers are the cgroup controllers a body's cgroups use.
var NeededControllers = []string{"cpuset", "cpu"}

// PrepareOnHost fails off Linux.
func PrepareOnHost(string) (*OnHost, error) { return nil, errNotLinux }

// Enabled returns nil off Linux.
func (*OnHost) Enabled() []string { return nil }

// Run fails off Linux.
func (*OnHost) Run(*wire.Request, func(*Env) Body) (*wire.Result, error) { return nil, errNotLinux }

// Cleanup does nothing off Linux.
func (*OnHost) Cleanup() []error { return nil }

// ProgramIDs fails off Linux.
func ProgramIDs(int) (byFD, byMap []uint32, err error) { return nil, nil, errNotLinux }
