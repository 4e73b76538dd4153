//go:build linux

package guest

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/ktstr-go/ktstr/work"
)

// TestMain turns the test binary into a worker when the worker tests
// re-execute it (as ktstr.Main does in a real test binary).
func TestMain(m *testing.M) {
	if env := os.Getenv(WorkerEnv); env != "" {
		if err := RunWorker(env); err != nil {
			fmt.Fprintln(os.Stderr, "ktstr worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testCustom is a custom work function, registered at init as a test
// binary must, so that the re-executed workers have it too.
const testCustom = "guest-test-counter"

func init() {
	work.Register(testCustom, func(stop *atomic.Bool, r *work.Report) {
		x := uint64(1)
		for !stop.Load() {
			for range 1 << 12 {
				x = x*6364136223846793005 + 1442695040888963407
			}
			r.WorkUnits++
		}
		if x == 0 {
			r.Exit = "impossible"
		}
	})
}
