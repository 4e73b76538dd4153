package kernel

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/kernel/image/imagetest"
	"github.com/ktstr-go/ktstr/internal/kernel/srctree"
)

var (
	testELF = imagetest.ELF(imagetest.ELFOptions{PVH: true, BTF: true, Release: "6.99.0-test"})
	testBz  = imagetest.BzImage(imagetest.Zstd(testELF), "6.99.0-test (builder@host) #1 SMP")
)

func write(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// cacheWith stores entries for the given releases, fetched an hour apart in
// the order given (the last is the newest).
func cacheWith(t *testing.T, releases ...string) string {
	t.Helper()
	dir := t.TempDir()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, rel := range releases {
		at = at.Add(time.Hour)
		meta := Metadata{Version: rel, PackageVersion: "1", Source: "debian:trixie-backports", FetchedAt: at, SchedExt: true, BTF: true, PVH: true}
		err := Store(dir, "debian-"+rel, meta, func(d string, _ *Metadata) error {
			write(t, filepath.Join(d, ImageFile), testBz)
			write(t, filepath.Join(d, VmlinuxFile), testELF)
			write(t, filepath.Join(d, ConfigFile), []byte("CONFIG_SCHED_CLASS_EXT=y\n"))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestResolveCache(t *testing.T) {
	cache := cacheWith(t, "7.3.4+deb13-amd64", "7.30.1+deb13-amd64", "7.2.12+deb13-amd64")
	for _, tc := range []struct{ spec, wantKey string }{
		{"", "debian-7.2.12+deb13-amd64"}, // newest fetched, not highest version
		{"debian-7.3.4+deb13-amd64", "debian-7.3.4+deb13-amd64"},
		{"7.3", "debian-7.3.4+deb13-amd64"}, // not 7.30.1
		{"7.3.4", "debian-7.3.4+deb13-amd64"},
		{"7.30", "debian-7.30.1+deb13-amd64"},
		{"7", "debian-7.2.12+deb13-amd64"}, // newest match
		{"7.2.12+deb13-amd64", "debian-7.2.12+deb13-amd64"},
		{filepath.Join(cache, "debian-7.3.4+deb13-amd64"), "debian-7.3.4+deb13-amd64"}, // entry dir
	} {
		k, err := Resolve(tc.spec, cache)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tc.spec, err)
			continue
		}
		if k.Key != tc.wantKey {
			t.Errorf("Resolve(%q) = %s, want %s", tc.spec, k.Key, tc.wantKey)
		}
		dir := filepath.Join(cache, tc.wantKey)
		if k.Image != filepath.Join(dir, ImageFile) || k.Vmlinux != filepath.Join(dir, VmlinuxFile) ||
			k.Config != filepath.Join(dir, ConfigFile) || k.SchedExt != SupportYes || !k.HasBTF || !k.HasPVH ||
			k.Meta == nil || k.Source != "debian:trixie-backports" {
			t.Errorf("Resolve(%q) = %+v", tc.spec, k)
		}
		if k.BootImage() != k.Vmlinux {
			t.Errorf("BootImage = %s, want the PVH vmlinux", k.BootImage())
		}
	}
}

func TestResolveTree(t *testing.T) {
	tree := t.TempDir()
	write(t, filepath.Join(tree, "Makefile"), []byte("VERSION = 6\n"))
	write(t, filepath.Join(tree, "arch/x86/boot/bzImage"), testBz)
	write(t, filepath.Join(tree, "vmlinux"), testELF)
	write(t, filepath.Join(tree, ".config"), []byte("CONFIG_SCHED_CLASS_EXT=y\n"))
	write(t, filepath.Join(tree, "include/config/kernel.release"), []byte("6.99.0-test-dirty\n"))
	for _, spec := range []string{tree, filepath.Join(tree, "arch/x86/boot/bzImage")} {
		k, err := Resolve(spec, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		want := Kernel{
			Version: "6.99.0-test-dirty", Image: filepath.Join(tree, "arch/x86/boot/bzImage"),
			Vmlinux: filepath.Join(tree, "vmlinux"), Config: filepath.Join(tree, ".config"),
			SchedExt: SupportYes, HasBTF: true, HasPVH: true, Source: "local:" + tree,
		}
		if !reflect.DeepEqual(*k, want) {
			t.Errorf("Resolve(%s) =\n %+v\nwant\n %+v", spec, *k, want)
		}
	}

	// A tree without vmlinux or .config: sched_ext is unknown.
	bare := t.TempDir()
	write(t, filepath.Join(bare, "arch/x86/boot/bzImage"), testBz)
	k, err := Resolve(bare, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if k.Version != "6.99.0-test" || k.Vmlinux != "" || k.SchedExt != SupportUnknown || k.BootImage() != k.Image {
		t.Errorf("bare tree = %+v", k)
	}
}

func TestResolveFiles(t *testing.T) {
	dir := t.TempDir()
	boot := write(t, filepath.Join(dir, "boot", "vmlinuz-6.99.0-test"), testBz)
	write(t, filepath.Join(dir, "boot", "config-6.99.0-test"), []byte("# CONFIG_SCHED_CLASS_EXT is not set\n"))
	k, err := Resolve(boot, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if k.Image != boot || k.Vmlinux != "" || k.Version != "6.99.0-test" || k.SchedExt != SupportNo ||
		k.Config != filepath.Join(dir, "boot", "config-6.99.0-test") {
		t.Errorf("Resolve(bzImage) = %+v", k)
	}

	elf := write(t, filepath.Join(dir, "elf", "vmlinux"), testELF)
	k, err = Resolve(elf, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if k.Image != elf || k.Vmlinux != elf || !k.HasBTF || !k.HasPVH || k.Version != "6.99.0-test" ||
		k.SchedExt != SupportUnknown || k.Key != "" || k.Source != "local:"+elf {
		t.Errorf("Resolve(vmlinux) = %+v", k)
	}

	// A relative path resolves to an absolute one.
	t.Chdir(filepath.Join(dir, "elf"))
	if k, err := Resolve("vmlinux", t.TempDir()); err != nil || k.Image != elf {
		t.Errorf("Resolve(relative) = %+v, %v", k, err)
	}
}

func TestResolveErrors(t *testing.T) {
	cache := cacheWith(t, "7.3.4+deb13-amd64")
	junk := write(t, filepath.Join(t.TempDir(), "junk"), []byte("not a kernel at all, just some text that is long enough"))
	notTree := t.TempDir()
	for _, tc := range []struct {
		spec, cache string
		want        []string
	}{
		{"", t.TempDir(), []string{"none in the cache", fetchHint}},
		{"7.4", cache, []string{`no kernel matches "7.4"`, "as a path: no file or directory 7.4",
			"as a cache key: none of debian-7.3.4+deb13-amd64",
			`no cached version (7.3.4+deb13-amd64) starts with "7.4"`, fetchHint}},
		{"7.4", t.TempDir(), []string{"the cache", "is empty", fetchHint}},
		{junk, cache, []string{"neither an ELF vmlinux nor a bzImage", fetchHint}},
		{notTree, cache, []string{"no arch/x86/boot/bzImage", fetchHint}},
	} {
		_, err := Resolve(tc.spec, tc.cache)
		if err == nil {
			t.Errorf("Resolve(%q) succeeded", tc.spec)
			continue
		}
		for _, s := range tc.want {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("Resolve(%q) error\n%v\ndoes not mention %q", tc.spec, err, s)
			}
		}
		if !strings.HasSuffix(err.Error(), fetchHint) {
			t.Errorf("Resolve(%q) error does not end with the fetch hint: %v", tc.spec, err)
		}
	}
}

func TestResolveTreeBuilds(t *testing.T) {
	tree := t.TempDir()
	write(t, filepath.Join(tree, "Makefile"), []byte("VERSION = 7\nPATCHLEVEL = 3\nSUBLEVEL = 4\n"))
	write(t, filepath.Join(tree, "Kconfig"), []byte("mainmenu \"Linux\"\n"))
	write(t, filepath.Join(tree, "arch/x86/Kconfig"), []byte("config X86\n\tdef_bool y\n"))
	src, err := srctree.Open(tree)
	if err != nil {
		t.Fatal(err)
	}
	st, err := src.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	store := func(key, source, state string, at time.Time) {
		meta := Metadata{Version: "7.3.4", Source: source, SourceState: state, FetchedAt: at}
		if err := Store(cache, key, meta, writeImage(key)); err != nil {
			t.Fatal(err)
		}
	}
	built := buildSourcePrefix + src.Dir
	store("build-now", built, st.ID, at)
	store("build-older-state", built, "tree-000000000000", at.Add(time.Hour)) // newer, of another state
	store("debian-7.3.4", "debian:trixie-backports", "", at.Add(2*time.Hour))

	k, err := Resolve(tree, cache)
	if err != nil {
		t.Fatal(err)
	}
	if k.Key != "build-now" || len(k.Notes) != 1 || !strings.Contains(k.Notes[0], "as it is now") {
		t.Errorf("a tree without a bzImage of its own, built now: %s, notes %q; want build-now", k.Key, k.Notes)
	}

	write(t, filepath.Join(tree, "kernel/sched/ext.c"), []byte("int scx;\n"))
	k, err = Resolve(tree, cache)
	if err != nil {
		t.Fatal(err)
	}
	if k.Key != "build-older-state" || len(k.Notes) != 1 || !strings.Contains(k.Notes[0], "is stale") ||
		!strings.Contains(k.Notes[0], "ktstr kernel build --source "+src.Dir) {
		t.Errorf("a changed tree: %s, notes %q; want the newest build with a note that it is stale", k.Key, k.Notes)
	}

	write(t, filepath.Join(tree, "arch/x86/boot/bzImage"), testBz)
	k, err = Resolve(tree, cache)
	if err != nil {
		t.Fatal(err)
	}
	if k.Key != "" || k.Image != filepath.Join(tree, "arch/x86/boot/bzImage") || len(k.Notes) != 1 ||
		!strings.Contains(k.Notes[0], "is stale") || !strings.Contains(k.Notes[0], "boots the tree's own") {
		t.Errorf("a tree built in place: %+v; want its own bzImage, with a note that the cache's build is stale", k)
	}

	_, err = Resolve(tree, t.TempDir())
	if err != nil {
		t.Errorf("a tree built in place, no cache: %v", err)
	}
	os.Remove(filepath.Join(tree, "arch/x86/boot/bzImage"))
	if _, err := Resolve(tree, t.TempDir()); err == nil || !strings.Contains(err.Error(), "ktstr kernel build --source") {
		t.Errorf("a tree neither built nor in the cache: %v; want an error saying how to build it", err)
	}
}
