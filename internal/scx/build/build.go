// Package build builds the Linux kernel's example sched_ext schedulers
// (tools/sched_ext: scx_simple, scx_qmap, scx_central, ...), statically
// linked, into the schedulers cache of package scx, where test runs find
// them. The sources are a kernel source tree or Debian's
// linux-source-<major.minor> package, downloaded and unpacked here; that is
// why it is a package of its own: the ktstr command builds, test binaries
// only find what was built and must not link the download.
package build

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/kernel/debian"
	"github.com/ktstr-go/ktstr/internal/kernel/fetch"
	"github.com/ktstr-go/ktstr/internal/logtail"
	"github.com/ktstr-go/ktstr/internal/scx"
)

// Defaults for Options.
const (
	DefaultClang     = "clang-22"
	DefaultLLVMStrip = "llvm-strip-22"
)

// InstallHint says how to get the build's tools on Debian 12.
const InstallHint = "apt-get install clang-22 llvm-22 libelf-dev zlib1g-dev libzstd-dev make gcc libc6-dev pkg-config python3 (or run scripts/install-build-deps.sh as root; clang-22 comes from bookworm-security)"

// defaultSchedulers is what tools/sched_ext of 7.3 builds; the Makefile's
// own list is used when it can be read.
var defaultSchedulers = []string{"scx_simple", "scx_cpu0", "scx_qmap", "scx_central", "scx_flatcg", "scx_userland", "scx_pair", "scx_sdt"}

// Options configure Schedulers. The zero value builds for the newest cached
// kernel into scx.SchedDir(), taking the sources from the tree that kernel
// was built from, else from the archive it came from.
type Options struct {
	// KernelVersion names the kernel as kernel.Resolve takes it: a release
	// like "7.3.4+deb13-amd64", a version prefix, a cache key or a path;
	// "" means the newest cached kernel. It must have a vmlinux with BTF.
	KernelVersion string
	// KernelCacheDir defaults to kernel.CacheDir().
	KernelCacheDir string
	// SchedDir is the schedulers cache; it defaults to scx.SchedDir().
	SchedDir string
	// Force rebuilds even when the cache has a build for the kernel.
	Force bool

	// Source is a kernel source tree whose tools/sched_ext is built; it is
	// only read (the build goes to a temporary directory). "" means the
	// tree the kernel was built from (`ktstr kernel build`), else the
	// Debian source package of the kernel's archive.
	Source string

	// Mirror is the Debian archive URI. It defaults to
	// $KTSTR_DEBIAN_MIRROR, then to the archive the kernel was fetched
	// from, then to the first apt source (under AptDir) serving Suite.
	Mirror string
	// Suite defaults to the kernel's ("debian:<suite>"), else
	// debian.DefaultSuite.
	Suite string
	// AptDir defaults to "/etc/apt".
	AptDir string
	// Keyrings are as in debian.Fetcher: nil means the host's Debian
	// archive keyrings.
	Keyrings []string
	// HTTP defaults to a client with connect and header timeouts.
	HTTP *http.Client
	// Progress is called as downloads advance; see
	// debian.TerminalProgress.
	Progress func(name string, done, total int64)

	// Clang and LLVMStrip default to DefaultClang and DefaultLLVMStrip.
	Clang, LLVMStrip string
	// Jobs is make's -j; 0 means the number of CPUs.
	Jobs int
	// WorkDir is where the temporary build tree goes (about 180 MB at its
	// peak for 7.3: the 160 MB source package, then a 15 MB tree and 60 MB
	// of objects; removed at the end); "" means os.TempDir().
	WorkDir string
	// FullTree extracts the whole kernel tree (about 1.7 GB) instead of
	// the part the build needs.
	FullTree bool
	// Log, if set, receives one-line notes for a person; BuildLog, if set,
	// receives make's output as it runs.
	Log, BuildLog io.Writer
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// Phase is one timed step of a build.
type Phase struct {
	Name     string // "index", "download", "extract", "build", "relink", "install"
	Duration time.Duration
}

// Failure is a scheduler of the tree that did not build.
type Failure struct {
	Name string
	// Output is make's output about it (its error lines), possibly empty.
	Output string
}

// Disk is the space a build used.
type Disk struct {
	// Deb is the source package's size; it is deleted once unpacked.
	Deb int64
	// Source is the extracted tree.
	Source int64
	// Build is make's output directory (objects, libbpf, bpftool).
	Build int64
	// Installed is the cache directory's size.
	Installed int64
}

// Result is a build in the cache.
type Result struct {
	scx.Built
	// Cached is true when the build was there already and nothing was
	// done.
	Cached bool
	// Failures lists the schedulers that did not build (also in
	// Metadata.Failed); empty for a cached build.
	Failures []Failure
	// Notes are warnings for a person (also sent to Log).
	Notes []string
	// Phases and Disk describe a fresh build.
	Phases []Phase
	Disk   Disk
}

// Schedulers makes sure the schedulers of the kernel's tools/sched_ext are built
// for the kernel opts.KernelVersion names and returns them. The sources are
// opts.Source, else the tree the kernel was built from, else Debian's
// linux-source-<major.minor>: for that, a fresh build reads the archive's
// verified index, downloads the package (checking its size and SHA256) and
// unpacks the part of the tree the build needs into a temporary directory.
// It then runs make with the kernel's BTF (out of the tree, which is only
// read), relinks every scheduler statically, and moves the binaries with a
// metadata.json into SchedDir/scx.CacheName(kernel) in one rename.
// Schedulers that fail are reported in Result.Failures; Schedulers fails
// only when none builds. The temporary tree is removed on every path.
func Schedulers(ctx context.Context, opts Options) (*Result, error) {
	k, err := kernel.Resolve(opts.KernelVersion, opts.KernelCacheDir)
	if err != nil {
		return nil, err
	}
	if k.Version == "" {
		return nil, fmt.Errorf("cannot tell the release of kernel %s; name a cached kernel", k.Image)
	}
	name := scx.CacheName(k)
	if err := scx.CheckRelease(name); err != nil {
		return nil, err
	}
	tree, err := sourceTree(opts.Source, k)
	if err != nil {
		return nil, err
	}
	schedDir := opts.SchedDir
	if schedDir == "" {
		if schedDir, err = scx.SchedDir(); err != nil {
			return nil, err
		}
	}
	if !opts.Force {
		if b, err := scx.ReadBuilt(schedDir, name); err == nil {
			opts.logf("schedulers for %s are built already in %s (--force rebuilds)", name, b.Dir)
			return &Result{Built: *b, Cached: true}, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			opts.logf("rebuilding: %v", err)
		}
	}
	if k.Vmlinux == "" || !k.HasBTF {
		return nil, fmt.Errorf("kernel %s has no vmlinux with BTF (%s); the schedulers' vmlinux.h is made from it: use a kernel from `ktstr kernel fetch`", k.Version, orNone(k.Vmlinux))
	}
	tools, err := checkTools(&opts)
	if err != nil {
		return nil, err
	}

	b := &builder{opts: opts, k: k, name: name, tree: tree, schedDir: schedDir, tools: tools, res: &Result{}}
	if err := b.run(ctx); err != nil {
		return nil, err
	}
	return b.res, nil
}

// sourceTree picks the tree to build from: dir when given, else the tree
// a kernel built from source came from; "" means the Debian package. A
// tree must have tools/sched_ext/Makefile.
func sourceTree(dir string, k *kernel.Kernel) (string, error) {
	from := ""
	if dir == "" && k.Meta != nil {
		if d, ok := k.Meta.BuildSource(); ok {
			dir, from = d, fmt.Sprintf("kernel %s was built from %s, ", k.Key, d)
		}
	}
	if dir == "" {
		return "", nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	mk := filepath.Join(abs, "tools", "sched_ext", "Makefile")
	if _, err := os.Stat(mk); err != nil {
		why := "which has no tools/sched_ext/Makefile"
		if _, derr := os.Stat(abs); errors.Is(derr, fs.ErrNotExist) {
			why = "which is gone"
		}
		if from != "" {
			return "", fmt.Errorf("%s%s; pass --source with that kernel's source tree (its tools/sched_ext is what is built)", from, why)
		}
		return "", fmt.Errorf("source tree %s: %s; pass the top of a kernel source tree (6.12 or later has tools/sched_ext)", dir, strings.TrimPrefix(why, "which "))
	}
	return abs, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// toolset is what checkTools found.
type toolset struct {
	clang, llvmStrip string
	clangVersion     string
}

// checkTools finds the compilers and make, with the install hint when one
// is missing.
func checkTools(opts *Options) (*toolset, error) {
	t := &toolset{clang: orDefault(opts.Clang, DefaultClang), llvmStrip: orDefault(opts.LLVMStrip, DefaultLLVMStrip)}
	var missing []string
	for _, name := range []string{t.clang, t.llvmStrip, "make", "cc", "python3"} {
		if _, err := exec.LookPath(name); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s not found on $PATH; install the build tools: %s", strings.Join(missing, ", "), InstallHint)
	}
	out, err := exec.Command(t.clang, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w; reinstall it: %s", t.clang, err, InstallHint)
	}
	t.clangVersion, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	return t, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// builder carries one fresh build.
type builder struct {
	opts     Options
	k        *kernel.Kernel
	name     string // the build's directory name: scx.CacheName(k)
	tree     string // a source tree on disk, or "" for the Debian package
	schedDir string
	tools    *toolset
	res      *Result
	phase    time.Time
}

func (b *builder) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	b.res.Notes = append(b.res.Notes, s)
	b.opts.logf("note: %s", s)
}

// done ends the current phase and starts the next.
func (b *builder) done(name string) {
	d := time.Since(b.phase)
	b.res.Phases = append(b.res.Phases, Phase{Name: name, Duration: d})
	b.opts.logf("%-8s %6.1fs", name, d.Seconds())
	b.phase = time.Now()
}

func (b *builder) run(ctx context.Context) error {
	b.phase = time.Now()
	work, err := os.MkdirTemp(b.opts.WorkDir, "ktstr-scx-")
	if err != nil {
		return fmt.Errorf("create a build directory: %w; set TMPDIR (or --work-dir) to a writable directory", err)
	}
	defer os.RemoveAll(work)
	out := filepath.Join(work, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return err
	}

	meta := scx.Metadata{KernelRelease: b.name, Clang: b.tools.clangVersion, Static: true}
	tree := b.tree
	if tree == "" {
		if tree, err = b.fetchSource(ctx, work, &meta); err != nil {
			return err
		}
	} else {
		meta.SourceTree = tree
		b.opts.logf("building tools/sched_ext of %s (the tree is only read)", tree)
	}

	scheds := makefileSchedulers(filepath.Join(tree, "tools", "sched_ext", "Makefile"))
	built, failures, err := b.make(ctx, tree, out, scheds)
	if err != nil {
		return err
	}
	b.res.Disk.Build = cachedir.DirSize(out)

	for _, f := range failures {
		meta.Failed = append(meta.Failed, f.Name)
	}
	bin := filepath.Join(out, "build", "bin")
	for _, n := range built {
		static, err := isStatic(filepath.Join(bin, n))
		if err != nil {
			return fmt.Errorf("check %s: %w", n, err)
		}
		meta.Static = meta.Static && static
		if !static {
			b.note("%s is not statically linked", n)
		}
	}
	meta.Binaries = built
	return b.install(bin, &meta, failures)
}

// fetchSource downloads the kernel's Debian source package and unpacks the
// part of its tree the build needs under work, recording where it came
// from in meta. It returns the tree.
func (b *builder) fetchSource(ctx context.Context, work string, meta *scx.Metadata) (string, error) {
	fe, ix, err := b.index(ctx)
	if err != nil {
		return "", err
	}
	name, _, err := sourcePackage(b.k.Version)
	if err != nil {
		return "", err
	}
	pkgVersion := ""
	if b.k.Meta != nil {
		pkgVersion = b.k.Meta.PackageVersion
	}
	src, note, err := pickSource(ix.Versions(name), b.k.Version, pkgVersion)
	if err != nil {
		return "", fmt.Errorf("%w (suite %s at %s)", err, ix.Suite, ix.Mirror)
	}
	if note != "" {
		b.note("%s", note)
	}
	b.done("index")

	tree := filepath.Join(work, "src")
	if err := os.Mkdir(tree, 0o755); err != nil {
		return "", err
	}
	b.opts.logf("downloading %s %s (%d MB) from %s", src.Name, src.Version, src.Size>>20, ix.Mirror)
	deb, err := os.Create(filepath.Join(work, "source.deb"))
	if err != nil {
		return "", err
	}
	defer deb.Close()
	fe.Progress = b.opts.Progress
	if err := fe.Download(ctx, src, deb); err != nil {
		return "", err
	}
	b.res.Disk.Deb = src.Size
	b.done("download")

	if _, err := deb.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	st, err := unpackSource(ctx, deb, "usr/src/"+src.Name+".tar.xz", tree, b.opts.FullTree)
	if err != nil {
		return "", fmt.Errorf("unpack %s %s: %w", src.Name, src.Version, err)
	}
	deb.Close()
	os.Remove(deb.Name())
	b.res.Disk.Source = st.Bytes
	b.opts.logf("unpacked %d files (%d MB) of %d entries", st.Files, st.Bytes>>20, st.Entries)
	b.done("extract")

	meta.SourcePackage, meta.SourceVersion = src.Name, src.Version
	meta.Mirror, meta.Suite, meta.ArchiveVerified = ix.Mirror, ix.Suite, ix.Verified
	return tree, nil
}

// index reads the archive's verified index.
func (b *builder) index(ctx context.Context) (*debian.Fetcher, *debian.Index, error) {
	suite := b.opts.Suite
	if suite == "" && b.k.Meta != nil {
		suite, _ = strings.CutPrefix(b.k.Meta.Source, "debian:")
		if suite == b.k.Meta.Source {
			suite = ""
		}
	}
	fe := &debian.Fetcher{Suite: suite, HTTP: b.opts.HTTP, Keyrings: b.opts.Keyrings, TempDir: b.opts.WorkDir}
	mirror, err := b.mirror(ctx, fe)
	if err != nil {
		return nil, nil, err
	}
	fe.Mirror = mirror
	ix, err := fe.Index(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !ix.Verified {
		b.note("the archive's signature was not verified (no Debian archive keyring on this host, or an unsigned archive); the download is checked against its checksums only")
	}
	return fe, ix, nil
}

// mirror picks the archive: the option, the environment, the kernel's own
// archive, then the apt sources.
func (b *builder) mirror(ctx context.Context, fe *debian.Fetcher) (string, error) {
	if b.opts.Mirror != "" {
		return b.opts.Mirror, nil
	}
	if m := os.Getenv(fetch.MirrorEnv); m != "" {
		return m, nil
	}
	if b.k.Meta != nil && b.k.Meta.Mirror != "" {
		return b.k.Meta.Mirror, nil
	}
	return fetch.AptMirror(ctx, fe, b.opts.AptDir, fe.Suite, b.opts.logf)
}

// unpackSource streams the tarball member out of the .deb and unpacks it
// into tree. The .deb's outer xz runs in its own goroutine, so on two
// cores the two decompressions overlap.
func unpackSource(ctx context.Context, deb io.Reader, member, tree string, full bool) (*extractStats, error) {
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := debian.ExtractFromDeb(deb, member, pw)
		pw.CloseWithError(err)
		errc <- err
	}()
	// A cancelled context stops the reader side.
	stop := context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
	defer stop()
	st, err := extractTree(pr, tree, full)
	if err == nil {
		// Let the outer extraction finish (the xz stream's tail).
		_, err = io.Copy(io.Discard, pr)
	}
	pr.CloseWithError(errors.New("extraction stopped"))
	if derr := <-errc; derr != nil && err == nil {
		err = derr
	}
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return st, err
}

var targetsRe = regexp.MustCompile(`(?m)^c-sched-targets\s*:?=\s*(.*)$`)

// makefileSchedulers reads the scheduler list of tools/sched_ext/Makefile,
// falling back to 7.3's.
func makefileSchedulers(makefile string) []string {
	data, err := os.ReadFile(makefile)
	if err != nil {
		return defaultSchedulers
	}
	return parseSchedulers(data)
}

func parseSchedulers(makefile []byte) []string {
	m := targetsRe.FindSubmatch(makefile)
	if m == nil {
		return defaultSchedulers
	}
	var out []string
	for _, f := range strings.Fields(string(m[1])) {
		if strings.HasPrefix(f, "scx_") {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return defaultSchedulers
	}
	return out
}

// make builds the schedulers, then relinks those that built statically.
func (b *builder) make(ctx context.Context, tree, out string, scheds []string) (built []string, failures []Failure, err error) {
	jobs := b.opts.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	vmlinux, err := filepath.Abs(b.k.Vmlinux)
	if err != nil {
		return nil, nil, err
	}
	base := []string{
		"-C", filepath.Join(tree, "tools", "sched_ext"), "-k", "-j" + strconv.Itoa(jobs),
		"CLANG=" + b.tools.clang, "LLVM_STRIP=" + b.tools.llvmStrip,
		"VMLINUX_BTF=" + vmlinux, "O=" + out,
	}
	bin := filepath.Join(out, "build", "bin")

	b.opts.logf("building %s with %s", strings.Join(scheds, " "), b.tools.clangVersion)
	output, merr := b.runMake(ctx, append(slices.Clone(base), scheds...))
	if ctx.Err() != nil {
		return nil, nil, fmt.Errorf("build interrupted: %w", ctx.Err())
	}
	dyn := present(bin, scheds)
	b.done("build")
	if len(dyn) == 0 {
		return nil, nil, buildError("make -C tools/sched_ext", merr, output)
	}
	var firstFail []Failure
	for _, s := range scheds {
		if !slices.Contains(dyn, s) {
			firstFail = append(firstFail, Failure{Name: s, Output: excerpt(output, s)})
		}
	}

	// The static relink: the objects stay, only the links are redone. Not
	// done in the first pass, since LDFLAGS on the command line would
	// reach the bpftool and libbpf sub-makes too.
	ldflags := "-static -lelf -lz -lpthread"
	var relinkOut []byte
	for attempt := 0; attempt < 2; attempt++ {
		for _, s := range dyn {
			if err := os.Remove(filepath.Join(bin, s)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, nil, err
			}
		}
		relinkOut, merr = b.runMake(ctx, append(append(slices.Clone(base), "LDFLAGS="+ldflags), dyn...))
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("static relink interrupted: %w", ctx.Err())
		}
		// Some libelf builds need zstd; add it when the link says so.
		if merr == nil || strings.Contains(ldflags, "-lzstd") || !bytes.Contains(relinkOut, []byte("ZSTD_")) {
			break
		}
		ldflags += " -lzstd"
		b.opts.logf("relinking with -lzstd")
	}
	built = present(bin, dyn)
	b.done("relink")
	if len(built) == 0 {
		return nil, nil, buildError("static relink (LDFLAGS=\""+ldflags+"\")", merr, relinkOut)
	}
	failures = firstFail
	for _, s := range dyn {
		if !slices.Contains(built, s) {
			failures = append(failures, Failure{Name: s, Output: "static link failed: " + excerpt(relinkOut, s)})
		}
	}
	slices.Sort(built)
	return built, failures, nil
}

// runMake runs make with args, returning its combined output. make and
// everything it started are killed when ctx is cancelled.
func (b *builder) runMake(ctx context.Context, args []string) ([]byte, error) {
	var out logtail.Buffer
	var w io.Writer = &out
	if b.opts.BuildLog != nil {
		w = io.MultiWriter(&out, b.opts.BuildLog)
	}
	err := kernel.RunMake(ctx, w, args...)
	return out.Bytes(), err
}

// present returns those of names that are executables in dir.
func present(dir string, names []string) []string {
	var out []string
	for _, n := range names {
		if isExecutable(filepath.Join(dir, n)) {
			out = append(out, n)
		}
	}
	return out
}

// buildError reports a build that produced nothing, with the tail of make's
// output.
func buildError(what string, err error, out []byte) error {
	if err == nil {
		err = errors.New("no scheduler binary was produced")
	}
	return fmt.Errorf("%s failed: %v; last lines of its output:\n%s\nmissing tools or libraries? %s", what, err, logtail.LastLines(out, 40), InstallHint)
}

// excerpt picks make's error lines about scheduler name (at most 12),
// else the last lines of the output.
func excerpt(out []byte, name string) string {
	var picked []string
	for _, l := range strings.Split(string(out), "\n") {
		ll := strings.ToLower(l)
		if strings.Contains(l, name) && (strings.Contains(ll, "error") || strings.Contains(ll, "undefined reference") || strings.Contains(ll, "***")) {
			picked = append(picked, strings.TrimSpace(l))
			if len(picked) == 12 {
				break
			}
		}
	}
	if len(picked) == 0 {
		return logtail.LastLines(out, 12)
	}
	return strings.Join(picked, "\n")
}

// isStatic reports whether an ELF executable needs no dynamic loader.
func isStatic(p string) (bool, error) {
	f, err := elf.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return false, err
	}
	return len(libs) == 0, nil
}

// install stores the binaries in the schedulers cache (scx.Store: one
// rename, so readers never see half a build).
func (b *builder) install(bin string, meta *scx.Metadata, failures []Failure) error {
	built, err := scx.Store(b.schedDir, *meta, func(dir string) error {
		for _, n := range meta.Binaries {
			if err := copyFile(filepath.Join(bin, n), filepath.Join(dir, n), 0o755); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.res.Built = *built
	b.res.Failures = failures
	b.res.Disk.Installed = cachedir.DirSize(built.Dir)
	b.done("install")
	return nil
}

// isExecutable reports whether p is an executable regular file, as scx
// checks the binaries of a build.
func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// copyFile copies src to the new file dst with mode.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", filepath.Base(src), err)
	}
	return nil
}
