package srctree

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const makefile = `# SPDX-License-Identifier: GPL-2.0
VERSION = 7
PATCHLEVEL = 3
SUBLEVEL = 4
EXTRAVERSION = -rc1
NAME = Baby Opossum Posse
`

// fakeTree writes the smallest directory Open takes for a kernel tree,
// with a source file and a symbolic link.
func fakeTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"Makefile":           makefile,
		"Kconfig":            "source \"init/Kconfig\"\n",
		"init/Kconfig":       "config X\n\tbool \"x\"\n",
		"arch/x86/Kconfig":   "config X86\n\tdef_bool y\n",
		"kernel/sched/ext.c": "int scx;\n",
		".gitignore":         "*.o\n.config\n/include/config/\n",
	}
	for name, content := range files {
		write(t, dir, name, content)
	}
	if err := os.Symlink("../kernel/sched/ext.c", filepath.Join(dir, "init", "ext.c")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpen(t *testing.T) {
	dir := fakeTree(t)
	tree, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Version != "7.3.4-rc1" {
		t.Errorf("Version = %q, want 7.3.4-rc1", tree.Version)
	}

	for _, tc := range []struct {
		name  string
		setup func(dir string)
		want  string
	}{
		{"no Makefile", func(d string) { os.Remove(filepath.Join(d, "Makefile")) }, "(no Makefile)"},
		{"another Makefile", func(d string) { write(t, d, "Makefile", "all:\n\techo hi\n") }, "a Makefile without VERSION and PATCHLEVEL"},
		{"no Kconfig, no arch/x86", func(d string) {
			os.Remove(filepath.Join(d, "Kconfig"))
			os.RemoveAll(filepath.Join(d, "arch", "x86"))
		}, "(no Kconfig, no arch/x86)"},
	} {
		d := fakeTree(t)
		tc.setup(d)
		_, err := Open(d)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "is not a kernel source tree") ||
			!strings.Contains(err.Error(), "pass the top directory of a Linux source tree") {
			t.Errorf("%s: Open = %v; want an error with %q saying what to pass", tc.name, err, tc.want)
		}
	}
	if _, err := Open(filepath.Join(dir, "Makefile")); err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("Open(a file) = %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil {
		t.Error("Open(a missing directory) succeeded")
	}
}

func TestMakefileVersion(t *testing.T) {
	for in, want := range map[string]string{
		makefile:                         "7.3.4-rc1",
		"VERSION = 6\nPATCHLEVEL = 12\n": "6.12.0",
		"VERSION=6\nPATCHLEVEL=1\nSUBLEVEL=2\nEXTRAVERSION=\n": "6.1.2",
		"PATCHLEVEL = 12\n": "",
		"VERSION = 7\nPATCHLEVEL = 3\nSUBLEVEL = 4\nVERSION = 9\n": "7.3.4",
	} {
		if got := makefileVersion([]byte(in)); got != want {
			t.Errorf("makefileVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

var listID = regexp.MustCompile(`^tree-[0-9a-f]{12}$`)

func TestListState(t *testing.T) {
	ctx := context.Background()
	dir := fakeTree(t)
	tree, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tree.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !listID.MatchString(st.ID) {
		t.Errorf("ID = %q, want tree-<12 hex>", st.ID)
	}
	want := []string{"Kconfig", "Makefile", "arch/x86/Kconfig", "init/Kconfig", "init/ext.c", "kernel/sched/ext.c"}
	if !slices.Equal(st.Files, want) {
		t.Errorf("Files = %q, want %q (no dot files)", st.Files, want)
	}

	same := func(what string, wantSame bool) {
		t.Helper()
		again, err := tree.State(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if (again.ID == st.ID) != wantSame {
			t.Errorf("%s: ID %s, before %s; want the same: %v", what, again.ID, st.ID, wantSame)
		}
	}
	future := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, "kernel/sched/ext.c"), future, future)
	same("a new modification time", true)
	write(t, dir, ".config", "CONFIG_X=y\n")
	same("a .config", true)
	write(t, dir, "kernel/sched/ext.c", "int scx = 1;\n")
	same("a file of another size", false)

	write(t, dir, "kernel/fork.o", "ELF")
	if _, err := tree.State(ctx); err == nil || !strings.Contains(err.Error(), "kernel/fork.o") || !strings.Contains(err.Error(), "make mrproper") {
		t.Errorf("State of a tree built in place = %v; want an error naming the object and what to do", err)
	}
	os.Remove(filepath.Join(dir, "kernel/fork.o"))
	os.MkdirAll(filepath.Join(dir, "include", "config"), 0o755)
	if _, err := tree.State(ctx); err == nil || !strings.Contains(err.Error(), "include/config") {
		t.Errorf("State of a configured tree = %v; want an error naming include/config", err)
	}
}

var gitID = regexp.MustCompile(`^g[0-9a-f]{12}(-dirty-[0-9a-f]{12})?$`)

func TestGitState(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git on this machine")
	}
	ctx := context.Background()
	dir := fakeTree(t)
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "v7.3.4")
	commit := git("rev-parse", "HEAD")
	tree, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	state := func() *State {
		t.Helper()
		st, err := tree.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !gitID.MatchString(st.ID) {
			t.Fatalf("ID = %q, want g<12 hex>[-dirty-<12 hex>]", st.ID)
		}
		return st
	}
	clean := state()
	if clean.ID != "g"+commit[:12] {
		t.Errorf("clean ID = %s, want g%s", clean.ID, commit[:12])
	}
	// A build in place leaves ignored files: still clean, and not sources.
	write(t, dir, ".config", "CONFIG_X=y\n")
	write(t, dir, "kernel/sched/ext.o", "ELF")
	if st := state(); st.ID != clean.ID || slices.Contains(st.Files, ".config") || slices.Contains(st.Files, "kernel/sched/ext.o") {
		t.Errorf("ignored files changed the state: %s, files %q", st.ID, st.Files)
	}

	write(t, dir, "kernel/sched/ext.c", "int scx = 2;\n") // same size: git sees it
	edited := state()
	if !strings.HasPrefix(edited.ID, clean.ID+"-dirty-") {
		t.Errorf("edited ID = %s, want %s-dirty-…", edited.ID, clean.ID)
	}
	write(t, dir, "kernel/sched/ext.c", "int scx = 3;\n")
	if st := state(); st.ID == edited.ID {
		t.Error("another edit kept the dirty hash")
	}
	write(t, dir, "kernel/sched/ext.c", "int scx = 2;\n")
	if st := state(); st.ID != edited.ID {
		t.Errorf("the same edit again gave %s, first %s", st.ID, edited.ID)
	}

	git("checkout", "-q", "--", ".")
	write(t, dir, "kernel/sched/new.c", "int n;\n")
	withNew := state()
	if withNew.ID == clean.ID || !slices.Contains(withNew.Files, "kernel/sched/new.c") {
		t.Errorf("an untracked file: ID %s (clean %s), files %q", withNew.ID, clean.ID, withNew.Files)
	}
	os.Remove(filepath.Join(dir, "kernel/sched/new.c"))
	os.Remove(filepath.Join(dir, "init/Kconfig"))
	deleted := state()
	if deleted.ID == clean.ID || slices.Contains(deleted.Files, "init/Kconfig") {
		t.Errorf("a deleted file: ID %s (clean %s), files %q", deleted.ID, clean.ID, deleted.Files)
	}

	// A tree inside another repository is keyed by its listing.
	outer := t.TempDir()
	inner := filepath.Join(outer, "linux")
	if err := os.Rename(dir, inner); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(inner, ".git"))
	os.Remove(filepath.Join(inner, "kernel/sched/ext.o"))
	dir = outer
	git("init", "-q")
	innerTree, err := Open(inner)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := innerTree.State(ctx); err != nil || !listID.MatchString(st.ID) {
		t.Errorf("a tree inside another repository: %+v, %v; want a listing's ID", st, err)
	}
}

func TestLink(t *testing.T) {
	ctx := context.Background()
	dir := fakeTree(t)
	tree, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tree.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "src")
	if err := tree.Link(ctx, st.Files, dst); err != nil {
		t.Fatal(err)
	}
	for _, f := range st.Files {
		want, _ := os.ReadFile(filepath.Join(dir, f))
		got, err := os.ReadFile(filepath.Join(dst, f))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s in the copy: %q, %v; want %q", f, got, err, want)
		}
	}
	if target, _ := os.Readlink(filepath.Join(dst, "init", "ext.c")); target != "../kernel/sched/ext.c" {
		t.Errorf("the tree's own link points at %q in the copy, want ../kernel/sched/ext.c", target)
	}
	if _, err := os.Lstat(filepath.Join(dst, ".gitignore")); err == nil {
		t.Error("a dot file was copied")
	}
	if err := tree.Link(ctx, st.Files, dst); err == nil {
		t.Error("Link into an existing directory succeeded")
	}
}
