package kernel

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
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
	// Things List must skip: a temp dir, a dir without metadata, one with
	// bad JSON, one whose key does not match, one without an image, a file.
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
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	if want := []string{"c-new", "b-middle", "a-old"}; !slices.Equal(keys, want) {
		t.Fatalf("List keys = %v, want %v", keys, want)
	}
	e := entries[0]
	if e.SHA256 != "sum-of-c-new" || e.Dir != filepath.Join(dir, "c-new") || !e.FetchedAt.Equal(base.Add(2*time.Hour)) {
		t.Errorf("entry = %+v; populate's metadata changes or the dir were lost", e)
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
