//go:build linux

package guest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// These tests run on a plain temporary directory, not a cgroup v2 mount, so
// they cover only what behaves the same on both: name checks, directory
// creation and the removal of empty directories. (A real cgroup directory is
// full of control files that rmdir ignores; a plain one is not.)

func newTestCgroups(t *testing.T) *Cgroups {
	t.Helper()
	mount := t.TempDir()
	c, err := NewCgroups(mount, filepath.Join(mount, "ktstr"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCgroupsBadNames checks that every method refuses names that would
// leave the parent directory, with an error quoting the name.
func TestCgroupsBadNames(t *testing.T) {
	c := newTestCgroups(t)
	ops := map[string]func(name string) error{
		"Create":    func(n string) error { _, err := c.Create(n); return err },
		"SetCpuset": func(n string) error { return c.SetCpuset(n, []int{0}) },
		"Move":      func(n string) error { return c.Move(n, os.Getpid()) },
		"Remove":    func(n string) error { return c.Remove(n) },
	}
	for _, name := range []string{"", "/abs", "/", "a/../b", "..", "../x", "a/.."} {
		for op, f := range ops {
			err := f(name)
			if err == nil {
				t.Errorf("%s(%q): no error", op, name)
				continue
			}
			if !strings.Contains(err.Error(), `cgroup name "`+name+`"`) {
				t.Errorf("%s(%q): error %q does not quote the name", op, name, err)
			}
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(c.Root())); len(entries) != 1 {
		t.Errorf("bad names created something next to the parent: %v", entries)
	}
}

func TestCgroupsCreate(t *testing.T) {
	c := newTestCgroups(t)
	tests := []struct {
		name    string
		created []string // every cgroup created so far, in order
	}{
		{"cg0", []string{"cg0"}},
		{"a/b", []string{"cg0", "a", "a/b"}},
		{"a/b", []string{"cg0", "a", "a/b"}}, // again: nothing new
		{"a/c/d", []string{"cg0", "a", "a/b", "a/c", "a/c/d"}},
		{"cg0.x", []string{"cg0", "a", "a/b", "a/c", "a/c/d", "cg0.x"}},
	}
	for _, tt := range tests {
		dir, err := c.Create(tt.name)
		if err != nil {
			t.Fatalf("Create(%q): %v", tt.name, err)
		}
		if want := filepath.Join(c.Root(), tt.name); dir != want || c.Path(tt.name) != want {
			t.Errorf("Create(%q) = %s, Path = %s, want %s", tt.name, dir, c.Path(tt.name), want)
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			t.Errorf("Create(%q): no directory %s (%v)", tt.name, dir, err)
		}
		if !slices.Equal(c.created, tt.created) {
			t.Errorf("after Create(%q), created %q, want %q", tt.name, c.created, tt.created)
		}
	}
}

// TestCgroupsRemove removes a nested cgroup: children first, and it is
// forgotten along with them.
func TestCgroupsRemove(t *testing.T) {
	c := newTestCgroups(t)
	for _, n := range []string{"a/b/c", "a/d", "e"} {
		if _, err := c.Create(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Remove("a"); err != nil {
		t.Fatalf("Remove(a): %v", err)
	}
	if _, err := os.Stat(c.Path("a")); !os.IsNotExist(err) {
		t.Errorf("a still exists (%v)", err)
	}
	if !slices.Equal(c.created, []string{"e"}) {
		t.Errorf("created %q after removing a, want [e]", c.created)
	}
	// Removing what is gone is not an error.
	if err := c.Remove("a"); err != nil {
		t.Errorf("Remove(a) again: %v", err)
	}
	if err := c.Remove("never/made"); err != nil {
		t.Errorf("Remove(never/made): %v", err)
	}
}

// TestCgroupsCleanup checks that Cleanup removes what the harness created
// and what a body made by hand, and names both.
func TestCgroupsCleanup(t *testing.T) {
	c := newTestCgroups(t)
	if _, err := c.Create("x/y"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(c.Path("by-hand"), 0o755); err != nil {
		t.Fatal(err)
	}
	left, err := c.Cleanup()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(left)
	if !slices.Equal(left, []string{"by-hand", "x"}) {
		t.Errorf("Cleanup found %q, want [by-hand x]", left)
	}
	if entries, _ := os.ReadDir(c.Root()); len(entries) != 0 {
		t.Errorf("left after Cleanup: %v", entries)
	}
	if len(c.created) != 0 {
		t.Errorf("still remembers %q", c.created)
	}
	left, err = c.Cleanup()
	if err != nil || len(left) != 0 {
		t.Errorf("second Cleanup = %q, %v; want nothing", left, err)
	}
}

func TestCgroupsProcs(t *testing.T) {
	c := newTestCgroups(t)
	dir, err := c.Create("cg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("12\n345\n6789\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := c.Procs("cg")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int{12, 345, 6789}) {
		t.Errorf("Procs = %v, want [12 345 6789]", got)
	}
	if _, err := c.Procs("missing"); err == nil {
		t.Error("Procs of a missing cgroup: no error")
	}
}

// TestCgroupsSetCpusetMissing checks that restricting a cgroup that does not
// exist fails and says which cgroup and CPUs.
func TestCgroupsSetCpusetMissing(t *testing.T) {
	c := newTestCgroups(t)
	err := c.SetCpuset("nope", []int{0, 1, 3})
	if err == nil || !strings.Contains(err.Error(), `set cpuset of nope to "0-1,3"`) {
		t.Errorf("SetCpuset(nope) = %v, want an error naming nope and 0-1,3", err)
	}
}

// TestCgroupsParentOnFirstNeed checks that the parent is made only when a
// cgroup is: a body without cgroups leaves the hierarchy untouched.
func TestCgroupsParentOnFirstNeed(t *testing.T) {
	mount := t.TempDir()
	c, err := NewCgroups(mount, filepath.Join(mount, "a", "ktstr"))
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(mount); len(entries) != 0 {
		t.Fatalf("NewCgroups made %v before any cgroup was asked for", entries)
	}
	if left, err := c.Cleanup(); left != nil || err != nil {
		t.Errorf("Cleanup of a parent never made = %v, %v; want nothing", left, err)
	}
	if _, err := os.Stat(filepath.Join(mount, "a")); !os.IsNotExist(err) {
		t.Errorf("Cleanup made the parent: %v", err)
	}
	dir, err := c.Create("cg0")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("Create(cg0) = %s, not a directory: %v", dir, err)
	}
	if left, err := c.Cleanup(); !slices.Equal(left, []string{"cg0"}) || err != nil {
		t.Errorf("Cleanup = %v, %v; want [cg0]", left, err)
	}

	// A body making its cgroups by hand finds the parent through Path.
	c, _ = NewCgroups(mount, filepath.Join(mount, "b"))
	if err := os.Mkdir(c.Path("by-hand"), 0o755); err != nil {
		t.Fatalf("mkdir below Path: %v", err)
	}
}

// TestCgroupsParentError checks that a parent that cannot be made fails
// the first cgroup, saying where.
func TestCgroupsParentError(t *testing.T) {
	mount := t.TempDir()
	// A file where the parent's directory should go.
	if err := os.WriteFile(filepath.Join(mount, "ktstr"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := NewCgroups(mount, filepath.Join(mount, "ktstr", "p"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create("cg0")
	if err == nil || !strings.Contains(err.Error(), "cgroup parent "+filepath.Join(mount, "ktstr", "p")) {
		t.Errorf("Create under an impossible parent: %v", err)
	}
}
