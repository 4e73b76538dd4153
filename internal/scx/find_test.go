package scx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/cachedir"
)

const rel = "7.3.4+deb13-amd64"

// putBuild writes a build directory with the named binaries.
func putBuild(t *testing.T, schedDir, release string, at time.Time, bins ...string) string {
	t.Helper()
	dir := filepath.Join(schedDir, release)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range bins {
		if err := os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files, err := cachedir.Record(dir)
	if err != nil {
		t.Fatal(err)
	}
	meta := &Metadata{KernelRelease: release, SourcePackage: "linux-source-7.3", SourceVersion: "7.3.4-1~bpo13+1", BuiltAt: at, Binaries: bins, Clang: "clang 22", Static: true, Files: files}
	if err := writeMetadata(dir, meta); err != nil {
		t.Fatal(err)
	}
	return dir
}

func putExe(t *testing.T, dir, name string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// findEnv isolates Find from the host: an empty PATH dir, a private cache.
func findEnv(t *testing.T) (schedDir, pathDir string) {
	t.Helper()
	root := t.TempDir()
	schedDir, pathDir = filepath.Join(root, "sched"), filepath.Join(root, "bin")
	os.MkdirAll(pathDir, 0o755)
	t.Setenv(SchedDirEnv, schedDir)
	t.Setenv(SchedulerEnv, "")
	t.Setenv("PATH", pathDir)
	return schedDir, pathDir
}

func TestFindOrder(t *testing.T) {
	schedDir, pathDir := findEnv(t)
	envDir := filepath.Join(t.TempDir(), "mine")
	now := time.Now()

	onPath := putExe(t, pathDir, "scx_simple")
	got, err := Find("scx_simple", rel)
	if err != nil || got != onPath {
		t.Fatalf("only on $PATH: %q, %v", got, err)
	}

	cached := filepath.Join(putBuild(t, schedDir, rel, now, "scx_qmap", "scx_simple"), "scx_simple")
	if got, err := Find("scx_simple", rel); err != nil || got != cached {
		t.Fatalf("cache before $PATH: got %q, %v; want %q", got, err, cached)
	}

	t.Setenv(SchedulerEnv, envDir)
	mine := putExe(t, envDir, "scx_simple")
	if got, err := Find("scx_simple", rel); err != nil || got != mine {
		t.Fatalf("$%s first: got %q, %v; want %q", SchedulerEnv, got, err, mine)
	}
	// Not in the env dir: fall through to the cache.
	if got, err := Find("scx_qmap", rel); err != nil || got != filepath.Join(schedDir, rel, "scx_qmap") {
		t.Fatalf("fall through to the cache: %q, %v", got, err)
	}
	// $KTSTR_SCHEDULER may name the binary itself.
	t.Setenv(SchedulerEnv, mine)
	if got, err := Find("scx_simple", rel); err != nil || got != mine {
		t.Fatalf("$%s as a file: %q, %v", SchedulerEnv, got, err)
	}
	// A path is taken as is.
	if got, err := Find(mine, "whatever"); err != nil || got != mine {
		t.Fatalf("a path: %q, %v", got, err)
	}
}

func TestFindNewestWhenReleaseEmpty(t *testing.T) {
	schedDir, _ := findEnv(t)
	now := time.Now()
	putBuild(t, schedDir, "7.2.9+deb13-amd64", now.Add(-2*time.Hour), "scx_simple", "scx_old")
	putBuild(t, schedDir, rel, now.Add(-time.Hour), "scx_simple")
	// A broken newer entry is listed as damaged and passed over.
	os.MkdirAll(filepath.Join(schedDir, "7.4.0+deb13-amd64"), 0o755)
	os.WriteFile(filepath.Join(schedDir, "7.4.0+deb13-amd64", MetadataFile), []byte("{"), 0o644)
	// A temporary directory is skipped.
	putBuild(t, schedDir, ".tmp-7.9.9-123", now, "scx_simple")

	if got, err := Find("scx_simple", ""); err != nil || got != filepath.Join(schedDir, rel, "scx_simple") {
		t.Errorf("newest build: %q, %v", got, err)
	}
	// Only an older build has it.
	if got, err := Find("scx_old", ""); err != nil || got != filepath.Join(schedDir, "7.2.9+deb13-amd64", "scx_old") {
		t.Errorf("older build: %q, %v", got, err)
	}
	builds, err := List(schedDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(builds) != 3 || builds[0].KernelRelease != rel || builds[1].KernelRelease != "7.2.9+deb13-amd64" ||
		builds[2].KernelRelease != "7.4.0+deb13-amd64" || builds[2].Damage == nil {
		t.Errorf("List = %+v", builds)
	}
	if _, err := Find("scx_none", ""); err == nil || !strings.Contains(err.Error(), "7.4.0+deb13-amd64 is damaged") {
		t.Errorf("Find of a missing scheduler does not mention the damaged build: %v", err)
	}
}

func TestFindErrorText(t *testing.T) {
	schedDir, _ := findEnv(t)
	envDir := filepath.Join(t.TempDir(), "none")
	t.Setenv(SchedulerEnv, envDir)
	_, err := Find("scx_simple", rel)
	if err == nil {
		t.Fatal("found a scheduler that is nowhere")
	}
	msg := err.Error()
	for _, want := range []string{
		"scheduler scx_simple not found",
		"$" + SchedulerEnv + "=" + envDir + ": no such directory",
		filepath.Join(schedDir, rel) + ": nothing built for kernel " + rel,
		"$PATH: not found",
		"ktstr sched build",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	// The order of the list is the search order.
	if strings.Index(msg, SchedulerEnv) > strings.Index(msg, schedDir) || strings.Index(msg, schedDir) > strings.Index(msg, "$PATH") {
		t.Errorf("error lists places out of order: %q", msg)
	}

	// A build without that binary says what it has.
	putBuild(t, schedDir, rel, time.Now(), "scx_qmap")
	_, err = Find("scx_simple", rel)
	if err == nil || !strings.Contains(err.Error(), "has no scx_simple (it has scx_qmap)") {
		t.Errorf("err = %v", err)
	}
	// Release empty and nothing built.
	os.RemoveAll(schedDir)
	_, err = Find("scx_simple", "")
	if err == nil || !strings.Contains(err.Error(), schedDir+": no builds") {
		t.Errorf("err = %v", err)
	}
	if _, err := Find("", rel); err == nil {
		t.Error("empty name accepted")
	}
}

func TestSchedDirDefault(t *testing.T) {
	t.Setenv(SchedDirEnv, "")
	t.Setenv("KTSTR_CACHE_DIR", "/somewhere/ktstr/kernels")
	if d, err := SchedDir(); err != nil || d != "/somewhere/ktstr/schedulers" {
		t.Errorf("SchedDir = %q, %v", d, err)
	}
	t.Setenv(SchedDirEnv, "/x/y")
	if d, _ := SchedDir(); d != "/x/y" {
		t.Errorf("SchedDir with $%s = %q", SchedDirEnv, d)
	}
}

func TestReadBuiltChecks(t *testing.T) {
	schedDir := t.TempDir()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	dir := putBuild(t, schedDir, rel, at, "scx_qmap", "scx_simple")
	b, err := ReadBuilt(schedDir, rel)
	if err != nil {
		t.Fatal(err)
	}
	if b.Dir != dir || !b.BuiltAt.Equal(at) || strings.Join(b.Binaries, ",") != "scx_qmap,scx_simple" || !b.Static || b.SourceVersion != "7.3.4-1~bpo13+1" {
		t.Errorf("round trip: %+v", b)
	}
	if !b.Has("scx_qmap") || b.Has("scx_pair") {
		t.Error("Has is wrong")
	}
	data, _ := os.ReadFile(filepath.Join(dir, MetadataFile))
	for _, key := range []string{`"kernel_release"`, `"source_version"`, `"built_at"`, `"binaries"`, `"clang"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("metadata.json lacks %s:\n%s", key, data)
		}
	}

	os.Remove(filepath.Join(dir, "scx_qmap"))
	if _, err := ReadBuilt(schedDir, rel); !cachedir.IsDamaged(err) || !strings.Contains(err.Error(), "scx_qmap: missing") ||
		!strings.Contains(err.Error(), "ktstr sched build --force") {
		t.Errorf("missing binary: %v", err)
	}
	putBuild(t, schedDir, "other", at, "scx_simple")
	os.Rename(filepath.Join(schedDir, "other"), filepath.Join(schedDir, "renamed"))
	if _, err := ReadBuilt(schedDir, "renamed"); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("mismatched name: %v", err)
	}
	for _, bad := range []string{"", "..", "a/b", ".hidden"} {
		if _, err := ReadBuilt(schedDir, bad); err == nil {
			t.Errorf("release %q accepted", bad)
		}
	}
}

// TestStoreReplaces: a build stored for a release replaces the one there,
// with its checksums recorded, and leaves nothing else behind.
func TestStoreReplaces(t *testing.T) {
	schedDir := t.TempDir()
	putBuild(t, schedDir, rel, time.Now().Add(-time.Hour), "scx_old")
	b, err := Store(schedDir, Metadata{KernelRelease: rel, Binaries: []string{"scx_new"}}, func(dir string) error {
		putExe(t, dir, "scx_new")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Has("scx_new") || b.Has("scx_old") || b.BuiltAt.IsZero() || len(b.Files) != 1 {
		t.Fatalf("Store = %+v", b)
	}
	if err := Verify(schedDir, rel); err != nil {
		t.Errorf("Verify after Store: %v", err)
	}
	ents, _ := os.ReadDir(schedDir)
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("left behind: %v", names)
	}
	// A name that is no directory is refused before anything is written.
	if _, err := Store(schedDir, Metadata{KernelRelease: "../x"}, func(string) error {
		t.Error("populate called for a bad name")
		return nil
	}); err == nil {
		t.Error("Store accepted the release \"../x\"")
	}
}

// TestDamagedBuild: a truncated binary is refused on use, with the repair,
// not replaced by one found on $PATH; a binary changed with its size and
// time kept is caught by Verify.
func TestDamagedBuild(t *testing.T) {
	schedDir, _ := findEnv(t)
	dir := putBuild(t, schedDir, rel, time.Now(), "scx_simple", "scx_qmap")
	if err := Verify(schedDir, rel); err != nil {
		t.Fatalf("Verify of an intact build: %v", err)
	}
	pathDir := t.TempDir()
	putExe(t, pathDir, "scx_simple")
	t.Setenv("PATH", pathDir)

	p := filepath.Join(dir, "scx_qmap")
	fi, _ := os.Stat(p)
	os.WriteFile(p, []byte("#!/bin/sh\n"[:5]+"xxxxx"), 0o755) // same size, other content
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	if got, err := Find("scx_simple", rel); err != nil || got != filepath.Join(dir, "scx_simple") {
		t.Errorf("Find with a change the quick check cannot see = %q, %v", got, err)
	}
	if err := Verify(schedDir, rel); !cachedir.IsDamaged(err) || !strings.Contains(err.Error(), "scx_qmap: content changed") {
		t.Errorf("Verify = %v", err)
	}

	os.Truncate(p, 3)
	_, err := Find("scx_simple", rel)
	if !cachedir.IsDamaged(err) {
		t.Fatalf("Find in a damaged build = %v, want the damage (not the binary on $PATH)", err)
	}
	for _, want := range []string{"scheduler scx_simple: the build for kernel " + rel + " in " + dir + " is damaged", "scx_qmap: 3 bytes", "ktstr sched build --force"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if err := Verify(schedDir, "7.0"); err == nil || !strings.Contains(err.Error(), "no build for kernel 7.0") {
		t.Errorf("Verify of no build = %v", err)
	}
}

func TestFindHintNamesKernel(t *testing.T) {
	t.Setenv(SchedDirEnv, t.TempDir())
	t.Setenv(SchedulerEnv, "")
	t.Setenv("PATH", t.TempDir())
	_, err := Find("scx_simple", "build-6.12.118-x")
	if err == nil || !strings.Contains(err.Error(), "`ktstr sched build --kernel build-6.12.118-x`") {
		t.Errorf("err = %v", err)
	}
}
