package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/scx"
)

// built is the ktstr command built from this tree, once for the tests that
// run it as a user would (it is also the VMs' init, so it must be the real
// binary, not this test binary).
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// ktstrBinary returns the path of the ktstr command built from this tree.
func ktstrBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "ktstr-cmd-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "ktstr")
		built.out, built.err = exec.Command("go", "build", "-o", built.path, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.path
}

// vmPrereqs skips t under -short or without a cached kernel, and returns
// the host path of scx_simple built for it (skipping without one).
func vmPrereqs(t *testing.T) (simple string) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots VMs, which -short leaves out")
	}
	k, err := kernel.Resolve(os.Getenv(env.Kernel), "")
	if err != nil {
		t.Skipf("no kernel: %v (ktstr kernel fetch)", err)
	}
	simple, err = scx.Find("scx_simple", scx.CacheName(k))
	if err != nil {
		t.Skipf("no scx_simple: %v (ktstr sched build)", err)
	}
	return simple
}
