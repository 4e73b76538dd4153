package build

import (
	"archive/tar"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/kernel/debian/archivetest"
	"github.com/ktstr-go/ktstr/internal/kernel/fetch"
	"github.com/ktstr-go/ktstr/internal/scx"
)

// kernelCache makes a kernel cache holding release, with a vmlinux when
// btf is set.
func kernelCache(t *testing.T, release, pkgVersion, mirror string, btf bool) string {
	t.Helper()
	dir := t.TempDir()
	meta := kernel.Metadata{Version: release, PackageVersion: pkgVersion, Source: "debian:trixie-backports", Mirror: mirror, FetchedAt: time.Now(), SchedExt: true}
	err := kernel.Store(dir, "debian-"+release, meta, func(d string, m *kernel.Metadata) error {
		if err := os.WriteFile(filepath.Join(d, kernel.ImageFile), []byte("bzImage"), 0o644); err != nil {
			return err
		}
		if btf {
			m.BTF = true
			return os.WriteFile(filepath.Join(d, kernel.VmlinuxFile), []byte("\x7fELF pretend"), 0o644)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// rel is the kernel release the builds are for.
const rel = "7.3.4+deb13-amd64"

// putBuild stores a build of release with the named binaries in schedDir.
func putBuild(t *testing.T, schedDir, release string, bins ...string) {
	t.Helper()
	_, err := scx.Store(schedDir, scx.Metadata{KernelRelease: release, Binaries: bins, Static: true}, func(dir string) error {
		for _, b := range bins {
			if err := os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/sh\n"), 0o755); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestBuildCached(t *testing.T) {
	kc := kernelCache(t, rel, "7.3.4-1~bpo13+1", "http://127.0.0.1:1/debian", false)
	sd := t.TempDir()
	putBuild(t, sd, rel, "scx_simple")
	// No network, no compiler, no vmlinux needed for a cached build.
	res, err := Schedulers(testCtx(t), Options{KernelCacheDir: kc, SchedDir: sd, Clang: "no-such-clang"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Cached || res.KernelRelease != rel || !res.Has("scx_simple") {
		t.Errorf("Schedulers = %+v", res)
	}
	// By release too.
	if res, err := Schedulers(testCtx(t), Options{KernelVersion: rel, KernelCacheDir: kc, SchedDir: sd}); err != nil || !res.Cached {
		t.Errorf("by release: %+v, %v", res, err)
	}
}

func TestBuildNeedsBTF(t *testing.T) {
	kc := kernelCache(t, rel, "", "", false)
	_, err := Schedulers(testCtx(t), Options{KernelCacheDir: kc, SchedDir: t.TempDir(), Force: true})
	if err == nil || !strings.Contains(err.Error(), "no vmlinux with BTF") {
		t.Errorf("err = %v", err)
	}
}

func TestBuildNeedsClang(t *testing.T) {
	kc := kernelCache(t, rel, "", "", true)
	_, err := Schedulers(testCtx(t), Options{KernelCacheDir: kc, SchedDir: t.TempDir(), Clang: "clang-does-not-exist-99"})
	if err == nil || !strings.Contains(err.Error(), "clang-does-not-exist-99") || !strings.Contains(err.Error(), "apt-get install clang-22 llvm-22 libelf-dev zlib1g-dev libzstd-dev") {
		t.Errorf("err = %v", err)
	}
}

func TestBuildNoKernel(t *testing.T) {
	_, err := Schedulers(testCtx(t), Options{KernelCacheDir: t.TempDir(), SchedDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "ktstr kernel fetch") {
		t.Errorf("err = %v", err)
	}
}

// fakeMakefile stands in for tools/sched_ext/Makefile: scx_good "builds"
// by copying a real ELF ($(ELF)), scx_bad fails like a BPF compile error.
// It prints the variables each link is run with.
const fakeMakefile = `c-sched-targets = scx_good scx_bad

BINDIR := $(O)/build/bin

all: $(c-sched-targets)

$(BINDIR)/scx_good:
	@mkdir -p $(BINDIR)
	@echo "LINK LDFLAGS=[$(LDFLAGS)] CLANG=$(CLANG) BTF=$(notdir $(VMLINUX_BTF))"
	cp $(ELF) $@
	chmod 755 $@

scx_good: $(BINDIR)/scx_good

scx_bad:
	@echo "scx_bad.bpf.c:3:1: error: unknown type name 'oops'"
	@false

.PHONY: all $(c-sched-targets)
`

func TestBuildEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("no cc")
	}
	elfPath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true")
	}
	const top = "linux-source-7.3/"
	tarball := makeTarXz(t, []tarEntry{
		{name: top, typ: tar.TypeDir, mode: 0o755},
		{name: top + "Makefile", typ: tar.TypeReg, data: "# top\n"},
		{name: top + "drivers/skipped.c", typ: tar.TypeReg, data: "int x;\n"},
		{name: top + "tools/sched_ext/Makefile", typ: tar.TypeReg, data: fakeMakefile},
	})
	deb := archivetest.BuildDeb(t, "linux-source-7.3", "7.3.4-1~bpo13+1", "all", "xz", map[string][]byte{
		"./usr/src/linux-source-7.3.tar.xz": tarball,
	})
	debPath := "pool/main/l/linux/linux-source-7.3_7.3.4-1~bpo13+1_all.deb"
	srv := archivetest.New(t, archivetest.Options{
		Kernels: []archivetest.Kernel{{Release: rel, Version: "7.3.4-1~bpo13+1", Vmlinuz: []byte("k"), Config: []byte("CONFIG_SCHED_CLASS_EXT=y\n")}},
		ExtraPackages: fmt.Sprintf("Package: linux-source-7.3\nVersion: 7.3.4-1~bpo13+1\nArchitecture: all\nFilename: %s\nSize: %d\nSHA256: %s\n\n",
			debPath, len(deb), archivetest.Sum(deb)),
	})
	srv.Set(debPath, deb)

	// The archive is the one the kernel came from (its metadata says).
	t.Setenv(fetch.MirrorEnv, "")
	kc := kernelCache(t, rel, "7.3.4-1~bpo13+1", srv.URL, true)
	sd, work := t.TempDir(), t.TempDir()
	t.Setenv("ELF", elfPath) // make imports the environment
	var log, buildLog strings.Builder
	opts := Options{
		KernelCacheDir: kc, SchedDir: sd, WorkDir: work, Keyrings: []string{},
		Clang: "true", LLVMStrip: "true", Log: &log, BuildLog: &buildLog,
	}
	res, err := Schedulers(testCtx(t), opts)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.String())
	}
	if res.Cached || res.KernelRelease != rel || res.SourceVersion != "7.3.4-1~bpo13+1" || res.Mirror != srv.URL {
		t.Errorf("result = %+v", res)
	}
	if strings.Join(res.Binaries, ",") != "scx_good" || strings.Join(res.Failed, ",") != "scx_bad" {
		t.Errorf("binaries %v, failed %v", res.Binaries, res.Failed)
	}
	if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Output, "unknown type name 'oops'") {
		t.Errorf("failures = %+v", res.Failures)
	}
	if res.Dir != filepath.Join(sd, rel) || !isExecutable(filepath.Join(res.Dir, "scx_good")) {
		t.Errorf("not installed: %s", res.Dir)
	}
	// A dynamic link first, then the static relink of what built.
	if got := buildLog.String(); strings.Count(got, "LINK ") != 2 ||
		!strings.Contains(got, "LINK LDFLAGS=[] CLANG=true BTF=vmlinux") ||
		!strings.Contains(got, "LINK LDFLAGS=[-static -lelf -lz -lpthread]") {
		t.Errorf("make runs:\n%s", got)
	}
	// /usr/bin/true is dynamically linked: said, not hidden.
	if res.Static || !strings.Contains(strings.Join(res.Notes, "\n"), "scx_good is not statically linked") {
		t.Errorf("static = %v, notes %q", res.Static, res.Notes)
	}
	var phases []string
	for _, p := range res.Phases {
		phases = append(phases, p.Name)
	}
	if strings.Join(phases, ",") != "index,download,extract,build,relink,install" {
		t.Errorf("phases = %v", phases)
	}
	if res.Disk.Deb != int64(len(deb)) || res.Disk.Installed == 0 {
		t.Errorf("disk = %+v", res.Disk)
	}
	// The temporary tree is gone.
	if ents, _ := os.ReadDir(work); len(ents) != 0 {
		t.Errorf("work dir not cleaned: %v", ents)
	}
	// Cached now; --force rebuilds.
	if res, err := Schedulers(testCtx(t), opts); err != nil || !res.Cached {
		t.Errorf("second build: %+v, %v", res, err)
	}
	opts.Force = true
	if res, err := Schedulers(testCtx(t), opts); err != nil || res.Cached {
		t.Errorf("forced build: %+v, %v", res, err)
	}
}

func TestBuildAllFail(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	if _, err := exec.LookPath("cc"); err != nil {
		t.Skip("no cc")
	}
	const top = "linux-source-7.3/"
	tarball := makeTarXz(t, []tarEntry{
		{name: top + "tools/sched_ext/Makefile", typ: tar.TypeReg, data: "c-sched-targets = scx_bad\nscx_bad:\n\t@echo 'fatal error: gelf.h: No such file or directory'\n\t@false\n"},
	})
	deb := archivetest.BuildDeb(t, "linux-source-7.3", "7.3.4-1~bpo13+1", "all", "xz", map[string][]byte{"./usr/src/linux-source-7.3.tar.xz": tarball})
	debPath := "pool/main/l/linux/src.deb"
	srv := archivetest.New(t, archivetest.Options{
		Kernels: []archivetest.Kernel{{Release: rel, Version: "7.3.4-1~bpo13+1", Vmlinuz: []byte("k"), Config: []byte("x")}},
		ExtraPackages: fmt.Sprintf("Package: linux-source-7.3\nVersion: 7.3.4-1~bpo13+1\nFilename: %s\nSize: %d\nSHA256: %s\n\n",
			debPath, len(deb), archivetest.Sum(deb)),
	})
	srv.Set(debPath, deb)
	t.Setenv(fetch.MirrorEnv, "")
	kc := kernelCache(t, rel, "7.3.4-1~bpo13+1", srv.URL, true)
	sd, work := t.TempDir(), t.TempDir()
	_, err := Schedulers(testCtx(t), Options{KernelCacheDir: kc, SchedDir: sd, WorkDir: work, Keyrings: []string{}, Clang: "true", LLVMStrip: "true"})
	if err == nil {
		t.Fatal("a build producing nothing succeeded")
	}
	for _, want := range []string{"make -C tools/sched_ext failed", "gelf.h: No such file", "apt-get install clang-22"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if ents, _ := os.ReadDir(work); len(ents) != 0 {
		t.Errorf("work dir not cleaned after a failure: %v", ents)
	}
	if ents, _ := os.ReadDir(sd); len(ents) != 0 {
		t.Errorf("schedulers cache touched after a failure: %v", ents)
	}

	// A corrupt package is caught before anything is unpacked.
	bad := append([]byte(nil), deb...)
	bad[len(bad)/2] ^= 1
	srv.Set(debPath, bad)
	_, err = Schedulers(testCtx(t), Options{KernelCacheDir: kc, SchedDir: sd, WorkDir: work, Keyrings: []string{}, Clang: "true", LLVMStrip: "true"})
	if err == nil || !strings.Contains(err.Error(), "SHA256 mismatch") {
		t.Errorf("corrupt package: %v", err)
	}
	if ents, _ := os.ReadDir(work); len(ents) != 0 {
		t.Errorf("work dir not cleaned after a bad download: %v", ents)
	}
}

// builtKernelCache makes a kernel cache holding a kernel built from tree
// (as `ktstr kernel build` records it) and returns the cache and its key.
func builtKernelCache(t *testing.T, tree string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	const key = "build-6.12.118-tree-6f652496b01c-config-8ae070d22965"
	meta := kernel.Metadata{Version: "6.12.118", Source: "build:" + tree, FetchedAt: time.Now(), SchedExt: true, BTF: true}
	err := kernel.Store(dir, key, meta, func(d string, m *kernel.Metadata) error {
		if err := os.WriteFile(filepath.Join(d, kernel.ImageFile), []byte("bzImage"), 0o644); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(d, kernel.VmlinuxFile), []byte("\x7fELF pretend"), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir, key
}

func TestBuildFromKernelTree(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	elfPath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true")
	}
	tree := t.TempDir()
	mk := filepath.Join(tree, "tools", "sched_ext", "Makefile")
	if err := os.MkdirAll(filepath.Dir(mk), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mk, []byte(fakeMakefile), 0o644); err != nil {
		t.Fatal(err)
	}
	kc, key := builtKernelCache(t, tree)
	sd, work := t.TempDir(), t.TempDir()
	t.Setenv("ELF", elfPath)
	// No archive is reachable: a kernel built from a tree needs none.
	t.Setenv(fetch.MirrorEnv, "http://127.0.0.1:1/debian")
	opts := Options{KernelCacheDir: kc, SchedDir: sd, WorkDir: work, Clang: "true", LLVMStrip: "true"}
	res, err := Schedulers(testCtx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	// Kept under the kernel's key, not its release: another tree of 6.12.118
	// is another kernel.
	if res.KernelRelease != key || res.Dir != filepath.Join(sd, key) || res.SourceTree != tree || res.SourcePackage != "" {
		t.Errorf("result = %+v", res)
	}
	if strings.Join(res.Binaries, ",") != "scx_good" {
		t.Errorf("binaries %v", res.Binaries)
	}
	var phases []string
	for _, p := range res.Phases {
		phases = append(phases, p.Name)
	}
	if strings.Join(phases, ",") != "build,relink,install" {
		t.Errorf("phases = %v", phases)
	}
	// The tree is only read.
	var files []string
	filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 {
		t.Errorf("the build wrote into the source tree: %v", files)
	}
	if ents, _ := os.ReadDir(work); len(ents) != 0 {
		t.Errorf("work dir not cleaned: %v", ents)
	}
	// Tests find it by the kernel.
	k, err := kernel.Resolve(key, kc)
	if err != nil {
		t.Fatal(err)
	}
	if name := scx.CacheName(k); name != key {
		t.Errorf("CacheName = %q, want the key", name)
	}
	if res, err := Schedulers(testCtx(t), opts); err != nil || !res.Cached {
		t.Errorf("second build: %+v, %v", res, err)
	}

	// --source elsewhere: that tree, which must have tools/sched_ext.
	opts.Force = true
	opts.Source = t.TempDir()
	if _, err := Schedulers(testCtx(t), opts); err == nil || !strings.Contains(err.Error(), "has no tools/sched_ext/Makefile") || !strings.Contains(err.Error(), "6.12 or later") {
		t.Errorf("a tree without tools/sched_ext: %v", err)
	}
	// The kernel's tree gone: said, with what to do; no Debian fallback,
	// which would build another kernel's sources.
	opts.Source = ""
	if err := os.RemoveAll(tree); err != nil {
		t.Fatal(err)
	}
	_, err = Schedulers(testCtx(t), opts)
	if err == nil || !strings.Contains(err.Error(), "kernel "+key+" was built from "+tree+", which is gone") || !strings.Contains(err.Error(), "pass --source") {
		t.Errorf("tree gone: %v", err)
	}
}
