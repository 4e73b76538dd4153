// Package scx finds the Linux kernel's example sched_ext schedulers
// (tools/sched_ext: scx_simple, scx_qmap, scx_central, ...) for a test run,
// and keeps the cache they are built into, one directory per kernel. The
// build itself, from a source tree or Debian's linux-source package, is
// package build: it downloads and decompresses, which test binaries, booting
// as a VM's init, must not link.
package scx

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/internal/env"

	"github.com/ktstr-go/ktstr/internal/cachedir"
	"github.com/ktstr-go/ktstr/internal/kernel"
)

// Environment variables.
const (
	// SchedDirEnv overrides the schedulers cache directory.
	SchedDirEnv = env.SchedDir
	// SchedulerEnv names a directory Find looks in before the cache.
	SchedulerEnv = env.Scheduler
)

// MetadataFile describes a build directory; see Metadata.
const MetadataFile = cachedir.MetadataFile

// Metadata is the content of a build directory's metadata.json.
type Metadata struct {
	// KernelRelease is the kernel the schedulers were built against (its
	// BTF made vmlinux.h): its release, e.g. "7.3.4+deb13-amd64", or the
	// cache key of a kernel built from source (see CacheName); also the
	// directory name.
	KernelRelease string `json:"kernel_release"`
	// SourcePackage and SourceVersion name the Debian source package
	// built, e.g. "linux-source-7.3" "7.3.4-1~bpo13+1"; empty for a build
	// from a source tree.
	SourcePackage string `json:"source_package"`
	SourceVersion string `json:"source_version"`
	// SourceTree is the kernel source tree built from, when it was not a
	// Debian package.
	SourceTree string `json:"source_tree,omitempty"`
	// Mirror and Suite say where the source came from.
	Mirror string `json:"mirror,omitempty"`
	Suite  string `json:"suite,omitempty"`
	// ArchiveVerified reports that the archive's OpenPGP signature was
	// checked; false means only checksums protected the download.
	ArchiveVerified bool `json:"archive_verified"`
	// BuiltAt orders builds; List returns the newest first.
	BuiltAt time.Time `json:"built_at"`
	// Binaries lists the scheduler binaries in the directory, sorted.
	Binaries []string `json:"binaries"`
	// Failed lists schedulers of the source tree that did not build.
	Failed []string `json:"failed,omitempty"`
	// Clang is the first line of `clang --version` of the compiler used.
	Clang string `json:"clang"`
	// Static reports that every binary is statically linked.
	Static bool `json:"static"`
	// Files records the size, time and SHA-256 of every binary, checked
	// on every use (size and time) and by Verify (hash). Builds made by
	// older versions have none and go unchecked.
	Files cachedir.Files `json:"files,omitempty"`
}

// Built is one build directory in the cache.
type Built struct {
	// Dir holds the binaries and metadata.json.
	Dir string
	Metadata
	// Damage, when not nil, says why List could not use the build: its
	// metadata is unreadable or a binary is missing or changed. Only Dir
	// and KernelRelease are known then.
	Damage error
}

// Path returns the path of binary name in the build.
func (b *Built) Path(name string) string { return filepath.Join(b.Dir, name) }

// Has reports whether the build has binary name.
func (b *Built) Has(name string) bool {
	for _, n := range b.Binaries {
		if n == name {
			return isExecutable(b.Path(name))
		}
	}
	return false
}

// SchedDir returns the schedulers cache: $KTSTR_SCHED_DIR, else
// "schedulers" beside the kernel cache (~/.cache/ktstr/schedulers by
// default). It does not create it.
func SchedDir() (string, error) {
	if d := os.Getenv(SchedDirEnv); d != "" {
		return d, nil
	}
	kc, err := kernel.CacheDir()
	if err != nil {
		return "", fmt.Errorf("%w (or set %s)", err, SchedDirEnv)
	}
	return filepath.Join(filepath.Dir(kc), "schedulers"), nil
}

// CacheName is the directory of the schedulers cache that holds the
// schedulers built for k: its release for a kernel from an archive, its
// cache key for one built from a source tree, since two trees (or configs)
// of one release are different kernels with different BTF.
func CacheName(k *kernel.Kernel) string {
	if k.Meta != nil && k.Key != "" {
		if _, ok := k.Meta.BuildSource(); ok {
			return k.Key
		}
	}
	return k.Version
}

// CheckRelease rejects a kernel release (or CacheName) that is not a plain
// directory name, so that a build can refuse it before it starts.
func CheckRelease(rel string) error {
	if !cachedir.ValidName(rel) {
		return fmt.Errorf("kernel release %q cannot name a directory", rel)
	}
	return nil
}

// ReadBuilt loads the build for kernel release rel from schedDir and checks
// it quickly (the size and time of every binary it records). It fails when
// the directory or its metadata is missing (fs.ErrNotExist) or the build is
// damaged (a *cachedir.DamageError whose message says to rebuild).
func ReadBuilt(schedDir, rel string) (*Built, error) {
	if err := CheckRelease(rel); err != nil {
		return nil, err
	}
	dir := filepath.Join(schedDir, rel)
	b := &Built{Dir: dir}
	if err := cachedir.ReadMetadata(dir, &b.Metadata); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, damaged(cachedir.Damaged(dir, "%v", err))
	}
	if b.KernelRelease != rel {
		return nil, damaged(cachedir.Damaged(dir, "%s: kernel release %q does not match the directory name", MetadataFile, b.KernelRelease))
	}
	if len(b.Binaries) == 0 {
		return nil, damaged(cachedir.Damaged(dir, "%s lists no binaries", MetadataFile))
	}
	if len(b.Files) > 0 {
		if err := b.Files.Verify(dir, false); err != nil {
			return nil, damaged(err)
		}
	}
	for _, n := range b.Binaries {
		if !isExecutable(filepath.Join(dir, n)) {
			return nil, damaged(cachedir.Damaged(dir, "%s, which the metadata lists, is missing or not executable", n))
		}
	}
	return b, nil
}

// rebuildHint ends the message of a damaged build.
const rebuildHint = "run `ktstr sched build --force` to build it again"

// damaged adds the repair hint to a damage error, keeping its type.
func damaged(err error) error {
	var d *cachedir.DamageError
	if errors.As(err, &d) {
		d.Problems = append(d.Problems, rebuildHint)
	}
	return err
}

// Verify checks the build for kernel release rel fully: its metadata and
// the SHA-256 of every binary. It returns nil for an intact build, a
// *cachedir.DamageError for a damaged one, and another error when there is
// no build or it records no checksums.
func Verify(schedDir, rel string) error {
	b, err := ReadBuilt(schedDir, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no build for kernel %s in %s", rel, schedDir)
	}
	if err != nil {
		return err
	}
	if len(b.Files) == 0 {
		return fmt.Errorf("build %s records no checksums (made by an older ktstr); %s", b.Dir, rebuildHint)
	}
	return damaged(b.Files.Verify(b.Dir, true))
}

// List returns the builds in schedDir, newest first, each checked quickly.
// Damaged builds are listed too, with Damage set; directories being
// written are skipped; a missing directory is empty.
func List(schedDir string) ([]Built, error) {
	broken := func(dir, rel string, err error) Built {
		b := Built{Dir: filepath.Join(dir, rel), Damage: err}
		b.KernelRelease = rel
		if errors.Is(err, fs.ErrNotExist) {
			b.Damage = damaged(cachedir.Damaged(b.Dir, "%s: missing", MetadataFile))
		}
		return b
	}
	out, err := cachedir.List(schedDir, ReadBuilt, broken, func(a, b Built) int {
		return cmp.Or(b.BuiltAt.Compare(a.BuiltAt), strings.Compare(b.KernelRelease, a.KernelRelease))
	})
	if err != nil {
		return nil, fmt.Errorf("read the schedulers cache: %w", err)
	}
	return out, nil
}

// Store adds a build to the cache as schedDir/<meta.KernelRelease>,
// replacing any build of that release. populate copies the binaries
// meta.Binaries lists into the directory it is given; Store records their
// checksums, sets BuiltAt, writes the metadata and moves the directory into
// place with one rename, so readers never see half a build. It returns the
// build as ReadBuilt reads it back.
func Store(schedDir string, meta Metadata, populate func(dir string) error) (*Built, error) {
	rel := meta.KernelRelease
	if err := CheckRelease(rel); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(schedDir, 0o755); err != nil {
		return nil, fmt.Errorf("create the schedulers cache: %w; set %s to a writable directory", err, SchedDirEnv)
	}
	cachedir.Sweep(schedDir)
	tmp, err := cachedir.NewTemp(schedDir, rel)
	if err != nil {
		return nil, fmt.Errorf("create a directory in the schedulers cache: %w; set %s to a writable directory", err, SchedDirEnv)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := populate(tmp); err != nil {
		return nil, err
	}
	meta.BuiltAt = time.Now().UTC()
	if meta.Files, err = cachedir.Record(tmp); err != nil {
		return nil, err
	}
	if err := writeMetadata(tmp, &meta); err != nil {
		return nil, err
	}
	if err := install(schedDir, tmp, rel); err != nil {
		return nil, err
	}
	b, err := ReadBuilt(schedDir, rel)
	if err != nil {
		return nil, fmt.Errorf("read back the build: %w", err)
	}
	return b, nil
}

// install moves a filled temporary directory into place as
// schedDir/<rel>, with one rename so readers never see half a build. An
// existing build of that release is replaced.
func install(schedDir, tmp, rel string) error {
	return cacheError(cachedir.Install(schedDir, tmp, rel, nil))
}

// writeMetadata writes meta as dir/metadata.json.
func writeMetadata(dir string, meta *Metadata) error {
	return cacheError(cachedir.WriteMetadata(dir, meta))
}

// cacheError words a cachedir failure to install a build in the terms this
// package has always used, which users (and their scripts) know.
func cacheError(err error) error {
	var ce *cachedir.Error
	if !errors.As(err, &ce) {
		return err
	}
	switch ce.Op {
	case cachedir.OpWrite:
		return fmt.Errorf("write metadata: %w", ce.Err)
	case cachedir.OpChmod:
		return ce.Err
	case cachedir.OpMove:
		return fmt.Errorf("move the build into place: %w", ce.Err)
	case cachedir.OpAside:
		return fmt.Errorf("replace %s: %w", ce.Path, ce.Err)
	case cachedir.OpReplace:
		return fmt.Errorf("replace %s: %w; remove it by hand", ce.Path, ce.Err)
	}
	return err
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
