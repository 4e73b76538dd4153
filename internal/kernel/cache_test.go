package kernel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/cachedir"
)

// writeImage is a populate func writing a fake image and config.
func writeImage(content string) func(string, *Metadata) error {
	return func(dir string, m *Metadata) error {
		m.SHA256 = "sum-of-" + content
		if err := os.WriteFile(filepath.Join(dir, ImageFile), []byte(content), 0o644); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, ConfigFile), []byte("CONFIG_SCHED_CLASS_EXT=y\n"), 0o644)
	}
}

// dirNames lists a directory, hidden entries included.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestCacheDir(t *testing.T) {
	t.Setenv("KTSTR_CACHE_DIR", "/x/kc")
	t.Setenv("XDG_CACHE_HOME", "/x/xdg")
	t.Setenv("HOME", "/x/home")
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{nil, "/x/kc"},
		{map[string]string{"KTSTR_CACHE_DIR": ""}, "/x/xdg/ktstr/kernels"},
		{map[string]string{"KTSTR_CACHE_DIR": "", "XDG_CACHE_HOME": ""}, "/x/home/.cache/ktstr/kernels"},
		{map[string]string{"KTSTR_CACHE_DIR": "", "XDG_CACHE_HOME": "relative"}, "/x/home/.cache/ktstr/kernels"},
	} {
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		if got, err := CacheDir(); err != nil || got != tc.want {
			t.Errorf("CacheDir() with %v = %q, %v; want %q", tc.env, got, err, tc.want)
		}
	}
}

func TestStoreAndList(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i, key := range []string{"b-middle", "a-old", "c-new"} {
		at := map[string]time.Time{"a-old": base, "b-middle": base.Add(time.Hour), "c-new": base.Add(2 * time.Hour)}[key]
		if err := Store(dir, key, Metadata{Version: key, FetchedAt: at, PackageVersion: "1"}, writeImage(key)); err != nil {
			t.Fatalf("Store #%d: %v", i, err)
		}
	}
	// Listed as damaged: a dir without metadata, one with bad JSON, one
	// whose key does not match, one without an image. Skipped: a temp dir,
	// a file.
	os.MkdirAll(filepath.Join(dir, ".tmp-x-123"), 0o755)
	os.MkdirAll(filepath.Join(dir, "no-metadata"), 0o755)
	os.MkdirAll(filepath.Join(dir, "bad-json"), 0o755)
	os.WriteFile(filepath.Join(dir, "bad-json", MetadataFile), []byte("{"), 0o644)
	os.WriteFile(filepath.Join(dir, "bad-json", ImageFile), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(dir, "wrong-key"), 0o755)
	os.WriteFile(filepath.Join(dir, "wrong-key", MetadataFile), []byte(`{"key":"other"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "wrong-key", ImageFile), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(dir, "no-image"), 0o755)
	os.WriteFile(filepath.Join(dir, "no-image", MetadataFile), []byte(`{"key":"no-image"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "stray-file"), nil, 0o644)

	entries, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	damaged := map[string]string{}
	var intact []Entry
	for _, e := range entries {
		if e.Damage != nil {
			damaged[e.Key] = e.Damage.Error()
			continue
		}
		keys = append(keys, e.Key)
		intact = append(intact, e)
	}
	if want := []string{"c-new", "b-middle", "a-old"}; !slices.Equal(keys, want) {
		t.Fatalf("List keys = %v, want %v", keys, want)
	}
	for key, want := range map[string]string{
		"no-metadata": "metadata.json: missing",
		"bad-json":    "unexpected end of JSON input",
		"wrong-key":   `key "other" does not match the directory name`,
		"no-image":    "vmlinuz: missing",
	} {
		if !strings.Contains(damaged[key], want) {
			t.Errorf("entry %s: damage %q, want it to mention %q", key, damaged[key], want)
		}
	}
	if len(damaged) != 4 {
		t.Errorf("damaged entries %v, want 4", damaged)
	}
	entries = intact
	e := entries[0]
	if e.SHA256 != "sum-of-c-new" || e.Dir != filepath.Join(dir, "c-new") || !e.FetchedAt.Equal(base.Add(2*time.Hour)) {
		t.Errorf("entry = %+v; populate's metadata changes or the dir were lost", e)
	}
	if f, ok := e.Files[ImageFile]; !ok || f.Size != int64(len("c-new")) || len(e.Files) != 2 {
		t.Errorf("entry files = %v, want vmlinuz and config recorded", e.Files)
	}
	if fi, _ := os.Stat(e.Dir); fi.Mode().Perm() != 0o755 {
		t.Errorf("entry dir mode %v, want 0755", fi.Mode().Perm())
	}
	if got, err := List(filepath.Join(dir, "missing")); err != nil || got != nil {
		t.Errorf("List(missing) = %v, %v; want an empty cache", got, err)
	}
}

func TestStoreRace(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = Store(dir, "debian-7.3.4+deb13-amd64", Metadata{PackageVersion: "7.3.4-1~bpo13+1"}, func(d string, m *Metadata) error {
				time.Sleep(10 * time.Millisecond) // make the writers overlap
				return writeImage("same kernel")(d, m)
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Store #%d: %v", i, err)
		}
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"debian-7.3.4+deb13-amd64"}) {
		t.Fatalf("cache holds %v, want the one entry and no temp dirs", names)
	}
	if got := dirNames(t, filepath.Join(dir, "debian-7.3.4+deb13-amd64")); !slices.Equal(got, []string{ConfigFile, MetadataFile, ImageFile}) {
		t.Errorf("entry holds %v", got)
	}
}

func TestStoreReplacesOtherPackageVersion(t *testing.T) {
	dir := t.TempDir()
	if err := Store(dir, "k", Metadata{PackageVersion: "1"}, writeImage("old")); err != nil {
		t.Fatal(err)
	}
	if err := Store(dir, "k", Metadata{PackageVersion: "2"}, writeImage("new")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "k", ImageFile))
	if string(got) != "new" {
		t.Errorf("image = %q after storing a new package version, want %q", got, "new")
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"k"}) {
		t.Errorf("cache holds %v", names)
	}
}

func TestStoreErrorsLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	boom := errors.New("download failed")
	err := Store(dir, "k", Metadata{}, func(d string, _ *Metadata) error {
		os.WriteFile(filepath.Join(d, ImageFile), []byte("partial"), 0o644)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Store error = %v, want populate's", err)
	}
	err = Store(dir, "k", Metadata{}, func(string, *Metadata) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "no vmlinuz") {
		t.Fatalf("Store without an image: %v", err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("cache holds %v after failed stores", names)
	}
	for _, bad := range []string{"", ".", "..", ".hidden", "a/b", "../x"} {
		if err := Store(dir, bad, Metadata{}, writeImage("x")); err == nil {
			t.Errorf("Store accepted key %q", bad)
		}
	}
}

func TestStoreSweepsStaleTempDirs(t *testing.T) {
	dir := t.TempDir()
	stale, fresh := filepath.Join(dir, ".tmp-k-1"), filepath.Join(dir, ".tmp-k-2")
	os.MkdirAll(stale, 0o700)
	os.MkdirAll(fresh, 0o700)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)
	if err := Store(dir, "k", Metadata{}, writeImage("x")); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{".tmp-k-2", "k"}) {
		t.Errorf("cache holds %v, want the fresh temp dir (maybe in use) kept and the stale one gone", names)
	}
}

// damagedCache stores one kernel and returns the cache and the entry's
// directory.
func damagedCache(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	if err := Store(dir, "debian-7.3.4", Metadata{Version: "7.3.4", Source: "debian:trixie-backports", PackageVersion: "1", FetchedAt: time.Now()},
		writeImage(strings.Repeat("bzImage", 100))); err != nil {
		t.Fatal(err)
	}
	return dir, filepath.Join(dir, "debian-7.3.4")
}

// TestDamagedEntryIsReported: a truncated image is seen on use, by List and
// Resolve, with what is wrong and how to repair it; the entry is not
// passed over for another.
func TestDamagedEntryIsReported(t *testing.T) {
	dir, entry := damagedCache(t)
	if err := Store(dir, "older", Metadata{Version: "7.2", FetchedAt: time.Now().Add(-time.Hour)}, writeImage("old")); err != nil {
		t.Fatal(err)
	}
	os.Truncate(filepath.Join(entry, ImageFile), 10)

	entries, err := List(dir)
	if err != nil || len(entries) != 2 || entries[0].Key != "debian-7.3.4" || entries[0].Damage == nil {
		t.Fatalf("List = %+v, %v; want the damaged entry first, still listed", entries, err)
	}
	for _, spec := range []string{"", "debian-7.3.4", "7.3", entry} {
		_, err := Resolve(spec, dir)
		var de *DamagedError
		if !errors.As(err, &de) {
			t.Fatalf("Resolve(%q) = %v, want a *DamagedError", spec, err)
		}
		for _, want := range []string{"kernel cache entry debian-7.3.4 is damaged", "vmlinuz: 10 bytes, 700 when stored", "ktstr kernel verify --repair debian-7.3.4`"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Resolve(%q): %q lacks %q", spec, err, want)
			}
		}
	}
	if k, err := Resolve("older", dir); err != nil || k.Key != "older" {
		t.Errorf("Resolve(older) = %v, %v; an intact entry stays usable", k, err)
	}
}

// TestDamagedMetadataIsReported: an entry whose metadata.json is cut short
// is listed as damaged under its key, not left out.
func TestDamagedMetadataIsReported(t *testing.T) {
	dir, entry := damagedCache(t)
	meta := filepath.Join(entry, MetadataFile)
	b, _ := os.ReadFile(meta)
	os.WriteFile(meta, b[:len(b)/2], 0o644)
	entries, err := List(dir)
	if err != nil || len(entries) != 1 || entries[0].Key != "debian-7.3.4" || entries[0].Damage == nil || !entries[0].FromArchive() {
		t.Fatalf("List = %+v, %v", entries, err)
	}
	_, err = Resolve("", dir)
	if err == nil || !strings.Contains(err.Error(), "metadata.json") || !strings.Contains(err.Error(), "ktstr kernel verify --repair debian-7.3.4") {
		t.Errorf("Resolve = %v", err)
	}
	if err := Verify(dir, "debian-7.3.4"); !cachedir.IsDamaged(err) {
		t.Errorf("Verify = %v, want damage", err)
	}
}

// TestVerifyHashes: content changed with size and time kept passes the
// quick check on use and fails Verify.
func TestVerifyHashes(t *testing.T) {
	dir, entry := damagedCache(t)
	p := filepath.Join(entry, ImageFile)
	fi, _ := os.Stat(p)
	b, _ := os.ReadFile(p)
	b[0] ^= 1
	os.WriteFile(p, b, 0o644)
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	if _, err := Resolve("", dir); err != nil {
		t.Fatalf("Resolve = %v; the quick check trusts size and time", err)
	}
	err := Verify(dir, "debian-7.3.4")
	if !cachedir.IsDamaged(err) || !strings.Contains(err.Error(), "vmlinuz: content changed") {
		t.Errorf("Verify = %v", err)
	}
	if err := Verify(dir, "missing"); err == nil || !strings.Contains(err.Error(), "no cache entry missing") {
		t.Errorf("Verify(missing) = %v", err)
	}
}

// TestUncheckedEntry: an entry stored before checksums were recorded is
// used as before, marked unchecked, and Verify says how to add them.
func TestUncheckedEntry(t *testing.T) {
	dir := t.TempDir()
	entry := filepath.Join(dir, "old")
	os.MkdirAll(entry, 0o755)
	os.WriteFile(filepath.Join(entry, ImageFile), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(entry, MetadataFile), []byte(`{"key":"old","version":"7.1"}`), 0o644)
	entries, _ := List(dir)
	if len(entries) != 1 || !entries[0].Unchecked() {
		t.Fatalf("List = %+v, want one unchecked entry", entries)
	}
	if _, err := Resolve("old", dir); err != nil {
		t.Errorf("Resolve = %v", err)
	}
	err := Verify(dir, "old")
	if !errors.Is(err, ErrUnchecked) || !strings.Contains(err.Error(), "remove "+entry+" and store the kernel again") {
		t.Errorf("Verify = %v", err)
	}
	// One from the Debian archive is fetched again, not re-fetched as the
	// newest kernel (which `kernel fetch --force` would do).
	os.WriteFile(filepath.Join(entry, MetadataFile), []byte(`{"key":"old","version":"7.1","source":"debian:trixie-backports"}`), 0o644)
	if err := Verify(dir, "old"); !strings.Contains(fmt.Sprint(err), "run `ktstr kernel verify --repair old`") {
		t.Errorf("Verify of an archive entry = %v", err)
	}
}
