package guest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/internal/cpuset"
)

// CgroupMount is where the guest mounts the cgroup v2 hierarchy.
const CgroupMount = "/sys/fs/cgroup"

// Cgroups creates and removes cgroups under one parent directory of a
// cgroup v2 hierarchy and remembers them, so whatever a test body leaves
// behind can be removed.
//
// The parent is made on first need (see [Cgroups.Prepare]), not when the
// Cgroups is: making it and passing every controller down costs a guest
// boot about 40 ms under TCG (the kernel allocates each controller's
// state), which a body that makes no cgroup need not pay.
type Cgroups struct {
	mount, root string
	// rootControllers: Prepare also passes the controllers down from the
	// hierarchy's root (the guest's, which the harness owns; not the
	// host's, whose root PrepareOnHost sets up and restores).
	rootControllers bool

	mu       sync.Mutex // guards prepared and err
	prepared bool
	err      error // why preparing failed

	created []string // relative names, in creation order
}

// NewCgroups returns the cgroups below the parent directory root, which
// must be below mount (the hierarchy's root). Nothing is made yet.
func NewCgroups(mount, root string) (*Cgroups, error) {
	rel, err := filepath.Rel(mount, root)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("cgroup parent %s: not below %s", root, mount)
	}
	return &Cgroups{mount: mount, root: root}, nil
}

// Prepare makes the parent directory, with what is missing between it and
// the hierarchy's root, and passes every available controller down to its
// children and to each directory's between. It does so once; every method
// that needs the parent calls it, and [Cgroups.Root] and [Cgroups.Path]
// too, for a body that makes its cgroups by hand.
func (c *Cgroups) Prepare() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.prepared {
		c.prepared = true
		c.err = c.makeParent()
	}
	return c.err
}

func (c *Cgroups) makeParent() error {
	if c.rootControllers {
		// A controller the kernel lacks is not fatal here: the test that
		// needs it will say so.
		enableControllers(c.mount)
	}
	rel, _ := filepath.Rel(c.mount, c.root)
	dir := c.mount
	for _, part := range strings.Split(rel, "/") {
		dir = filepath.Join(dir, part)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("cgroup parent %s: %w (is cgroup2 mounted?)", dir, err)
		}
		enableControllers(dir)
	}
	return nil
}

// enableControllers passes every available controller down from dir.
func enableControllers(dir string) {
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	for _, ctl := range strings.Fields(string(b)) {
		_ = os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+"+ctl), 0)
	}
}

// Root returns the parent directory, made if it was not yet.
func (c *Cgroups) Root() string {
	_ = c.Prepare() // an error shows where the directory is used
	return c.root
}

// Path returns the directory of the cgroup called name, after making the
// parent if it was not yet.
func (c *Cgroups) Path(name string) string {
	_ = c.Prepare()
	return filepath.Join(c.root, name)
}

func (c *Cgroups) check(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || slices.Contains(strings.Split(name, "/"), "..") {
		return fmt.Errorf("cgroup name %q: want a relative name such as \"cg0\" or \"a/b\"", name)
	}
	return nil
}

// Create creates the cgroup name (nested names such as "a/b" create their
// parents) and returns its directory.
func (c *Cgroups) Create(name string) (string, error) {
	if err := c.check(name); err != nil {
		return "", err
	}
	if err := c.Prepare(); err != nil {
		return "", err
	}
	parts := strings.Split(name, "/")
	for i := range parts {
		rel := strings.Join(parts[:i+1], "/")
		dir := c.Path(rel)
		err := os.Mkdir(dir, 0o755)
		switch {
		case err == nil:
			c.created = append(c.created, rel)
		case !errors.Is(err, os.ErrExist):
			return "", fmt.Errorf("create cgroup %s: %w", rel, err)
		}
		if i < len(parts)-1 {
			// Also for a parent that existed: its children need the
			// controllers (cpuset above all) passed down.
			enableControllers(dir)
		}
	}
	return c.Path(name), nil
}

// SetCpuset restricts the cgroup to cpus; nil clears the restriction.
func (c *Cgroups) SetCpuset(name string, cpus []int) error {
	if err := c.check(name); err != nil {
		return err
	}
	f := filepath.Join(c.Path(name), "cpuset.cpus")
	if err := os.WriteFile(f, []byte(cpuset.Format(cpus)), 0); err != nil {
		return fmt.Errorf("set cpuset of %s to %q: %w", name, cpuset.Format(cpus), err)
	}
	return nil
}

// Move moves the task pid into the cgroup.
func (c *Cgroups) Move(name string, pid int) error {
	if err := c.check(name); err != nil {
		return err
	}
	return moveTo(c.Path(name), pid)
}

func moveTo(dir string, pid int) error {
	f := filepath.Join(dir, "cgroup.procs")
	var err error
	// EBUSY can happen while a task is being forked or migrated; it passes.
	for range 3 {
		err = os.WriteFile(f, []byte(strconv.Itoa(pid)), 0)
		if err == nil || errors.Is(err, unix.ESRCH) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("move pid %d to %s: %w", pid, dir, err)
}

// Procs lists the processes in the cgroup.
func (c *Cgroups) Procs(name string) ([]int, error) {
	return procs(c.Path(name))
}

func procs(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if p, err := strconv.Atoi(f); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// Remove removes the cgroup and its children after moving any tasks still in
// them to the parent directory.
func (c *Cgroups) Remove(name string) error {
	if err := c.check(name); err != nil {
		return err
	}
	return c.removeTree(c.Path(name), name)
}

func (c *Cgroups) removeTree(dir, name string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := c.removeTree(filepath.Join(dir, e.Name()), name+"/"+e.Name()); err != nil {
				return err
			}
		}
	}
	ps, _ := procs(dir)
	for _, p := range ps {
		if err := moveTo(c.root, p); err != nil {
			return err
		}
	}
	var rmErr error
	for range 10 {
		// rmdir fails with EBUSY for a moment after the last task left.
		if rmErr = os.Remove(dir); rmErr == nil || errors.Is(rmErr, os.ErrNotExist) {
			c.created = slices.DeleteFunc(c.created, func(s string) bool { return s == name })
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", name, rmErr)
}

// Cleanup removes every cgroup under the parent, including ones a test body
// made by hand, and returns the names it found left over.
// Nothing is left when the parent was never made.
func (c *Cgroups) Cleanup() ([]string, error) {
	c.mu.Lock()
	prepared := c.prepared
	c.mu.Unlock()
	if !prepared {
		return nil, nil
	}
	entries, err := os.ReadDir(c.root)
	if err != nil {
		return nil, err
	}
	var left []string
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		left = append(left, e.Name())
		if err := c.removeTree(c.Path(e.Name()), e.Name()); err != nil {
			errs = append(errs, err)
		}
	}
	return left, errors.Join(errs...)
}
