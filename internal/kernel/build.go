package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/internal/kernel/image"
	"github.com/ktstr-go/ktstr/internal/kernel/kconfig"
	"github.com/ktstr-go/ktstr/internal/kernel/srctree"
	"github.com/ktstr-go/ktstr/internal/logtail"
	"github.com/ktstr-go/ktstr/internal/topolabel"
)

// BuildOptions configure Build. Source is required.
type BuildOptions struct {
	// Source is the kernel source tree. It is never written to.
	Source string
	// Config, when set, is the config file to start from instead of the
	// tree's .config.
	Config string
	// Base, when set, is the make target that writes the config to start
	// from (defconfig, alldefconfig, ...), instead of the
	// tree's .config. Without Config, Base or a .config in the tree, Build
	// starts from "defconfig".
	Base string
	// Jobs is make's -j; 0 means the number of CPUs.
	Jobs int
	// Force builds again even when the cache has a build of the same tree
	// state and config, replacing it.
	Force bool
	// CacheDir defaults to CacheDir().
	CacheDir string
	// Log receives one-line notes and the build's stages for a person;
	// Terminal says it is a terminal, where progress rewrites one line.
	Log      io.Writer
	Terminal bool
	// BuildLog, if set, receives make's whole output as it runs.
	BuildLog io.Writer
}

func (o *BuildOptions) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// BuildResult is a kernel built from source, in the cache.
type BuildResult struct {
	// Kernel is the cache entry's kernel.
	Kernel *Kernel
	// Cached is true when the cache had this build already and nothing
	// was compiled.
	Cached bool
	// Objects counts the objects compiled; Config and Make time the
	// configuration (base, fragment, olddefconfig) and make.
	Objects      int
	Config, Make time.Duration
	// BuildBytes is the size of make's output directory at its largest,
	// removed at the end.
	BuildBytes int64
}

// DefaultBase is the make target that writes the config a build starts
// from when neither the options nor the tree give one.
const DefaultBase = "defconfig"

// baseTargetRe matches what --base may name: a make target ending in
// "config". Compiled on first use, not at init: test binaries link this
// package and start as PID 1 of an emulated guest, where init-time work
// slows every boot.
var baseTargetRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.-]*config$`) })

// allConfigRe matches the config targets that take KCONFIG_ALLCONFIG.
var allConfigRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^all(no|yes|mod|def)config$`) })

// failTail is how many lines of make's output a failed build shows.
const failTail = 30

// Build builds the kernel of a source tree with ktstr's sched_ext config
// fragment merged into its config and stores it in the kernel cache, keyed
// by the tree's state and the final config (see BuildKey), unless the cache
// has that build already.
//
// It first checks that the host has the build's tools. The tree is read
// through a copy made of symbolic links (srctree.Tree.Link), and make
// writes into a temporary directory in the cache (O=), so the tree is
// never modified and may have been configured or built in place. The
// config starts from opts.Config, opts.Base, the tree's .config or `make
// defconfig`, in that order; the fragment is written over it and `make
// olddefconfig` resolves it, after which every option of the fragment must
// hold, or Build fails naming each that did not and what it depends on.
// Then `make bzImage` builds vmlinux and the bzImage; vmlinuz (the
// bzImage), vmlinux, config and System.map become the cache entry. The
// temporary directory is removed on every path, Ctrl-C included.
func Build(ctx context.Context, opts BuildOptions) (*BuildResult, error) {
	if opts.Source == "" {
		return nil, errors.New("no kernel source tree given; pass --source DIR")
	}
	if opts.Config != "" && opts.Base != "" {
		return nil, errors.New("--config and --base both name the config to start from; pass one")
	}
	if opts.Base != "" && !baseTargetRe().MatchString(opts.Base) {
		return nil, fmt.Errorf("--base %q is not a config target of the kernel's make (defconfig, alldefconfig, ...)", opts.Base)
	}
	tree, err := srctree.Open(opts.Source)
	if err != nil {
		return nil, err
	}
	if !tree.HasSchedExt() {
		return nil, fmt.Errorf("kernel %s in %s has no sched_ext (no kernel/sched/ext.c; sched_ext came in 6.12), so ktstr could not load a scheduler in it; build a 6.12 or later tree", tree.Version, tree.Dir)
	}
	if err := checkBuildTools(ctx); err != nil {
		return nil, err
	}
	var base []byte
	if opts.Config != "" {
		if base, err = os.ReadFile(opts.Config); err != nil {
			return nil, fmt.Errorf("--config: %w", err)
		}
	}
	cacheDir := opts.CacheDir
	if cacheDir == "" {
		if cacheDir, err = CacheDir(); err != nil {
			return nil, err
		}
	}
	state, err := tree.State(ctx)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("create the kernel cache: %w; set KTSTR_CACHE_DIR to a writable directory", err)
	}
	cachedir.Sweep(cacheDir)
	work, err := cachedir.NewTemp(cacheDir, "build")
	if err != nil {
		return nil, fmt.Errorf("create a build directory in the kernel cache: %w; set KTSTR_CACHE_DIR to a writable directory", err)
	}
	defer os.RemoveAll(work)
	// Sweep takes a temporary directory untouched for an hour for a
	// crashed process's, and a build can take longer: keep it fresh.
	stopTouch := keepFresh(work, 10*time.Minute)
	defer stopTouch()

	b := &kbuild{opts: opts, tree: tree, state: state, cacheDir: cacheDir,
		src: filepath.Join(work, "src"), out: filepath.Join(work, "out"), res: &BuildResult{}}
	if err := b.run(ctx, base); err != nil {
		if ctx.Err() != nil {
			// Tens of thousands of files: say why the exit waits.
			opts.logf("interrupted: removing the build directory %s", work)
			return nil, fmt.Errorf("kernel build interrupted; nothing was stored: %w", ctx.Err())
		}
		return nil, err
	}
	return b.res, nil
}

// keepFresh touches dir every period until the returned function is
// called.
func keepFresh(dir string, period time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				_ = os.Chtimes(dir, now, now)
			}
		}
	}()
	return func() { close(done) }
}

// BuildKey is the cache key of a build: "build-<version>-<tree state>-
// config-<hash>", the tree's Makefile version, its state (srctree.State
// ID) and the first 12 hex digits of the final config's kconfig.Hash.
func BuildKey(version, stateID, configHash string) string {
	if len(configHash) > 12 {
		configHash = configHash[:12]
	}
	return "build-" + version + "-" + stateID + "-config-" + configHash
}

// kbuild carries one build.
type kbuild struct {
	opts     BuildOptions
	tree     *srctree.Tree
	state    *srctree.State
	cacheDir string
	src, out string // the linked copy of the tree, make's O=
	res      *BuildResult
}

func (b *kbuild) run(ctx context.Context, base []byte) error {
	t0 := time.Now()
	if err := b.tree.Link(ctx, b.state.Files, b.src); err != nil {
		return fmt.Errorf("copy the tree's sources as links: %w", err)
	}
	if err := os.Mkdir(b.out, 0o755); err != nil {
		return err
	}
	final, from, err := b.configure(ctx, base)
	if err != nil {
		return err
	}
	b.res.Config = time.Since(t0)
	hash := kconfig.Hash(final)
	key := BuildKey(b.tree.Version, b.state.ID, hash)
	b.opts.logf("config: %s with the sched_ext fragment (%.1fs); cache key %s", from, b.res.Config.Seconds(), key)
	if v, ok := kconfig.Value(final, "NR_CPUS"); ok {
		if n, _ := strconv.Atoi(v); n > 0 && n < topolabel.MaxCPUs {
			b.opts.logf("note: CONFIG_NR_CPUS=%d: a topology of more CPUs will not come up whole in this kernel", n)
		}
	}

	if !b.opts.Force {
		e, err := ReadEntry(b.cacheDir, key)
		switch {
		case err == nil:
			b.opts.logf("already built: %s (--force builds it again)", e.Dir)
			b.res.Kernel, b.res.Cached = e.Kernel(), true
			return nil
		case !errors.Is(err, fs.ErrNotExist):
			b.opts.logf("building it again: %v", err)
		}
	}

	jobs := b.opts.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	b.opts.logf("building %s (version %s, %s) with make -j%d", b.tree.Dir, b.tree.Version, b.state.ID, jobs)
	t1 := time.Now()
	if err := b.make(ctx, jobs); err != nil {
		return err
	}
	b.res.Make = time.Since(t1)
	b.res.BuildBytes = cachedir.DirSize(b.out)

	meta := Metadata{
		Source:      buildSourcePrefix + b.tree.Dir,
		SourceState: b.state.ID,
		BaseConfig:  from,
		ConfigHash:  hash,
		SchedExt:    kconfig.Enabled(final, "SCHED_CLASS_EXT"),
	}
	if err := store(b.cacheDir, key, meta, b.populate, b.opts.Force); err != nil {
		return err
	}
	e, err := ReadEntry(b.cacheDir, key)
	if err != nil {
		return fmt.Errorf("read back cache entry %s: %w", key, err)
	}
	b.res.Kernel = e.Kernel()
	return nil
}

// makeArgs are the arguments of every make run: the linked copy of the
// tree, built out of tree into b.out.
func (b *kbuild) makeArgs(args ...string) []string {
	return append([]string{"-C", b.src, "O=" + b.out}, args...)
}

// make runs the build proper, showing progress; on failure the error has
// the last lines of make's output.
func (b *kbuild) make(ctx context.Context, jobs int) error {
	var tail logtail.Buffer
	prog := newBuildProgress(b.opts.Log, b.opts.Terminal)
	if b.opts.Log == nil {
		prog = newBuildProgress(io.Discard, false)
	}
	writers := []io.Writer{&tail, &lineWriter{fn: prog.line}}
	if b.opts.BuildLog != nil {
		writers = append(writers, b.opts.BuildLog)
	}
	// bzImage builds vmlinux on the way; modules are left out, since the
	// guest loads none.
	err := RunMake(ctx, io.MultiWriter(writers...), b.makeArgs("-j"+strconv.Itoa(jobs), "bzImage")...)
	prog.clear()
	b.res.Objects = prog.objects
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("the kernel build failed (make: %v); its last %d lines:\n%s", err, failTail, logtail.LastLines(tail.Bytes(), failTail))
	}
	return nil
}

// populate moves the build's results into dir, the cache entry being
// made, and completes meta from them.
func (b *kbuild) populate(dir string, meta *Metadata) error {
	for src, dst := range map[string]string{
		filepath.Join("arch", "x86", "boot", "bzImage"): ImageFile,
		"vmlinux":    VmlinuxFile,
		".config":    ConfigFile,
		"System.map": SystemMapFile,
	} {
		if err := os.Rename(filepath.Join(b.out, src), filepath.Join(dir, dst)); err != nil {
			return fmt.Errorf("the build made no %s: %w", src, err)
		}
	}
	rel, err := os.ReadFile(filepath.Join(b.out, "include", "config", "kernel.release"))
	if err != nil {
		return fmt.Errorf("the build wrote no kernel release: %w", err)
	}
	meta.Version = strings.TrimSpace(string(rel))
	info, err := image.Inspect(filepath.Join(dir, VmlinuxFile))
	if err != nil {
		return fmt.Errorf("inspect the built vmlinux: %w", err)
	}
	meta.BTF, meta.PVH = info.HasBTF, info.HasPVH
	if !meta.BTF || !meta.PVH {
		// The fragment asks for both; Kconfig said they held.
		return fmt.Errorf("the built vmlinux lacks %s although the config has it; is pahole (dwarves) working?", missingFeatures(info))
	}
	meta.FetchedAt = time.Now().UTC()
	return nil
}

func missingFeatures(info image.Info) string {
	var m []string
	if !info.HasBTF {
		m = append(m, "BTF (.BTF section)")
	}
	if !info.HasPVH {
		m = append(m, "the PVH entry note")
	}
	return strings.Join(m, " and ")
}
