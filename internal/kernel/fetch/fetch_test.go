package fetch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/kernel/debian/archivetest"
	"github.com/ktstr-go/ktstr/internal/kernel/image/imagetest"
)

const (
	fxRel, fxVer       = "7.3.4+deb13-amd64", "7.3.4-1~bpo13+1"
	fxNewRel, fxNewVer = "7.4.1+deb13-amd64", "7.4.1-1~bpo13+1"
)

// archive serves two kernels; the newer lacks sched_ext.
func archive(t *testing.T, o archivetest.Options) (*archivetest.Server, []byte, []byte) {
	t.Helper()
	elf := imagetest.ELF(imagetest.ELFOptions{PVH: true, BTF: true, Release: fxRel})
	bz := imagetest.BzImage(imagetest.Zstd(elf), fxRel+" (test@example) #1 SMP")
	o.Kernels = []archivetest.Kernel{
		{Release: fxRel, Version: fxVer, Vmlinuz: bz, Config: []byte("CONFIG_SCHED_CLASS_EXT=y\n")},
		{Release: fxNewRel, Version: fxNewVer, Vmlinuz: bz, Config: []byte("CONFIG_HZ=250\n")},
	}
	return archivetest.New(t, o), bz, elf
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestFetch(t *testing.T) {
	srv, bz, elf := archive(t, archivetest.Options{})
	cache := t.TempDir()
	var log bytes.Buffer
	opts := Options{CacheDir: cache, Mirror: srv.URL, Keyrings: []string{}, Log: &log}
	k, err := Kernel(testCtx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "debian-"+fxRel)
	if k.Key != "debian-"+fxRel || k.Version != fxRel || k.Image != filepath.Join(dir, kernel.ImageFile) ||
		k.Vmlinux != filepath.Join(dir, kernel.VmlinuxFile) || k.Config != filepath.Join(dir, kernel.ConfigFile) ||
		k.SchedExt != kernel.SupportYes || !k.HasBTF || !k.HasPVH || k.Source != "debian:trixie-backports" {
		t.Errorf("Kernel = %+v", k)
	}
	m := k.Meta
	if m.PackageVersion != fxVer || m.SHA256 != archivetest.Sum(bz) || m.ArchiveVerified || m.FetchedAt.IsZero() || m.Mirror != srv.URL {
		t.Errorf("metadata = %+v", m)
	}
	if got, _ := os.ReadFile(k.Vmlinux); !bytes.Equal(got, elf) {
		t.Error("cached vmlinux is not the ELF from the bzImage")
	}
	if got, _ := os.ReadFile(k.Image); !bytes.Equal(got, bz) {
		t.Error("cached vmlinuz is not the bzImage")
	}
	for _, s := range []string{"not verified", "passed over " + fxNewRel, "fetching " + fxRel} {
		if !strings.Contains(log.String(), s) {
			t.Errorf("log %q lacks %q", log.String(), s)
		}
	}

	// Again: the cached kernel is returned, the big package not fetched.
	binPath := srv.Path("linux-binary-" + fxRel)
	log.Reset()
	k2, err := Kernel(testCtx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	if k2.Key != k.Key || !k2.Meta.FetchedAt.Equal(k.Meta.FetchedAt) {
		t.Errorf("second Kernel = %+v, want the cached entry", k2)
	}
	if n := srv.Hits(binPath); n != 1 {
		t.Errorf("linux-binary downloaded %d times, want once", n)
	}
	if !strings.Contains(log.String(), "cached already") {
		t.Errorf("log %q does not say the kernel was cached", log.String())
	}
	if names := dirNames(t, cache); len(names) != 1 {
		t.Errorf("cache holds %v", names)
	}
	// Resolve finds it too.
	if r, err := kernel.Resolve("", cache); err != nil || r.Key != k.Key {
		t.Errorf("Resolve after Kernel = %+v, %v", r, err)
	}
}

func TestFetchSigned(t *testing.T) {
	key, keyring := archivetest.NewKey(t, "Test Archive")
	srv, _, _ := archive(t, archivetest.Options{Signer: key})
	k, err := Kernel(testCtx(t), Options{CacheDir: t.TempDir(), Mirror: srv.URL, Keyrings: []string{keyring}})
	if err != nil {
		t.Fatal(err)
	}
	if !k.Meta.ArchiveVerified {
		t.Error("archive_verified = false with a valid signature")
	}
}

func TestFetchFailureLeavesCacheClean(t *testing.T) {
	srv, _, _ := archive(t, archivetest.Options{})
	p := srv.Path("linux-binary-" + fxRel)
	b := bytes.Clone(srv.Get(p))
	b[len(b)-1] ^= 1
	srv.Set(p, b)
	cache := t.TempDir()
	_, err := Kernel(testCtx(t), Options{CacheDir: cache, Mirror: srv.URL, Keyrings: []string{}})
	if err == nil || !strings.Contains(err.Error(), "SHA256 mismatch") {
		t.Fatalf("Kernel error = %v, want a checksum mismatch", err)
	}
	if names := dirNames(t, cache); len(names) != 0 {
		t.Errorf("cache holds %v after a failed fetch", names)
	}
}

func TestFetchMirrorFromAptSources(t *testing.T) {
	srv, _, _ := archive(t, archivetest.Options{})
	apt := t.TempDir()
	host := strings.TrimSuffix(srv.URL, "/debian")
	write(t, filepath.Join(apt, "sources.list.d", "debian.sources"), []byte(
		"Types: deb\nURIs: "+host+"/debian-security\nSuites: trixie-security\nComponents: main\n\n"+
			"Types: deb\nURIs: "+host+"/elsewhere\nSuites: bookworm\nComponents: main\n\n"+
			"Types: deb\nURIs: "+srv.URL+"\nSuites: bookworm\nComponents: main\n"))
	t.Setenv(MirrorEnv, "")
	var log bytes.Buffer
	k, err := Kernel(testCtx(t), Options{CacheDir: t.TempDir(), AptDir: apt, Keyrings: []string{}, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if k.Meta.Mirror != srv.URL {
		t.Errorf("mirror = %s, want %s", k.Meta.Mirror, srv.URL)
	}
	// Requests outside the archive are counted by their full path.
	if srv.Hits("/debian-security/dists/trixie-backports/InRelease") != 0 {
		t.Error("the security archive was probed")
	}
	if srv.Hits("/elsewhere/dists/trixie-backports/InRelease") != 1 {
		t.Error("the first non-security source was not probed")
	}

	// The environment overrides the apt sources.
	t.Setenv(MirrorEnv, srv.URL)
	if _, err := Kernel(testCtx(t), Options{CacheDir: t.TempDir(), AptDir: t.TempDir(), Keyrings: []string{}}); err != nil {
		t.Errorf("Kernel with %s: %v", MirrorEnv, err)
	}
}

func TestFetchNoMirror(t *testing.T) {
	srv, _, _ := archive(t, archivetest.Options{})
	t.Setenv(MirrorEnv, "")
	apt := t.TempDir()
	write(t, filepath.Join(apt, "sources.list"), []byte("deb "+strings.TrimSuffix(srv.URL, "/debian")+"/other bookworm main\n"))
	_, err := Kernel(testCtx(t), Options{CacheDir: t.TempDir(), AptDir: apt, Keyrings: []string{}})
	if err == nil || !strings.Contains(err.Error(), "no apt source serves suite trixie-backports") ||
		!strings.Contains(err.Error(), "--mirror") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("error = %v", err)
	}
}

// TestRepair: a fetched kernel whose vmlinux was cut short is refused on
// use, and Repair fetches the same release again from the same archive;
// Force re-downloads an intact one.
func TestRepair(t *testing.T) {
	srv, _, elf := archive(t, archivetest.Options{})
	cache := t.TempDir()
	k, err := Kernel(testCtx(t), Options{CacheDir: cache, Mirror: srv.URL, Keyrings: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := kernel.Verify(cache, k.Key); err != nil {
		t.Fatalf("Verify of a fresh fetch: %v", err)
	}
	os.Truncate(k.Vmlinux, 1000)
	_, err = kernel.Resolve("", cache)
	var de *kernel.DamagedError
	if !errors.As(err, &de) {
		t.Fatalf("Resolve = %v, want a *kernel.DamagedError", err)
	}
	if !strings.Contains(err.Error(), "vmlinux: 1000 bytes") {
		t.Errorf("error %q does not say what is wrong", err)
	}
	binPath := srv.Path("linux-binary-" + fxRel)
	r, err := Repair(testCtx(t), de.Entry, Options{Keyrings: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(r.Vmlinux); !bytes.Equal(got, elf) || r.Key != k.Key {
		t.Errorf("Repair = %+v; vmlinux not restored", r)
	}
	if n := srv.Hits(binPath); n != 2 {
		t.Errorf("linux-binary downloaded %d times, want twice", n)
	}
	if err := kernel.Verify(cache, k.Key); err != nil {
		t.Errorf("Verify after Repair: %v", err)
	}
	if _, err := Kernel(testCtx(t), Options{CacheDir: cache, Mirror: srv.URL, Keyrings: []string{}, Force: true}); err != nil {
		t.Fatal(err)
	}
	if n := srv.Hits(binPath); n != 3 {
		t.Errorf("linux-binary downloaded %d times after --force, want 3", n)
	}
	if names := dirNames(t, cache); len(names) != 1 {
		t.Errorf("cache holds %v", names)
	}
	if _, err := Repair(testCtx(t), kernel.Entry{Dir: "/x/local", Metadata: kernel.Metadata{Key: "local", Source: "local:/src"}}, Options{}); err == nil || !strings.Contains(err.Error(), "did not come from the Debian archive") {
		t.Errorf("Repair of a local kernel = %v", err)
	}
}

// write writes data to path, making its directory.
func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
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

// TestResolveOrRepair: a damaged kernel from the archive is fetched again,
// saying so; one built locally is reported with its hint, not fetched.
func TestResolveOrRepair(t *testing.T) {
	srv, _, elf := archive(t, archivetest.Options{})
	cache := t.TempDir()
	k, err := Kernel(testCtx(t), Options{CacheDir: cache, Mirror: srv.URL, Keyrings: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	os.Truncate(k.Vmlinux, 1000)
	var log bytes.Buffer
	r, err := ResolveOrRepair(testCtx(t), "", cache, Options{Keyrings: []string{}, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(r.Vmlinux); !bytes.Equal(got, elf) || r.Key != k.Key {
		t.Errorf("ResolveOrRepair = %+v; vmlinux not restored", r)
	}
	if !strings.Contains(log.String(), "fetching "+k.Key+" again") {
		t.Errorf("log %q does not say the kernel is fetched again", log.String())
	}

	// Marked as built from a tree: reported, not fetched.
	e, _ := r.Entry()
	e.Source = "build:/src/linux"
	if err := kernel.Store(cache, "build-local", e.Metadata, func(dir string, _ *kernel.Metadata) error {
		write(t, filepath.Join(dir, kernel.ImageFile), []byte("bzImage"))
		write(t, filepath.Join(dir, kernel.VmlinuxFile), elf)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	os.Truncate(filepath.Join(cache, "build-local", kernel.VmlinuxFile), 1000)
	binPath := srv.Path("linux-binary-" + fxRel)
	hits := srv.Hits(binPath)
	_, err = ResolveOrRepair(testCtx(t), "build-local", cache, Options{Keyrings: []string{}})
	var de *kernel.DamagedError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "ktstr kernel build --source /src/linux") {
		t.Errorf("ResolveOrRepair of a damaged local build = %v, want a *kernel.DamagedError with its hint", err)
	}
	if srv.Hits(binPath) != hits {
		t.Error("a kernel built locally was fetched from the archive")
	}
}
