package host

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/internal/vm"
)

// state is what the host side shares between the tests of one process.
var state struct {
	ctx    context.Context
	cancel context.CancelFunc

	accelOnce sync.Once
	accel     vm.Accel
	accelWhy  string
	accelErr  error
}

// Main runs the tests of m on the host and cleans up after them (every VM
// and temporary file), also when the process is interrupted. It returns the
// exit code.
func Main(m *testing.M) int {
	state.ctx, state.cancel = context.WithCancel(context.Background())
	sweepStaleScratch()
	if err := selectVariants(); err != nil {
		fmt.Fprintln(os.Stderr, "ktstr:", err)
		return 2
	}
	sigs := make(chan os.Signal, 1)
	// SIGPIPE too: output piped into a reader that quit (| head) would
	// otherwise kill the process before it cleans up.
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	go func() {
		s := <-sigs
		for s == syscall.SIGPIPE && !outputBroken() {
			// A write to some other broken pipe or socket (a VM that
			// died, say): its writer sees EPIPE and copes.
			s = <-sigs
		}
		fmt.Fprintf(os.Stderr, "\nktstr: %v: stopping VMs and cleaning up\n", s)
		state.cancel()
		vm.KillAll()
		// Give running tests a moment to reap QEMU and print what they have.
		time.Sleep(500 * time.Millisecond)
		cleanupScratch()
		os.Exit(128 + int(s.(syscall.Signal)))
	}()
	code := m.Run()
	signal.Stop(sigs)
	state.cancel()
	cleanupScratch()
	return code
}

// outputBroken reports whether standard output or error is a pipe whose
// reader has gone.
func outputBroken() bool {
	fds := []unix.PollFd{{Fd: 1, Events: unix.POLLOUT}, {Fd: 2, Events: unix.POLLOUT}}
	if _, err := unix.Poll(fds, 0); err != nil {
		return false
	}
	for _, f := range fds {
		if f.Revents&unix.POLLERR != 0 {
			return true
		}
	}
	return false
}

// Start readies the host side in a program that is not a test binary, such
// as the ktstr command: VMs then boot under ctx, which stops them when it is
// cancelled. The returned stop removes every scratch file; call it before
// the program exits.
func Start(ctx context.Context) (stop func()) {
	state.ctx, state.cancel = context.WithCancel(ctx)
	sweepStaleScratch()
	return func() {
		state.cancel()
		vm.KillAll()
		cleanupScratch()
	}
}

// Accel is the accelerator VMs of this process run on, and why; chosen
// once.
func Accel() (vm.Accel, string, error) {
	state.accelOnce.Do(func() {
		state.accel, state.accelWhy, state.accelErr = vm.ChooseAccel()
	})
	return state.accel, state.accelWhy, state.accelErr
}
