package sidecar

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/cachedir"
)

func sample(name string) Result {
	return Result{
		TestName:      name,
		Topology:      "1n2l2c1t",
		Scheduler:     "scx_simple",
		Flags:         []string{"steal", "llc"},
		WorkType:      "spin",
		Payload:       "fio",
		KernelVersion: "7.3.4+deb13-amd64",
		KernelCommit:  "0123abc",
		ProjectCommit: "abcdef1-dirty",
		Passed:        false,
		Failures:      []string{"unfair cgroup: spread=42%"},
		Stats: Stats{
			Overall: Metrics{MetricWorstSpread: 42, MetricTotalIterations: 1000, VerifiedInsnsMetric("simple_enqueue"): 42, MetricTotalVerifiedInsns: 49},
			Cgroups: map[string]Metrics{"cg0": {MetricWorstSpread: 42}, "cg1": {MetricWorstSpread: 3.5}},
		},
		Monitor: &Monitor{Samples: 10, Judged: 8, MaxImbalance: 2, MaxLocalDSQ: 3, MaxGlobalDSQ: -1, MaxUserDSQ: -1,
			Findings: []MonitorFinding{{Kind: "imbalance", Message: "runqueues out of balance", AtMS: 700}},
			Series:   &MonitorSeries{AtMS: []float64{0, 100}, NrRunning: [][]uint32{{1, 2}, {0, 1}}}},
		BPF: &BPF{Programs: []BPFProgram{
			{Name: "simple_enqueue", Type: "StructOps", VerifiedInsns: 42, XlatedBytes: 416, JitedBytes: 253, Counted: true, RunCount: 52, RunTimeNS: 841941},
			{Name: "simple_exit", Type: "StructOps", VerifiedInsns: 7, Counted: true},
		}, Notes: []string{"BPF program 17: no info"}},
		Steps:          []Step{{Name: "step 0", Start: 0, Duration: time.Second}, {Name: "step 1", Start: time.Second, Duration: 500 * time.Millisecond}},
		PayloadMetrics: map[string]float64{"iops": 12345.5},
		Sysctls:        map[string]string{"kernel.sched_autogroup_enabled": "0"},
		KernelArgs:     []string{"nohz_full=2-3"},
		Accelerator:    AccelTCG,
		Host:           &Host{CPUModel: "Test CPU", OnlineCPUs: 2, Arch: "x86_64", SchedTunables: map[string]string{"kernel.sched_rt_runtime_us": "950000"}},
		Timestamp:      time.Date(2026, 4, 27, 10, 15, 0, 0, time.UTC),
		RunID:          "run-1",
		RunSource:      SourceCI,
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	w := NewWriter(dir, "run-1")
	in := sample("TestTwoCgroups/1n2l2c1t")
	in.Stats.Overall["nan"] = math.NaN()
	in.PayloadMetrics["inf"] = math.Inf(1)
	if err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("read %d results, want 1", len(got))
	}
	want := sample("TestTwoCgroups/1n2l2c1t")
	want.Schema = SchemaVersion
	want.Path = filepath.Join(dir, FileName(&want))
	if !reflect.DeepEqual(got[0], want) {
		a, _ := json.MarshalIndent(got[0], "", " ")
		b, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("round trip differs:\ngot  %s\nwant %s", a, b)
	}
	if got[0].Path != w.Path(&want) {
		t.Errorf("Path = %s, Writer.Path = %s", got[0].Path, w.Path(&want))
	}
	// The JSON carries the schema field and readable names.
	data, _ := os.ReadFile(got[0].Path)
	for _, s := range []string{`"schema": 1`, `"test_name": "TestTwoCgroups/1n2l2c1t"`, `"start_ns": 1000000000`, `"run_source": "ci"`, `"verified_insns": 42`, `"run_time_ns": 841941`, `"verified_insns.simple_enqueue": 42`} {
		if !strings.Contains(string(data), s) {
			t.Errorf("sidecar lacks %s:\n%s", s, data)
		}
	}
}

func TestWriteFillsDefaults(t *testing.T) {
	t.Setenv(EnvCI, "")
	t.Setenv("CI", "")
	dir := t.TempDir()
	w := NewWriter(dir, "run-x")
	w.ProjectCommit = "1234567"
	w.Host = &Host{Arch: "x86_64"}
	before := time.Now()
	if err := w.Write(Result{TestName: "TestA", Passed: true}); err != nil {
		t.Fatal(err)
	}
	rs, err := ReadDir(dir)
	if err != nil || len(rs) != 1 {
		t.Fatalf("ReadDir = %v, %v", rs, err)
	}
	r := rs[0]
	if r.Schema != SchemaVersion || r.RunID != "run-x" || r.RunSource != SourceLocal || r.ProjectCommit != "1234567" ||
		r.Host == nil || r.Host.Arch != "x86_64" || r.Timestamp.Before(before.Add(-time.Second)) {
		t.Errorf("defaults not filled: %+v", r)
	}
}

func TestFileNaming(t *testing.T) {
	for in, want := range map[string]string{
		"TestTwoCgroups/1n2l2c1t":           "TestTwoCgroups.1n2l2c1t",
		"TestX/gauntlet/tiny-1llc/default":  "TestX.gauntlet.tiny-1llc.default",
		"TestY/with space/and*star?":        "TestY.with_space.and_star_",
		"/lead":                             "_lead",
		"":                                  "_",
		"TestÜnicode":                       "Test__nicode",
		"a=b+c":                             "a=b+c",
		strings.Repeat("x", 300):            strings.Repeat("x", 200),
		"TestZ/../../etc/passwd":            "TestZ.......etc.passwd",
		"Test\x00nul":                       "Test_nul",
		"TestSub/sub2/" + "7.3.4+deb13-amd": "TestSub.sub2.7.3.4+deb13-amd",
	} {
		if got := SanitizeTestName(in); got != want {
			t.Errorf("SanitizeTestName(%q) = %q, want %q", in, got, want)
		}
	}

	r := sample("TestTwoCgroups/1n2l2c1t")
	name := FileName(&r)
	if !regexp.MustCompile(`^TestTwoCgroups\.1n2l2c1t-[0-9a-f]{16}\.ktstr\.json$`).MatchString(name) {
		t.Errorf("FileName = %q", name)
	}
	h := VariantHash(&r)
	// Order of flags and sysctls does not matter; outcomes do not enter.
	r2 := r
	r2.Flags = []string{"llc", "steal"}
	r2.Sysctls = map[string]string{"kernel.sched_autogroup_enabled": "0"}
	r2.Passed, r2.Failures, r2.Stats, r2.Host, r2.Timestamp, r2.RunID = true, nil, Stats{}, nil, time.Time{}, "other"
	r2.ProjectCommit, r2.KernelCommit = "fffffff", ""
	if VariantHash(&r2) != h {
		t.Errorf("hash depends on flag order or outcome")
	}
	// Identity fields do.
	for i, mut := range []func(*Result){
		func(r *Result) { r.Topology = "1n1l4c1t" },
		func(r *Result) { r.Scheduler = "eevdf" },
		func(r *Result) { r.Flags = []string{"steal"} },
		func(r *Result) { r.Flags = []string{"steal,llc"} },
		func(r *Result) { r.WorkType = "mixed" },
		func(r *Result) { r.Payload = "" },
		func(r *Result) { r.Sysctls = nil },
		func(r *Result) { r.KernelArgs = []string{"nohz_full=1"} },
		func(r *Result) { r.KernelVersion = "7.2.0" },
		func(r *Result) { r.TestName = "TestTwoCgroups.1n2l2c1t" },
	} {
		r3 := r
		mut(&r3)
		if VariantHash(&r3) == h {
			t.Errorf("mutation %d does not change the hash", i)
		}
	}
}

func TestVariantHashGolden(t *testing.T) {
	r := Result{TestName: "TestA/1n1l2c1t", KernelVersion: "7.3.4", Topology: "1n1l2c1t", Scheduler: "eevdf", WorkType: "spin"}
	const want = "1033e84fd6467ee8"
	if got := VariantHash(&r); got != want {
		t.Errorf("VariantHash = %s, want %s: the hash changed, which renames every sidecar", got, want)
	}
}

func TestRunDirName(t *testing.T) {
	for _, c := range []struct{ kernel, commit, want string }{
		{"7.3.4+deb13-amd64", "abc1234", "7.3.4+deb13-amd64-abc1234"},
		{"7.3.4", "abc1234-dirty", "7.3.4-abc1234-dirty"},
		{"", "", "unknown-unknown"},
		{"local:/src/linux", UnknownCommit, "local__src_linux-unknown"},
	} {
		if got := RunDirName(c.kernel, c.commit); got != c.want {
			t.Errorf("RunDirName(%q, %q) = %q, want %q", c.kernel, c.commit, got, c.want)
		}
	}
}

func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestProjectCommit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	repo := t.TempDir()
	if got := ProjectCommit(repo); got != UnknownCommit {
		t.Errorf("outside git: %q, want unknown", got)
	}
	gitRun(t, repo, "init", "-q")
	if got := ProjectCommit(repo); got != UnknownCommit {
		t.Errorf("no commit yet: %q, want unknown", got)
	}
	os.WriteFile(filepath.Join(repo, "a.go"), []byte("package a\n"), 0o644)
	os.MkdirAll(filepath.Join(repo, "sub"), 0o755)
	gitRun(t, repo, "add", ".")
	gitRun(t, repo, "commit", "-q", "-m", "one")
	head := gitRun(t, repo, "rev-parse", "HEAD")[:7]
	sub := filepath.Join(repo, "sub")
	target := filepath.Join(repo, "target")

	if got := ProjectCommit(repo, target); got != head {
		t.Errorf("clean: %q, want %q", got, head)
	}
	if got := ProjectCommit(sub, target); got != head {
		t.Errorf("clean, from a subdirectory: %q, want %q", got, head)
	}
	// Untracked files under the target directory (sidecars) do not count.
	os.MkdirAll(filepath.Join(target, "ktstr", "run"), 0o755)
	os.WriteFile(filepath.Join(target, "ktstr", "run", "x.ktstr.json"), []byte("{}"), 0o644)
	if got := ProjectCommit(repo, target); got != head {
		t.Errorf("untracked target files: %q, want %q", got, head)
	}
	if got := ProjectCommit(repo); got != head+"-dirty" {
		t.Errorf("untracked target files, not ignored: %q, want dirty", got)
	}
	// Other untracked files do.
	os.WriteFile(filepath.Join(repo, "new.go"), []byte("package a\n"), 0o644)
	if got := ProjectCommit(repo, target); got != head+"-dirty" {
		t.Errorf("untracked file: %q, want %q", got, head+"-dirty")
	}
	os.Remove(filepath.Join(repo, "new.go"))
	// So do modified tracked files, staged or not.
	os.WriteFile(filepath.Join(repo, "a.go"), []byte("package a // changed\n"), 0o644)
	if got := ProjectCommit(repo, target); got != head+"-dirty" {
		t.Errorf("modified: %q, want dirty", got)
	}
	gitRun(t, repo, "add", "a.go")
	if got := ProjectCommit(sub, target); got != head+"-dirty" {
		t.Errorf("staged: %q, want dirty", got)
	}
	gitRun(t, repo, "commit", "-q", "-m", "two")
	head2 := gitRun(t, repo, "rev-parse", "HEAD")[:7]
	if got := ProjectCommit(repo, target); got != head2 || head2 == head {
		t.Errorf("after commit: %q, want %q", got, head2)
	}
	// A rename is a change.
	gitRun(t, repo, "mv", "a.go", "b.go")
	if got := ProjectCommit(repo, target); got != head2+"-dirty" {
		t.Errorf("renamed: %q, want dirty", got)
	}
}

func TestTargetAndDir(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module m\n"), 0o644)
	pkg := filepath.Join(root, "pkg", "inner")
	os.MkdirAll(pkg, 0o755)
	t.Chdir(pkg)
	t.Setenv(EnvTargetDir, "")
	t.Setenv(EnvSidecarDir, "")
	if got, want := resolveExisting(TargetDir()), resolveExisting(filepath.Join(root, "target")); got != want {
		t.Errorf("TargetDir = %s, want the module root's %s", got, want)
	}
	t.Setenv(EnvTargetDir, filepath.Join(root, "elsewhere"))
	if got := RunsRoot(); got != filepath.Join(root, "elsewhere", "ktstr") {
		t.Errorf("RunsRoot = %s", got)
	}
	dir, exact := Dir("7.3.4")
	if exact || filepath.Dir(dir) != filepath.Join(root, "elsewhere", "ktstr") || !strings.HasPrefix(filepath.Base(dir), "7.3.4-") {
		t.Errorf("Dir = %s, %v", dir, exact)
	}
	t.Setenv(EnvSidecarDir, filepath.Join(root, "exact"))
	if dir, exact := Dir("7.3.4"); !exact || dir != filepath.Join(root, "exact") {
		t.Errorf("with %s: Dir = %s, %v", EnvSidecarDir, dir, exact)
	}
	w := DefaultWriter("7.3.4")
	if w.Clear || w.Dir != filepath.Join(root, "exact") {
		t.Errorf("DefaultWriter into %s clears (%v) or goes to %s", EnvSidecarDir, w.Clear, w.Dir)
	}
	// An exact directory is not cleared.
	os.MkdirAll(w.Dir, 0o755)
	old := filepath.Join(w.Dir, "old"+FileSuffix)
	os.WriteFile(old, []byte(`{"schema":1}`), 0o644)
	if err := w.Write(Result{TestName: "TestA"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); err != nil {
		t.Errorf("exact directory was cleared: %v", err)
	}
}

// names lists the sidecar file names in dir.
func names(t *testing.T, dir string) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), FileSuffix) {
			out[e.Name()] = true
		}
		if cachedir.IsTempFile(e.Name()) {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
	return out
}

func TestFirstWriteClears(t *testing.T) {
	dir := t.TempDir()
	// Sidecars of an earlier run, and one in a subdirectory (kept).
	os.WriteFile(filepath.Join(dir, "old-0000000000000000"+FileSuffix), []byte(`{"schema":1}`), 0o644)
	os.MkdirAll(filepath.Join(dir, "keep"), 0o755)
	os.WriteFile(filepath.Join(dir, "keep", "sub"+FileSuffix), []byte(`{"schema":1}`), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)

	// Two writers of one run, concurrently: the old sidecar goes, all of
	// both writers' stay.
	const n = 20
	w1, w2 := NewWriter(dir, "run-A"), NewWriter(dir, "run-A")
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		for j, w := range []*Writer{w1, w2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- w.Write(Result{TestName: fmt.Sprintf("TestW%d/%d", j, i), Passed: true})
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := names(t, dir)
	if len(got) != 2*n || got["old-0000000000000000"+FileSuffix] {
		t.Errorf("after run A: %d sidecars (want %d), old one present: %v", len(got), 2*n, got["old-0000000000000000"+FileSuffix])
	}
	if b, _ := os.ReadFile(filepath.Join(dir, RunMarkerFile)); strings.TrimSpace(string(b)) != "run-A" {
		t.Errorf("marker = %q", b)
	}
	// A later writer of the same run (another package's test process)
	// adds without clearing.
	if err := NewWriter(dir, "run-A").Write(Result{TestName: "TestLate", Passed: true}); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); len(got) != 2*n+1 {
		t.Errorf("same run's later writer cleared: %d sidecars", len(got))
	}
	// A new run's first write replaces them all.
	w3 := NewWriter(dir, "run-B")
	r := Result{TestName: "TestW0/0"}
	if err := w3.Write(r); err != nil {
		t.Fatal(err)
	}
	if err := w3.Write(Result{TestName: "TestW0/1"}); err != nil {
		t.Fatal(err)
	}
	if got := names(t, dir); len(got) != 2 || !got[FileName(&r)] {
		t.Errorf("after run B: %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "keep", "sub"+FileSuffix)); err != nil {
		t.Errorf("subdirectory cleared: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("other file removed: %v", err)
	}
	rs, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.RunID != "run-B" && !strings.Contains(r.Path, "keep") {
			t.Errorf("%s from run %s", r.Path, r.RunID)
		}
	}
}

func TestConcurrentRuns(t *testing.T) {
	// Writers of different runs at once: each run's first write clears
	// under the lock, so none fails and what remains is whole files of
	// the runs, never a torn one.
	dir := t.TempDir()
	var wg sync.WaitGroup
	for run := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := NewWriter(dir, fmt.Sprintf("run-%d", run))
			for i := range 10 {
				if err := w.Write(Result{TestName: fmt.Sprintf("T%d", i), RunID: w.RunID}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	rs, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 10 {
		t.Errorf("%d sidecars, want 10 (one per test)", len(rs))
	}
	names(t, dir)
}

func TestClearWaitsForLock(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDir(dir, false) // a writer of another process, mid-write
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- NewWriter(dir, "run-1").Write(Result{TestName: "T"}) }()
	select {
	case err := <-done:
		t.Fatalf("Write finished while the lock was held: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Write did not finish after the lock was released")
	}

	old := lockTimeout
	lockTimeout = 50 * time.Millisecond
	defer func() { lockTimeout = old }()
	unlock, err = lockDir(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	err = NewWriter(dir, "run-2").Write(Result{TestName: "T"})
	if err == nil || !strings.Contains(err.Error(), "still held") {
		t.Errorf("Write under a held lock: %v, want a timeout", err)
	}
}

// TestHelperProcessWriter is run as a child process by
// TestProcessesShareRun.
func TestHelperProcessWriter(t *testing.T) {
	dir := os.Getenv("KTSTR_TEST_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	w := NewWriter(dir, RunID())
	for i := range 15 {
		if err := w.Write(Result{TestName: fmt.Sprintf("TestP%s/%d", os.Getenv("KTSTR_TEST_HELPER_N"), i)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProcessesShareRun(t *testing.T) {
	// Several test processes of one run (KTSTR_RUN_ID shared), started
	// together: the old sidecar goes, every process's stay.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "old"+FileSuffix), []byte(`{"schema":1}`), 0o644)
	const procs = 4
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessWriter$", "-test.count=1")
		cmd.Env = append(os.Environ(), "KTSTR_TEST_HELPER_DIR="+dir, fmt.Sprintf("KTSTR_TEST_HELPER_N=%d", i), EnvRunID+"=shared-run")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	got := names(t, dir)
	if len(got) != procs*15 || got["old"+FileSuffix] {
		t.Errorf("%d sidecars (want %d), old present %v", len(got), procs*15, got["old"+FileSuffix])
	}
	rs, _ := ReadDir(dir)
	for _, r := range rs {
		if r.RunID != "shared-run" {
			t.Errorf("%s: run id %q", r.Path, r.RunID)
		}
	}
}

func TestReadDirErrors(t *testing.T) {
	root := t.TempDir()
	run := filepath.Join(root, "7.3.4-abc1234")
	w := NewWriter(run, "r")
	if err := w.Write(Result{TestName: "TestGood", Passed: true}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(run, "newer"+FileSuffix), []byte(`{"schema": 2, "test_name": "TestNew"}`), 0o644)
	os.WriteFile(filepath.Join(run, "noschema"+FileSuffix), []byte(`{"test_name": "TestX"}`), 0o644)
	os.WriteFile(filepath.Join(run, "corrupt"+FileSuffix), []byte(`{"schema": 1, "passed": "yes"}`), 0o644)
	os.WriteFile(filepath.Join(run, "truncated"+FileSuffix), []byte(`{"schema": 1, "te`), 0o644)
	os.WriteFile(filepath.Join(run, "other.json"), []byte(`garbage`), 0o644)

	rs, err := ReadDir(root, filepath.Join(root, "missing"))
	if len(rs) != 1 || rs[0].TestName != "TestGood" {
		t.Fatalf("results = %+v", rs)
	}
	var errs ReadErrors
	if !errors.As(err, &errs) || len(errs) != 5 {
		t.Fatalf("err = %v, want 5 file errors", err)
	}
	if !errors.Is(err, ErrNewerSchema) {
		t.Errorf("err does not match ErrNewerSchema: %v", err)
	}
	for _, want := range []string{"newer.ktstr.json: sidecar schema is newer than this ktstr reads: schema 2, this ktstr reads up to 1",
		"noschema.ktstr.json: not a ktstr sidecar: no schema field", "corrupt.ktstr.json: corrupt sidecar", "truncated.ktstr.json: not a ktstr sidecar", "missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := ReadFile(filepath.Join(run, "newer"+FileSuffix)); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("ReadFile newer: %v", err)
	}
	// The same directory twice reads once.
	rs, _ = ReadDir(run, run, root)
	if len(rs) != 1 {
		t.Errorf("duplicate directories: %d results", len(rs))
	}
}

func TestHostContext(t *testing.T) {
	root := t.TempDir()
	put := func(rel, content string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Test CPU @ 2.00GHz\n\nprocessor\t: 1\nmodel name\t: other\n")
	put("proc/meminfo", "MemTotal:       24567890 kB\nMemFree:        1 kB\n")
	put("proc/sys/kernel/ostype", "Linux\n")
	put("proc/sys/kernel/osrelease", "6.1.0-test\n")
	put("proc/sys/kernel/arch", "x86_64\n")
	put("proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet\n")
	put("proc/sys/kernel/sched_autogroup_enabled", "1\n")
	put("proc/sys/kernel/sched_rt_runtime_us", "950000\n")
	put("proc/sys/kernel/not_sched", "x\n")
	put("sys/devices/system/cpu/online", "0-3,6\n")
	put("sys/devices/system/node/has_cpu", "0-1\n")
	put("sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n")
	put("sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "performance\n")
	put("sys/kernel/debug/sched/base_slice_ns", "3000000\n")
	put("sys/kernel/debug/sched/debug", "Sched Debug Version: v0.11\nline two\n")
	put("sys/kernel/debug/sched/huge", strings.Repeat("x", 1000))
	put("sys/kernel/debug/sched/domains/cpu0/x", "1\n")
	put("sys/kernel/sched_ext/state", "enabled\n")
	put("sys/kernel/sched_ext/root/ops", "simple\n")

	h := HostContext(root)
	want := &Host{
		CPUModel: "Intel(R) Xeon(R) Test CPU @ 2.00GHz", CPUVendor: "GenuineIntel",
		OnlineCPUs: 5, NUMANodes: 2, MemoryKB: 24567890,
		KernelName: "Linux", KernelRelease: "6.1.0-test", Arch: "x86_64",
		Cmdline:    "BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet",
		THPEnabled: "always [madvise] never", CPUFreqGovernor: "performance",
		SchedTunables: map[string]string{
			"kernel.sched_autogroup_enabled": "1",
			"kernel.sched_rt_runtime_us":     "950000",
			"debug/sched/base_slice_ns":      "3000000",
			"sched_ext/state":                "enabled",
			"sched_ext/ops":                  "simple",
		},
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("HostContext =\n%+v\nwant\n%+v", h, want)
	}
	fs := h.Fields()
	if fs[0].Name != "cpu_model" || fs[len(fs)-1].Name != "sched_tunables.sched_ext/state" || len(fs) != 11+5 {
		t.Errorf("Fields = %v", fs)
	}
	// Nothing readable: empty, no failure.
	if h := HostContext(t.TempDir()); !reflect.DeepEqual(h, &Host{}) {
		t.Errorf("empty root: %+v", h)
	}
	// This machine: at least the kernel.
	if h := HostContext("/"); h.KernelRelease == "" || h.Arch == "" {
		t.Errorf("this host: %+v", h)
	}
}

func TestRunSource(t *testing.T) {
	for _, c := range []struct{ ktstrCI, ci, want string }{
		{"", "", SourceLocal},
		{"1", "", SourceCI},
		{"", "true", SourceCI},
		{"", "false", SourceLocal},
		{"0", "", SourceLocal},
	} {
		t.Setenv(EnvCI, c.ktstrCI)
		t.Setenv("CI", c.ci)
		if got := RunSource(); got != c.want {
			t.Errorf("KTSTR_CI=%q CI=%q: %s, want %s", c.ktstrCI, c.ci, got, c.want)
		}
	}
}

func TestRunIDs(t *testing.T) {
	a, b := NewRunID(), NewRunID()
	if a == b || !regexp.MustCompile(`^\d{8}T\d{6}Z-\d+-[0-9a-f]{8}$`).MatchString(a) {
		t.Errorf("NewRunID = %q, %q", a, b)
	}
	proc := t.TempDir()
	put := func(rel, content string) {
		p := filepath.Join(proc, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	put("sys/kernel/random/boot_id", "0a1b2c3d-4e5f-6789-abcd-ef0123456789\n")
	put("100/comm", "go\n")
	put("100/stat", "100 (go) S 1 100 100 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 12 0 987654 1000 100\n")
	put("200/comm", "bash\n")
	put("200/stat", "200 (bash) S 1 200 200 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 12 0 111 1000 100\n")
	if got := goParentRunID(proc, 100); got != "go-0a1b2c3d-100-987654" {
		t.Errorf("go parent: %q", got)
	}
	if got := goParentRunID(proc, 200); got != "" {
		t.Errorf("shell parent: %q", got)
	}
	if got := goParentRunID(proc, 300); got != "" {
		t.Errorf("missing parent: %q", got)
	}
}
