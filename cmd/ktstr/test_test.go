package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/gotest"
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
	t.Setenv("KTSTR_CACHE_DIR", dir)
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
	if _, err = resolveTestKernels(ctx, nil, &log, false); err == nil || !strings.Contains(err.Error(), `KTSTR_KERNEL="6.1": no kernel matches "6.1"`) {
		t.Errorf("bad $KTSTR_KERNEL: %v", err)
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
	base := []string{"PATH=/bin", "KTSTR_KERNEL=old", "KTSTR_LIST=1", "KTSTR_GAUNTLET=1"}
	one := []testKernel{{arg: "/c/debian-7.3"}}
	two := []testKernel{{arg: "/c/debian-7.3"}, {arg: "/src/linux"}}

	m := envMap(testEnviron(base, &testOptions{}, one, "run-1", false))
	if m[env.Kernels] != "/c/debian-7.3" || m[env.Kernel] != "/c/debian-7.3" || m[env.RunID] != "run-1" || m["PATH"] != "/bin" {
		t.Errorf("one kernel: %v", m)
	}
	if _, ok := m[env.List]; ok {
		t.Error("an inherited KTSTR_LIST would turn the run into a listing")
	}
	if m[env.Gauntlet] != "1" {
		t.Error("an inherited KTSTR_GAUNTLET=1 is the user's choice; keep it")
	}
	for _, k := range []string{env.BudgetSecs, env.Shard, env.MaxVCPUs} {
		if _, ok := m[k]; ok {
			t.Errorf("%s set without its flag", k)
		}
	}

	o := &testOptions{gauntlet: true, budget: " 300", shard: "2/4", maxVCPUs: "16"}
	m = envMap(testEnviron([]string{"PATH=/bin", "KTSTR_KERNEL=old"}, o, two, "run-2", true))
	if m[env.Kernels] != "/c/debian-7.3,/src/linux" || m[env.List] != "1" || m[env.Gauntlet] != "1" ||
		m[env.BudgetSecs] != "300" || m[env.Shard] != "2/4" || m[env.MaxVCPUs] != "16" || m[env.RunID] != "run-2" {
		t.Errorf("two kernels: %v", m)
	}
	if _, ok := m[env.Kernel]; ok {
		t.Error("KTSTR_KERNEL set with several kernels")
	}
}

// fakeGo returns a goCmd that replays a recorded stream of
// internal/gotest/testdata, writes a line to stderr, exits with code, and
// records the arguments and environment it was given.
func fakeGo(t *testing.T, fixture string, code int, calls *[][]string) func(context.Context, []string, []string) *exec.Cmd {
	path := fixture
	if !filepath.IsAbs(path) {
		var err error
		path, err = filepath.Abs(filepath.Join("..", "..", "internal", "gotest", "testdata", fixture))
		if err != nil {
			t.Fatal(err)
		}
	}
	return func(_ context.Context, args, env []string) *exec.Cmd {
		*calls = append(*calls, append(slices.Clone(args), env...))
		return exec.Command("sh", "-c", `cat "$1"; echo "go: a note on stderr" >&2; exit "$2"`, "sh", path, string(rune('0'+code)))
	}
}

func newTestSession(o *testOptions, stdout, stderr *bytes.Buffer) *testSession {
	return &testSession{opts: o, stdout: stdout, stderr: stderr, now: time.Now, width: func() int { return 100 }}
}

func TestSessionPlain(t *testing.T) {
	var stdout, stderr bytes.Buffer
	junit := filepath.Join(t.TempDir(), "report.xml")
	o := &testOptions{junit: junit, goArgs: gotest.ParseArgs([]string{"./..."})}
	s := newTestSession(o, &stdout, &stderr)
	var calls [][]string
	s.goCmd = fakeGo(t, "mixed.jsonl", 1, &calls)
	code, err := s.test(context.Background(), []string{"KTSTR_RUN_ID=r"}, 0)
	if err != nil || code != 1 {
		t.Fatalf("code %d, %v", code, err)
	}
	if len(calls) != 1 || strings.Join(calls[0][:3], " ") != "test -json ./..." || !slices.Contains(calls[0], "KTSTR_RUN_ID=r") {
		t.Errorf("go called with %q", calls)
	}
	out := stdout.String()
	// A line per variant as it ends, go's package lines, then the failed
	// tests' output and the summary.
	for _, want := range []string{
		"PASS TestTopo/2n4l4c1t (0.0s)\n",
		"FAIL TestTopo/1n1l2c2t (0.1s)  body: worker 1 of cg0 starved\n",
		"SKIP TestAllSkipped (0.0s)  needs /dev/kvm\n",
		"FAIL\texample.com/fix/par\t0.114s\n",
		"# example.com/fix/buildfail [example.com/fix/buildfail.test]\nbuildfail/bf.go:3:23: cannot use",
		"FAIL\texample.com/fix/buildfail [build failed]\n",
		"?   \texample.com/fix/notests\t[no test files]\n",
		"\n--- FAIL: example.com/fix/par TestTopo/1n1l2c2t (0.1s)\n    par_test.go:15: ktstr: 1n1l2c2t",
		"FAIL  example.com/fix/panics     TestBoom/1n2l2c1t                      0.0s  panic: assignment to entry in nil map",
		"\n7 passed, 5 failed, 2 skipped\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if !strings.HasSuffix(out, "\n\n7 passed, 5 failed, 2 skipped\n") {
		t.Errorf("stdout does not end with the totals line:\n%s", out[max(0, len(out)-300):])
	}
	if strings.Contains(out, "=== RUN") || strings.Contains(out, `"Action"`) {
		t.Error("stdout has go test -v output or JSON without -v or -json")
	}
	if stderr.String() != "go: a note on stderr\n" {
		t.Errorf("stderr %q", stderr.String())
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var js gotest.JUnitSuites
	if err := xml.Unmarshal(data, &js); err != nil || js.Tests != 14 || js.Failures != 5 {
		t.Errorf("junit: %v %+v", err, js)
	}
}

func TestSessionJSONAndVerbose(t *testing.T) {
	var stdout, stderr bytes.Buffer
	o := &testOptions{goArgs: gotest.ParseArgs([]string{"-json", "-v", "./skips"})}
	s := newTestSession(o, &stdout, &stderr)
	var calls [][]string
	s.goCmd = fakeGo(t, "count2.jsonl", 0, &calls)
	code, err := s.test(context.Background(), nil, 0)
	if err != nil || code != 0 {
		t.Fatalf("code %d, %v", code, err)
	}
	fixture, _ := os.ReadFile(filepath.Join("..", "..", "internal", "gotest", "testdata", "count2.jsonl"))
	// -json: go's events verbatim on stdout; go's stderr stays on stderr.
	if stdout.String() != string(fixture) {
		t.Errorf("stdout is not go's JSON:\n%s", stdout.String())
	}
	// The report goes to stderr; -v prints the output as go test -v
	// would, and no result lines of ktstr's own.
	e := stderr.String()
	for _, want := range []string{
		"go: a note on stderr\n",
		"=== RUN   TestGauntlet\n=== RUN   TestGauntlet/1n2l2c1t\n--- PASS: TestGauntlet/1n2l2c1t (0.00s)\n",
		"PASS\nok  \texample.com/fix/skips\t0.004s\n",
		"\n2 passed, 0 failed, 4 skipped\n",
	} {
		if !strings.Contains(e, want) {
			t.Errorf("stderr lacks %q:\n%s", want, e)
		}
	}
	if strings.Contains(e, "PASS TestGauntlet/1n2l2c1t (") {
		t.Error("result lines printed with -v")
	}
}

func TestSessionTerminal(t *testing.T) {
	var stdout, stderr bytes.Buffer
	o := &testOptions{goArgs: gotest.ParseArgs(nil)}
	s := newTestSession(o, &stdout, &stderr)
	s.terminal = true
	var calls [][]string
	s.goCmd = fakeGo(t, "ktstr.jsonl", 1, &calls)
	code, err := s.test(context.Background(), nil, 5)
	if err != nil || code != 1 {
		t.Fatalf("code %d, %v", code, err)
	}
	e := stderr.String()
	for _, want := range []string{"\r\x1b[K[0/5 done]", "[1/5 done]", " | 1 failed", "[5/5 done] | 2 failed"} {
		if !strings.Contains(e, want) {
			t.Errorf("status line never showed %q:\n%q", want, e)
		}
	}
	if !strings.HasSuffix(e, "\r\x1b[K") {
		t.Errorf("status line not cleared at the end: %q", e[max(0, len(e)-80):])
	}
	out := stdout.String()
	// On a terminal only failures get a line of their own as they happen.
	if strings.Contains(out, "PASS TestBodyFails/1n1l2c1t (") || !strings.Contains(out, "FAIL TestBodyFails/1n2l1c1t (5.3s)  body: cg1: worker 3 starved: 0 work units in 1s\n") {
		t.Errorf("stdout:\n%s", out)
	}
	if !strings.HasSuffix(out, "\n1 passed, 2 failed, 2 skipped\n") {
		t.Errorf("stdout end:\n%s", out[max(0, len(out)-200):])
	}
}

func TestSessionPackageOutput(t *testing.T) {
	// What a package prints outside its tests (here go test -list) shows
	// before its result line; a package failing outside its tests is a
	// row of the summary.
	stream := `{"Action":"start","Package":"p"}
{"Action":"output","Package":"p","Output":"TestA\n"}
{"Action":"output","Package":"p","Output":"TestB\n"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.01s\n"}
{"Action":"pass","Package":"p","Elapsed":0.01}
{"Action":"start","Package":"q"}
{"Action":"output","Package":"q","Output":"ktstr: KTSTR_SHARD: shard \"5/4\": want 1 ≤ K ≤ N\n"}
{"Action":"output","Package":"q","Output":"FAIL\tq\t0.01s\n"}
{"Action":"fail","Package":"q","Elapsed":0.01}
`
	path := filepath.Join(t.TempDir(), "stream.jsonl")
	if err := os.WriteFile(path, []byte(stream), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	s := newTestSession(&testOptions{goArgs: gotest.ParseArgs([]string{"-list", ".", "./p", "./q"})}, &stdout, &stderr)
	var calls [][]string
	s.goCmd = fakeGo(t, path, 1, &calls)
	code, err := s.test(context.Background(), nil, 0)
	if err != nil || code != 1 {
		t.Fatalf("code %d, %v", code, err)
	}
	want := "TestA\nTestB\nok  \tp\t0.01s\n" +
		"ktstr: KTSTR_SHARD: shard \"5/4\": want 1 ≤ K ≤ N\nFAIL\tq\t0.01s\n" +
		"\n--- FAIL: q [package] (0.0s)\n    ktstr: KTSTR_SHARD: shard \"5/4\": want 1 ≤ K ≤ N\n" +
		"\nFAIL  q [package]  0.0s  ktstr: KTSTR_SHARD: shard \"5/4\": want 1 ≤ K ≤ N\n\n0 passed, 1 failed, 0 skipped\n"
	if stdout.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), want)
	}
}

func TestSessionList(t *testing.T) {
	var stdout, stderr bytes.Buffer
	o := &testOptions{list: true, goArgs: gotest.ParseArgs([]string{"-json", "./listb", "./lista"})}
	s := newTestSession(o, &stdout, &stderr)
	var calls [][]string
	s.goCmd = fakeGo(t, "list.jsonl", 0, &calls)
	code, err := s.list(context.Background(), []string{"KTSTR_LIST=1"})
	if err != nil || code != 0 {
		t.Fatalf("code %d, %v", code, err)
	}
	// By package, then in the order they came; -json does not apply.
	want := "TestB/1n2l2c1t\nTestB/1n1l4c1t\nTestA/1n1l2c2t\nTestB/1n2l2c1t\nTestB/1n1l4c1t\nTestA/1n1l2c2t\n"
	if stdout.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), want)
	}
	if !slices.Contains(calls[0], "KTSTR_LIST=1") {
		t.Errorf("env %q", calls[0])
	}

	// A failing listing (a package does not build) fails the command.
	stdout.Reset()
	stderr.Reset()
	s.goCmd = fakeGo(t, "mixed.jsonl", 1, &calls)
	code, err = s.list(context.Background(), []string{"KTSTR_LIST=1"})
	if err != nil || code != 1 {
		t.Fatalf("code %d, %v", code, err)
	}
	if !strings.Contains(stderr.String(), "--- FAIL: example.com/fix/buildfail [build failed]") || !strings.Contains(stderr.String(), "ktstr: listing failed") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

func TestSessionCount(t *testing.T) {
	var stdout, stderr bytes.Buffer
	s := newTestSession(&testOptions{goArgs: gotest.ParseArgs(nil)}, &stdout, &stderr)
	var calls [][]string
	s.goCmd = fakeGo(t, "list.jsonl", 0, &calls)
	// Two packages of TestB/{1n2l2c1t,1n1l4c1t,gauntlet}, TestA/1n1l2c2t,
	// TestUnit.
	if n := s.count(context.Background(), []string{"KTSTR_LIST=1"}); n != 10 {
		t.Errorf("count %d, want 10", n)
	}
	if s.progress != nil || s.run != nil {
		t.Error("count left its state behind")
	}
	s.goCmd = fakeGo(t, "list.jsonl", 1, &calls)
	if n := s.count(context.Background(), []string{"KTSTR_LIST=1"}); n != 0 {
		t.Errorf("count of a failed listing %d, want 0", n)
	}
}
