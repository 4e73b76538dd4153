package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/kernel/debian/archivetest"
	"github.com/ktstr-go/ktstr/internal/kernel/fetch"
	"github.com/ktstr-go/ktstr/internal/kernel/image/imagetest"
)

// TestKernelVerifyRepair: `ktstr kernel verify` reports an entry changed in
// place (size and time kept, so only the hash tells) with the command that
// repairs it, and `verify --repair` fetches that very release again, though
// the archive's newest kernel is another one (which `kernel fetch --force`
// would fetch instead). So is an entry stored without checksums. A damaged
// kernel built locally is not fetched.
func TestKernelVerifyRepair(t *testing.T) {
	const oldRel, newRel = "7.3.4+deb13-amd64", "7.4.1+deb13-amd64"
	kernelOf := func(rel, ver string) archivetest.Kernel {
		elf := imagetest.ELF(imagetest.ELFOptions{PVH: true, BTF: true, Release: rel})
		return archivetest.Kernel{Release: rel, Version: ver, Vmlinuz: imagetest.BzImage(imagetest.Zstd(elf), rel+" (t@h) #1 SMP"),
			Config: []byte("CONFIG_SCHED_CLASS_EXT=y\n")}
	}
	srv := archivetest.New(t, archivetest.Options{Kernels: []archivetest.Kernel{
		kernelOf(oldRel, "7.3.4-1~bpo13+1"), kernelOf(newRel, "7.4.1-1~bpo13+1"),
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cache := t.TempDir()
	k, err := fetch.Kernel(ctx, fetch.Options{CacheDir: cache, Mirror: srv.URL, Keyrings: []string{}, Release: oldRel})
	if err != nil {
		t.Fatal(err)
	}
	// Changed in place: the quick check on use cannot see it.
	fi, _ := os.Stat(k.Vmlinux)
	f, err := os.OpenFile(k.Vmlinux, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("\x00\x00\x00\x00"), 0)
	f.Close()
	os.Chtimes(k.Vmlinux, fi.ModTime(), fi.ModTime())

	var out bytes.Buffer
	err = verifyKernels(ctx, &out, cache, nil, nil)
	if err == nil || !strings.Contains(out.String(), k.Key+"\tDAMAGED") ||
		!strings.Contains(out.String(), "run `ktstr kernel verify --repair "+k.Key+"` to fetch it again") {
		t.Fatalf("verify = %v:\n%s", err, out.String())
	}

	binPath := srv.Path("linux-binary-" + oldRel)
	// repair runs verify --repair, which must fetch the entry again (the
	// downloads-th fetch of its package) and leave it verified.
	repair := func(what string, downloads int) {
		t.Helper()
		out.Reset()
		if err := verifyKernels(ctx, &out, cache, nil, &fetch.Options{CacheDir: cache, Keyrings: []string{}}); err != nil {
			t.Fatalf("verify --repair of %s = %v:\n%s", what, err, out.String())
		}
		if !strings.Contains(out.String(), k.Key+"\trepaired") || srv.Hits(binPath) != downloads {
			t.Errorf("verify --repair did not fetch %s %s again (%d downloads):\n%s", what, oldRel, srv.Hits(binPath), out.String())
		}
		if err := kernel.Verify(cache, k.Key); err != nil {
			t.Errorf("after the repair of %s: %v", what, err)
		}
	}
	repair("a damaged entry", 2)
	if ents, _ := os.ReadDir(cache); len(ents) != 1 {
		t.Errorf("the cache holds %d entries; want only the repaired one", len(ents))
	}

	// Stored by an older ktstr, without checksums: reported as such, and
	// --repair fetches it again with them.
	metaPath := filepath.Join(cache, k.Key, kernel.MetadataFile)
	b, err := os.ReadFile(metaPath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "files")
	b, _ = json.Marshal(m)
	if err := os.WriteFile(metaPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = verifyKernels(ctx, &out, cache, nil, nil)
	if err == nil || !strings.Contains(out.String(), k.Key+"\tUNCHECKED") ||
		!strings.Contains(out.String(), "run `ktstr kernel verify --repair "+k.Key+"`") {
		t.Fatalf("verify of an entry without checksums = %v:\n%s", err, out.String())
	}
	repair("an entry without checksums", 3)

	// Built from source: reported with its own repair, not fetched.
	meta := kernel.Metadata{Version: "6.12.118", Source: "build:/src/linux", FetchedAt: time.Now()}
	if err := kernel.Store(cache, "build-6.12.118", meta, func(dir string, _ *kernel.Metadata) error {
		return os.WriteFile(filepath.Join(dir, kernel.ImageFile), []byte("bzImage"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	os.Truncate(filepath.Join(cache, "build-6.12.118", kernel.ImageFile), 3)
	out.Reset()
	err = verifyKernels(ctx, &out, cache, []string{"build-6.12.118"}, &fetch.Options{CacheDir: cache, Keyrings: []string{}})
	if err == nil || !strings.Contains(out.String(), "ktstr kernel build --source /src/linux --force") || srv.Hits(binPath) != 3 {
		t.Errorf("verify --repair of a damaged local build = %v:\n%s", err, out.String())
	}
}
