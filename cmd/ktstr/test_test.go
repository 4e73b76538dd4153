package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/gotest/gotesttest"
	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/kernel/image/imagetest"
)

// parseTestCmd runs `ktstr test args…` with a stub in place of the run and
// returns the options it got.
func parseTestCmd(t *testing.T, args ...string) (*testOptions, error) {
	t.Helper()
	var got *testOptions
	c := newTestCmd(func(_ context.Context, o *testOptions) (int, error) {
		got = o
		return 0, nil
	})
	c.SetArgs(args)
	c.SetOut(&bytes.Buffer{})
	c.SetErr(&bytes.Buffer{})
	c.SilenceUsage, c.SilenceErrors = true, true
	err := c.ExecuteContext(context.Background())
	return got, err
}

func TestTestCmdSplitsAtDash(t *testing.T) {
	o, err := parseTestCmd(t, "--kernel", "7.3", "--kernel", "/src/linux", "--gauntlet", "--budget", "300",
		"--shard", "2/4", "--junit", filepath.Join(t.TempDir(), "r.xml"), "--max-vcpus", "unlimited",
		"--", "-run", "TestX/1n2l2c1t", "-v", "-count=1", "./examples/demo/", "./pkg/...")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.kernels, []string{"7.3", "/src/linux"}) || !o.gauntlet || o.budget != "300" || o.shard != "2/4" || o.maxVCPUs != "unlimited" || o.list {
		t.Errorf("options %+v", o)
	}
	g := o.goArgs
	if !slices.Equal(g.Flags, []string{"-run", "TestX/1n2l2c1t", "-v", "-count=1"}) ||
		!slices.Equal(g.Packages, []string{"./examples/demo/", "./pkg/..."}) || !g.Verbose || g.JSON {
		t.Errorf("go args %+v", g)
	}

	// Packages may come before "--"; ktstr's flags after it are go's.
	o, err = parseTestCmd(t, "./a", "--list", "--", "--gauntlet", "./b")
	if err != nil {
		t.Fatal(err)
	}
	if !o.list || o.gauntlet || !slices.Equal(o.goArgs.Packages, []string{"./a", "./b"}) || !slices.Equal(o.goArgs.Flags, []string{"--gauntlet"}) {
		t.Errorf("options %+v, go args %+v", o, o.goArgs)
	}

	// Nothing at all: ./... by default.
	o, err = parseTestCmd(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.goArgs.Command("./..."), " "); got != "test -json ./..." {
		t.Errorf("command %q", got)
	}
	if got := testGoArgs([]string{"a", "-run", "X"}, 1); !slices.Equal(got, []string{"a", "-run", "X"}) {
		t.Errorf("testGoArgs %q", got)
	}
}

func TestTestCmdErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-run", "TestX"}, `go test flags go after "--"`},
		{[]string{"--budget", "soon"}, "--budget: "},
		{[]string{"--budget", "-5"}, "--budget: "},
		{[]string{"--shard", "5/4"}, "--shard: "},
		{[]string{"--shard", "2"}, "--shard: "},
		{[]string{"--max-vcpus", "lots"}, "--max-vcpus: "},
		{[]string{"--junit", "/nonexistent/dir/r.xml"}, "--junit /nonexistent/dir/r.xml: no directory"},
		{[]string{"--report", "/nonexistent/dir/r.html"}, "--report: cannot write the report to /nonexistent/dir/r.html"},
		{[]string{"--kernel", ""}, "--kernel: empty"},
	} {
		o, err := parseTestCmd(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.args, err, c.want)
		}
		if o != nil {
			t.Errorf("%q: ran anyway", c.args)
		}
	}
}

// testCache makes a kernel cache with entries for releases, the last the
// newest, and points KTSTR_CACHE_DIR at it.
func testCache(t *testing.T, releases ...string) string {
	t.Helper()
	dir := t.TempDir()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, rel := range releases {
		at = at.Add(time.Hour)
		meta := kernel.Metadata{Version: rel, PackageVersion: "1", Source: "debian:trixie-backports", FetchedAt: at, SchedExt: true}
		err := kernel.Store(dir, "debian-"+rel, meta, func(d string, _ *kernel.Metadata) error {
			return os.WriteFile(filepath.Join(d, kernel.ImageFile), []byte("not really a kernel"), 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(env.CacheDir, dir)
	t.Setenv(env.Kernel, "")
	return dir
}

func TestResolveTestKernels(t *testing.T) {
	cache := testCache(t, "7.2.1+deb13-amd64", "7.3.4+deb13-amd64")
	ctx := context.Background()
	var log bytes.Buffer
	args := func(ks []testKernel) string {
		var out []string
		for _, k := range ks {
			out = append(out, k.arg)
		}
		return strings.Join(out, ",")
	}
	newest := filepath.Join(cache, "debian-7.3.4+deb13-amd64")
	older := filepath.Join(cache, "debian-7.2.1+deb13-amd64")

	ks, err := resolveTestKernels(ctx, nil, &log, false)
	if err != nil || args(ks) != newest {
		t.Errorf("default: %q %v", args(ks), err)
	}
	// By version prefix and by key; the same kernel twice counts once.
	ks, err = resolveTestKernels(ctx, []string{"7.2", "debian-7.3.4+deb13-amd64", "7.3.4", older}, &log, false)
	if err != nil || args(ks) != older+","+newest {
		t.Errorf("several: %q %v", args(ks), err)
	}
	if ks[0].k.Version != "7.2.1+deb13-amd64" {
		t.Errorf("version %q", ks[0].k.Version)
	}
	// $KTSTR_KERNEL when no --kernel.
	t.Setenv(env.Kernel, "7.2")
	if ks, err = resolveTestKernels(ctx, nil, &log, false); err != nil || args(ks) != older {
		t.Errorf("from the environment: %q %v", args(ks), err)
	}
	t.Setenv(env.Kernel, "6.1")
	if _, err = resolveTestKernels(ctx, nil, &log, false); err == nil || !strings.Contains(err.Error(), env.Kernel+`="6.1": no kernel matches "6.1"`) {
		t.Errorf("bad $%s: %v", env.Kernel, err)
	}
	t.Setenv(env.Kernel, "")
	// A kernel that does not resolve fails the whole command, with the
	// resolver's explanation.
	_, err = resolveTestKernels(ctx, []string{"7.3", "8.0"}, &log, false)
	if err == nil || !strings.Contains(err.Error(), `--kernel "8.0": no kernel matches "8.0"`) || !strings.Contains(err.Error(), "as a version prefix") {
		t.Errorf("unknown kernel: %v", err)
	}
	if log.Len() != 0 {
		t.Errorf("logged %q", log.String())
	}
}

func TestResolveTestKernelsPaths(t *testing.T) {
	testCache(t)
	dir := t.TempDir()
	elf := imagetest.ELF(imagetest.ELFOptions{PVH: true, Release: "6.99.0-test"})
	bz := filepath.Join(dir, "vmlinuz-6.99.0-test")
	if err := os.WriteFile(bz, imagetest.BzImage(imagetest.Zstd(elf), "6.99.0-test (b@h) #1 SMP"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	ks, err := resolveTestKernels(context.Background(), []string{"vmlinuz-6.99.0-test"}, &bytes.Buffer{}, false)
	if err != nil {
		t.Fatal(err)
	}
	// Relative paths become absolute: test binaries run in their
	// packages' directories.
	if len(ks) != 1 || ks[0].arg != bz {
		t.Errorf("%+v", ks)
	}
	comma := filepath.Join(dir, "a,b")
	if err := os.WriteFile(comma, imagetest.BzImage(imagetest.Zstd(elf), "6.99.0-test (b@h) #1 SMP"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveTestKernels(context.Background(), []string{comma}, &bytes.Buffer{}, false); err == nil || !strings.Contains(err.Error(), "comma") {
		t.Errorf("comma: %v", err)
	}
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}

func TestTestEnviron(t *testing.T) {
	base := []string{"PATH=/bin", env.Kernel + "=old", env.List + "=1", env.Gauntlet + "=1"}
	one := []testKernel{{arg: "/c/debian-7.3"}}
	two := []testKernel{{arg: "/c/debian-7.3"}, {arg: "/src/linux"}}

	m := envMap(testEnviron(base, &testOptions{}, one, "run-1", false))
	if m[env.Kernels] != "/c/debian-7.3" || m[env.Kernel] != "/c/debian-7.3" || m[env.RunID] != "run-1" || m["PATH"] != "/bin" {
		t.Errorf("one kernel: %v", m)
	}
	if _, ok := m[env.List]; ok {
		t.Errorf("an inherited %s would turn the run into a listing", env.List)
	}
	if m[env.Gauntlet] != "1" {
		t.Errorf("an inherited %s=1 is the user's choice; keep it", env.Gauntlet)
	}
	for _, k := range []string{env.BudgetSecs, env.Shard, env.MaxVCPUs} {
		if _, ok := m[k]; ok {
			t.Errorf("%s set without its flag", k)
		}
	}

	o := &testOptions{gauntlet: true, budget: " 300", shard: "2/4", maxVCPUs: "16"}
	m = envMap(testEnviron([]string{"PATH=/bin", env.Kernel + "=old"}, o, two, "run-2", true))
	if m[env.Kernels] != "/c/debian-7.3,/src/linux" || m[env.List] != "1" || m[env.Gauntlet] != "1" ||
		m[env.BudgetSecs] != "300" || m[env.Shard] != "2/4" || m[env.MaxVCPUs] != "16" || m[env.RunID] != "run-2" {
		t.Errorf("two kernels: %v", m)
	}
	if _, ok := m[env.Kernel]; ok {
		t.Errorf("%s set with several kernels", env.Kernel)
	}
}

// fakeGo is gotesttest.FakeGo replaying a recorded stream of
// internal/gotest/testdata.
func fakeGo(t *testing.T, fixture string, code int, calls *[][]string) func(context.Context, []string, []string) *exec.Cmd {
	return gotesttest.FakeGo(t, filepath.Join("..", "..", "internal", "gotest", "testdata", fixture), code, calls)
}
