// Package gotesttest stands in for the go command in tests of code that
// runs go test through a gotest.Session, replaying a recorded
// `go test -json` stream (internal/gotest/testdata holds several).
package gotesttest

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// FakeGo returns a go command for gotest.Session's GoCmd that writes the
// stream in file (relative to the test's directory, or absolute) to stdout,
// "go: a note on stderr" to stderr, and exits with code. Each call appends
// its arguments, then its environment, to calls.
func FakeGo(t testing.TB, file string, code int, calls *[][]string) func(ctx context.Context, args, env []string) *exec.Cmd {
	t.Helper()
	// Absolute: the command then finds it from whatever directory it runs in.
	path, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	return func(_ context.Context, args, env []string) *exec.Cmd {
		*calls = append(*calls, append(slices.Clone(args), env...))
		return exec.Command("sh", "-c", `cat "$1"; echo "go: a note on stderr" >&2; exit "$2"`, "sh", path, strconv.Itoa(code))
	}
}
