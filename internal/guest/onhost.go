//go:build linux

package guest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/internal/wire"
)

// OnHost is a body's run on the machine itself rather than in a VM (ktstr
// run --host): the same cgroups, workers and checks, under a cgroup of its
// own that it removes at the end, with no scheduler under test, no host
// monitor and no port. It changes the host only there, and in the cgroup
// v2 root's controllers, which it puts back.
type OnHost struct {
	// Parent is the run's own cgroup directory.
	Parent string
	mu     sync.Mutex
	// enabled are the controllers it had to enable in the root.
	enabled []string
}

// ErrHostUnfit marks what PrepareOnHost refuses because of the machine:
// not root, no cgroup v2, a controller missing.
var ErrHostUnfit = errors.New("cannot run on this host")

// NeededControllers are the cgroup controllers a body's cgroups use.
var NeededControllers = []string{"cpuset", "cpu"}

// PrepareOnHost checks that this machine can run a body (root, cgroup v2
// with the controllers bodies use) and makes the run's own cgroup, named
// name below the cgroup v2 root. Call Cleanup when done, also after a
// failure or an interruption.
func PrepareOnHost(name string) (*OnHost, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: it needs root: it makes cgroups, sets cpusets and moves processes; run it with sudo", ErrHostUnfit)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(CgroupMount, &fs); err != nil || fs.Type != unix.CGROUP2_SUPER_MAGIC {
		return nil, fmt.Errorf("%w: it needs cgroup v2 mounted at %s (this host has cgroup v1 or a hybrid layout); boot with systemd.unified_cgroup_hierarchy=1", ErrHostUnfit, CgroupMount)
	}
	avail, _ := os.ReadFile(filepath.Join(CgroupMount, "cgroup.controllers"))
	on, _ := os.ReadFile(filepath.Join(CgroupMount, "cgroup.subtree_control"))
	h := &OnHost{Parent: filepath.Join(CgroupMount, name)}
	for _, c := range NeededControllers {
		if !slices.Contains(strings.Fields(string(avail)), c) {
			return nil, fmt.Errorf("%w: it needs the %s cgroup controller, which this kernel's cgroup v2 root does not offer (%s)", ErrHostUnfit, c, strings.TrimSpace(string(avail)))
		}
		if slices.Contains(strings.Fields(string(on)), c) {
			continue
		}
		if err := os.WriteFile(filepath.Join(CgroupMount, "cgroup.subtree_control"), []byte("+"+c), 0); err != nil {
			h.Cleanup()
			return nil, fmt.Errorf("enabling the %s controller in the cgroup v2 root: %w", c, err)
		}
		h.enabled = append(h.enabled, c)
	}
	if err := os.Mkdir(h.Parent, 0o755); err != nil {
		h.Cleanup()
		return nil, fmt.Errorf("making the run's cgroup: %w", err)
	}
	return h, nil
}

// Enabled lists the controllers PrepareOnHost enabled in the root, which
// Cleanup disables again.
func (h *OnHost) Enabled() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.enabled)
}

// Run runs the body newBody makes with req's duration and checks, in the
// run's cgroup, and returns the result.
func (h *OnHost) Run(req *wire.Request, newBody func(*Env) Body) (*wire.Result, error) {
	topo, err := ReadTopology("/sys")
	if err != nil {
		return nil, fmt.Errorf("reading this machine's topology: %w", err)
	}
	cg, err := NewCgroups(CgroupMount, h.Parent)
	if err != nil {
		return nil, err
	}
	res := &wire.Result{Topology: topo, KernelRelease: KernelRelease()}
	env := &Env{Request: req, Topology: topo, Cgroups: cg, Stdout: os.Stdout, Stderr: os.Stderr}
	body := newBody(env)
	if f := body.Run(); f != nil {
		res.Failures = append(res.Failures, *f)
	}
	body.Finish(res)
	res.Passed = len(res.Failures) == 0
	return res, nil
}

// Cleanup kills every process left in the run's cgroup, removes it and
// what is below it, and disables the controllers PrepareOnHost enabled.
// It is safe to call more than once, and from another goroutine while Run
// runs (on Ctrl-C): the body's workers then die and Run returns.
func (h *OnHost) Cleanup() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	if _, err := os.Stat(h.Parent); err == nil {
		_ = os.WriteFile(filepath.Join(h.Parent, "cgroup.kill"), []byte("1"), 0)
		if err := removeTree(h.Parent); err != nil {
			errs = append(errs, err)
		}
	}
	for _, c := range slices.Backward(h.enabled) {
		if err := os.WriteFile(filepath.Join(CgroupMount, "cgroup.subtree_control"), []byte("-"+c), 0); err != nil {
			errs = append(errs, fmt.Errorf("disabling the %s controller again in the cgroup v2 root: %w", c, err))
		}
	}
	h.enabled = nil
	return errs
}

// removeTree removes the cgroup dir and every cgroup below it, deepest
// first, waiting up to 5 s for killed processes to leave.
func removeTree(dir string) error {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	deadline := time.Now().Add(5 * time.Second)
	for _, d := range slices.Backward(dirs) {
		for {
			err := os.Remove(d)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("removing cgroup %s: %w", d, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}
