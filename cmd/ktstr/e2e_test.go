package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/stats"
)

// TestCompareEndToEnd runs a small suite (testdata/e2e) in a scratch git
// repository at two commits, the second throttling the workers' cgroup, and
// checks that `ktstr stats compare --a-commit A --b-commit B` reports the
// regression and fails. It boots real VMs, so it needs a cached kernel.
func TestCompareEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("boots two VMs")
	}
	if _, err := kernel.Resolve(os.Getenv(env.Kernel), ""); err != nil {
		t.Skipf("no kernel: %v", err)
	}
	src, err := os.ReadFile("testdata/e2e/e2e_test.go.txt")
	if err != nil {
		t.Fatal(err)
	}
	dir, write, run := scratchModule(t, "e2e_test.go", src)
	run("git", "init", "-q")
	run("go", "mod", "tidy")
	run("git", "add", "-A")
	run("git", "commit", "-qm", "a")
	commitA := run("git", "rev-parse", "--short=7", "HEAD")
	run("go", "test", "-count=1", ".")
	write("e2e_test.go", bytes.Replace(src, []byte("const throttle = false"), []byte("const throttle = true"), 1))
	run("git", "commit", "-qam", "b: throttle")
	commitB := run("git", "rev-parse", "--short=7", "HEAD")
	run("go", "test", "-count=1", ".")

	var out bytes.Buffer
	cmd := statsCmd()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"compare", "--dir", filepath.Join(dir, "target", "ktstr"), "--a-commit", commitA, "--b-commit", commitB, "--color", "never"})
	err = cmd.Execute()
	t.Logf("ktstr stats compare --a-commit %s --b-commit %s:\n%s", commitA, commitB, out.String())
	if !errors.Is(err, stats.ErrRegression) {
		t.Fatalf("compare returned %v; want a regression", err)
	}
	if !strings.Contains(out.String(), "total_iterations") || !strings.Contains(out.String(), "REGRESSION") {
		t.Errorf("the table does not show total_iterations as a regression")
	}
}

// scratchModule makes a Go module in a temporary directory that requires
// this tree's ktstr, with one file, name, holding src, and returns its
// directory, a function writing a file there, and one running a command
// there (failing t when it fails). It needs the module proxy for go mod
// tidy, as a user's module would.
func scratchModule(t *testing.T, name string, src []byte) (string, func(string, []byte), func(string, ...string) string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", []byte("module example.com/e2e\n\ngo 1.26\n\nrequire github.com/ktstr-go/ktstr v0.0.0\n\nreplace github.com/ktstr-go/ktstr => "+root+"\n"))
	write("go.sum", sum)
	write(name, src)
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	return dir, write, run
}
