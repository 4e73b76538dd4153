package kernel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeMakefile stands in for a kernel's top Makefile in TestBuildFakeTree:
// real make runs it, out of tree (O=) in the linked copy, as it runs a
// kernel's. Its config targets write and "resolve" .config (olddefconfig
// keeps every line but those of $FAKE_DROP), and bzImage prints kbuild's
// lines and copies prepared images into place, or fails after 40 lines of
// output ($FAKE_FAIL), or hangs ($FAKE_HANG).
const fakeMakefile = `VERSION = 7
PATCHLEVEL = 3
SUBLEVEL = 4
EXTRAVERSION =

defconfig:
	printf 'CONFIG_HZ=250\n' > $(O)/.config

alldefconfig:
	cat $(KCONFIG_ALLCONFIG) > $(O)/.config

olddefconfig:
	grep -v '^CONFIG_$(or $(FAKE_DROP),NONE)=' $(O)/.config > $(O)/.config.new || true
	mv $(O)/.config.new $(O)/.config

bzImage:
ifdef FAKE_FAIL
	for i in $$(seq 1 40); do echo "line $$i"; done; false
endif
ifdef FAKE_HANG
	sleep 600
endif
	@echo "  CC      kernel/sched/core.o"
	@echo "  CC      kernel/sched/fair.o"
	@echo "  AS      arch/x86/entry/entry_64.o"
	@echo "  LD      vmlinux.o"
	@echo "  BUILD   arch/x86/boot/bzImage"
	mkdir -p $(O)/arch/x86/boot $(O)/include/config
	cp fake-bzImage $(O)/arch/x86/boot/bzImage
	cp fake-vmlinux $(O)/vmlinux
	echo 'ffffffff81000000 T _stext' > $(O)/System.map
	echo 7.3.4-fake > $(O)/include/config/kernel.release
`

const fakeKconfig = `config SCHED_CLASS_EXT
	bool "Extensible Scheduling Class"
	depends on BPF_SYSCALL && DEBUG_INFO_BTF
`

// fakeKernelTree writes a directory that srctree takes for a kernel tree,
// whose Makefile is fakeMakefile.
func fakeKernelTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "Makefile"), []byte(fakeMakefile))
	write(t, filepath.Join(dir, "Kconfig"), []byte(fakeKconfig))
	write(t, filepath.Join(dir, "arch", "x86", "Kconfig"), []byte("config X86\n\tdef_bool y\n"))
	write(t, filepath.Join(dir, "kernel", "sched", "ext.c"), []byte("/* sched_ext */\n"))
	write(t, filepath.Join(dir, "fake-bzImage"), testBz)
	write(t, filepath.Join(dir, "fake-vmlinux"), testELF)
	return dir
}

// fakeBuild runs Build on tree with a fresh log; the tools check must pass
// (this host can build kernels) or the test is skipped.
func fakeBuild(t *testing.T, ctx context.Context, opts BuildOptions) (*BuildResult, string, error) {
	t.Helper()
	if err := checkBuildTools(ctx); err != nil {
		t.Skipf("this host cannot build kernels: %v", err)
	}
	var log strings.Builder
	opts.Log = &log
	res, err := Build(ctx, opts)
	return res, log.String(), err
}

func TestBuildFakeTree(t *testing.T) {
	ctx := context.Background()
	tree := fakeKernelTree(t)
	cache := t.TempDir()
	opts := BuildOptions{Source: tree, CacheDir: cache, Jobs: 1}

	res, log, err := fakeBuild(t, ctx, opts)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log)
	}
	k := res.Kernel
	if res.Cached || res.Objects != 3 || !strings.HasPrefix(k.Key, "build-7.3.4-tree-") || !strings.Contains(k.Key, "-config-") {
		t.Errorf("result %+v, kernel %s", res, k.Key)
	}
	m := k.Meta
	realTree, _ := filepath.EvalSymlinks(tree)
	if dir, ok := m.BuildSource(); !ok || dir != realTree || m.BaseConfig != "make defconfig" || !strings.HasPrefix(m.SourceState, "tree-") ||
		m.Version != "7.3.4-fake" || !m.SchedExt || !m.BTF || !m.PVH || m.SHA256 == "" || k.BootImage() != k.Vmlinux {
		t.Errorf("metadata %+v", m)
	}
	for _, f := range []string{ImageFile, VmlinuxFile, ConfigFile, SystemMapFile} {
		if _, ok := m.Files[f]; !ok {
			t.Errorf("the entry records no %s", f)
		}
	}
	cfg, _ := os.ReadFile(k.Config)
	if !strings.Contains(string(cfg), "CONFIG_HZ=250\n") || !strings.Contains(string(cfg), "CONFIG_SCHED_CLASS_EXT=y\n") {
		t.Errorf("the stored config is not defconfig's with the fragment:\n%s", cfg)
	}
	for _, want := range []string{"config: make defconfig with the sched_ext fragment", "cache key " + k.Key, "compiling (at ", "making bzImage (at "} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	if err := Verify(cache, k.Key); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if names := dirNames(t, cache); len(names) != 1 || names[0] != k.Key {
		t.Errorf("the cache holds %q, want only %s", names, k.Key)
	}
	if r, err := Resolve(k.Key, cache); err != nil || r.Key != k.Key {
		t.Errorf("Resolve(key) = %+v, %v", r, err)
	}
	if r, err := Resolve(tree, cache); err != nil || r.Key != k.Key || len(r.Notes) != 1 {
		t.Errorf("Resolve(the tree) = %+v, %v; want its build, with a note", r, err)
	}

	again, log, err := fakeBuild(t, ctx, opts)
	if err != nil || !again.Cached || again.Kernel.Key != k.Key || !strings.Contains(log, "already built") {
		t.Errorf("building again: %+v, %v; log:\n%s", again, err, log)
	}
	forced := opts
	forced.Force = true
	if res, _, err := fakeBuild(t, ctx, forced); err != nil || res.Cached || res.Kernel.Key != k.Key || !res.Kernel.Meta.FetchedAt.After(m.FetchedAt) {
		t.Errorf("--force: %+v, %v; want a new build under the same key", res, err)
	}

	// Other bases give other keys, and say where they started.
	cfgFile := write(t, filepath.Join(t.TempDir(), "my.config"), []byte("CONFIG_HZ=1000\n"))
	for _, tc := range []struct {
		opts BuildOptions
		from string
	}{
		{BuildOptions{Config: cfgFile}, "--config " + cfgFile},
		{BuildOptions{Base: "alldefconfig"}, "make alldefconfig"},
	} {
		o := opts
		o.Config, o.Base = tc.opts.Config, tc.opts.Base
		res, _, err := fakeBuild(t, ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Kernel.Key == k.Key || res.Kernel.Meta.BaseConfig != tc.from {
			t.Errorf("from %s: key %s (defconfig's %s), base %q", tc.from, res.Kernel.Key, k.Key, res.Kernel.Meta.BaseConfig)
		}
	}
	write(t, filepath.Join(tree, ".config"), []byte("CONFIG_HZ=100\n"))
	res, _, err = fakeBuild(t, ctx, opts)
	if err != nil || res.Kernel.Meta.BaseConfig != "the tree's .config" || res.Kernel.Meta.SourceState != m.SourceState {
		t.Errorf("from the tree's .config: %+v, %v; want the same tree state as before", res, err)
	}
}

func TestBuildFakeTreeFailures(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, env string
		want      []string
		not       string
	}{
		{"make fails", "FAKE_FAIL", []string{"the kernel build failed (make: exit status 2); its last 30 lines:\n", "line 40"}, "\nline 1\n"},
		{"an option dropped", "FAKE_DROP",
			[]string{"the sched_ext config fragment did not hold", "CONFIG_SCHED_CLASS_EXT=y asked, not set: depends on BPF_SYSCALL && DEBUG_INFO_BTF (now BPF_SYSCALL=y, DEBUG_INFO_BTF=y)"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.env, map[string]string{"FAKE_FAIL": "1", "FAKE_DROP": "SCHED_CLASS_EXT"}[tc.env])
			cache := t.TempDir()
			_, _, err := fakeBuild(t, ctx, BuildOptions{Source: fakeKernelTree(t), CacheDir: cache})
			if err == nil {
				t.Fatal("Build succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error lacks %q:\n%v", w, err)
				}
			}
			if tc.not != "" {
				_, tail, _ := strings.Cut(err.Error(), "lines:\n")
				if strings.Contains(err.Error(), tc.not) || strings.Count(tail, "\n") != 29 {
					t.Errorf("the error is not the last 30 lines of the output:\n%v", err)
				}
			}
			if names := dirNames(t, cache); len(names) != 0 {
				t.Errorf("a failed build left %q in the cache", names)
			}
		})
	}
}

func TestBuildFakeTreeInterrupted(t *testing.T) {
	t.Setenv("FAKE_HANG", "1")
	cache := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := &syncWriter{}
	go func() {
		// Cancel once make hangs in the build proper, as Ctrl-C would.
		for ctx.Err() == nil && !strings.Contains(log.String(), "with make -j") {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		cancel()
	}()
	if err := checkBuildTools(ctx); err != nil {
		t.Skipf("this host cannot build kernels: %v", err)
	}
	t0 := time.Now()
	_, err := Build(ctx, BuildOptions{Source: fakeKernelTree(t), CacheDir: cache, Log: log})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted; nothing was stored") {
		t.Errorf("Build = %v; want an interruption", err)
	}
	if d := time.Since(t0); d > 30*time.Second {
		t.Errorf("the interrupted build took %s to return: make's sleep was not killed", d)
	}
	if names := dirNames(t, cache); len(names) != 0 {
		t.Errorf("an interrupted build left %q in the cache", names)
	}
}

// syncWriter is a strings.Builder that one goroutine may write while
// another reads.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
