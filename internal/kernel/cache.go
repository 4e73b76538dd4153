package kernel

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
)

// Names of the files in a cache entry.
const (
	// ImageFile is the bzImage.
	ImageFile = "vmlinuz"
	// VmlinuxFile is the uncompressed ELF extracted from the bzImage.
	VmlinuxFile = "vmlinux"
	// ConfigFile is the kernel's kconfig.
	ConfigFile = "config"
	// SystemMapFile is the symbol table of a kernel built from source.
	SystemMapFile = "System.map"
	// MetadataFile describes the entry; see Metadata.
	MetadataFile = cachedir.MetadataFile
)

// Metadata is the content of an entry's metadata.json.
type Metadata struct {
	// Key is the entry's directory name, e.g. "debian-7.3.4+deb13-amd64".
	Key string `json:"key"`
	// Version is the kernel release (uname -r).
	Version string `json:"version"`
	// PackageVersion is the Debian package version, e.g. "7.3.4-1~bpo13+1".
	PackageVersion string `json:"package_version,omitempty"`
	// Source says where the kernel came from: "debian:<suite>",
	// "build:<source tree>" or "local:<path>".
	Source string `json:"source"`
	// Mirror is the archive URI a Debian kernel was downloaded from.
	Mirror string `json:"mirror,omitempty"`
	// FetchedAt is when the entry was stored (fetched or built); it
	// orders entries, and List returns the newest first.
	FetchedAt time.Time `json:"fetched_at"`
	// SchedExt reports CONFIG_SCHED_CLASS_EXT=y in the config.
	SchedExt bool `json:"sched_ext"`
	// BTF reports a .BTF section in the vmlinux.
	BTF bool `json:"btf"`
	// PVH reports the PVH entry note in the vmlinux.
	PVH bool `json:"pvh"`
	// SHA256 is the hex digest of the vmlinuz file.
	SHA256 string `json:"sha256"`
	// ArchiveVerified reports that the archive's OpenPGP signature was
	// checked; false means only checksums protected the download.
	ArchiveVerified bool `json:"archive_verified"`
	// SourceState, for a kernel built from a source tree, names the
	// state of the tree's files it was built from: "g<commit>",
	// "g<commit>-dirty-<hash>" or "tree-<hash>" (see srctree.State).
	SourceState string `json:"source_state,omitempty"`
	// BaseConfig, for a kernel built from source, says where its config
	// started before the sched_ext fragment was merged in: "the tree's
	// .config", "--config <file>" or "make <target>".
	BaseConfig string `json:"base_config,omitempty"`
	// ConfigHash, for a kernel built from source, is kconfig.Hash of its
	// final config.
	ConfigHash string `json:"config_hash,omitempty"`
	// Files records the size, time and SHA-256 of every file of the
	// entry, checked on every use (size and time) and by Verify (hash).
	// Entries stored by older versions have none and go unchecked.
	Files cachedir.Files `json:"files,omitempty"`
}

// Entry is one kernel in the cache.
type Entry struct {
	// Dir is the entry's directory.
	Dir string
	Metadata
	// Damage, when not nil, says why the entry cannot be used: its
	// metadata is unreadable, or a file is missing, cut short or changed
	// (a *cachedir.DamageError). Only Dir and Key are known then, and
	// FetchedAt is the directory's time.
	Damage error
}

// Unchecked reports whether the entry records no file checksums (it was
// stored by an older version), so damage to it cannot be told.
func (e *Entry) Unchecked() bool { return e.Damage == nil && len(e.Files) == 0 }

// BuildSource returns the source tree a kernel built by Build came from;
// ok is false for other kernels.
func (m *Metadata) BuildSource() (dir string, ok bool) {
	return strings.CutPrefix(m.Source, buildSourcePrefix)
}

// buildSourcePrefix starts Metadata.Source of a kernel built from source.
const buildSourcePrefix = "build:"

// FromArchive reports whether the entry came from the Debian archive, so
// that it can be fetched again (package fetch). An entry whose metadata is
// unreadable tells by its key.
func (e *Entry) FromArchive() bool {
	if e.Source != "" {
		return strings.HasPrefix(e.Source, "debian:")
	}
	return strings.HasPrefix(e.Key, "debian-")
}

// CacheDir returns the kernel cache directory: $KTSTR_CACHE_DIR, else
// $XDG_CACHE_HOME/ktstr/kernels, else ~/.cache/ktstr/kernels. It does not
// create it.
func CacheDir() (string, error) {
	if d := os.Getenv(env.CacheDir); d != "" {
		return d, nil
	}
	// The XDG spec says to ignore a relative XDG_CACHE_HOME.
	if x := os.Getenv("XDG_CACHE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "ktstr", "kernels"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", fmt.Errorf("cannot place the kernel cache: no home directory (%v); set KTSTR_CACHE_DIR", err)
	}
	return filepath.Join(home, ".cache", "ktstr", "kernels"), nil
}

// checkKey rejects keys that are not a plain directory name.
func checkKey(key string) error {
	if !cachedir.ValidName(key) {
		return fmt.Errorf("invalid cache key %q: it must be a plain file name not starting with a dot", key)
	}
	return nil
}

// Store adds an entry named key to the cache. populate writes the entry's
// files (at least ImageFile) into the directory it is given and may complete
// the metadata (hashes, features found); Store then writes it, with Key set,
// as MetadataFile and moves the directory into place with one rename, so
// readers never see a half-written entry.
//
// If an intact entry with the same key and package version appears
// meanwhile (a concurrent fetch of the same kernel won the race), Store
// discards its own copy and succeeds: both are the same kernel. An entry of
// another package version, a damaged one or one without checksums is
// replaced. No temporary directory is left behind, on error
// either.
func Store(cacheDir, key string, meta Metadata, populate func(dir string, meta *Metadata) error) error {
	return store(cacheDir, key, meta, populate, false)
}

// store is Store; with replace set an intact entry of the same key and
// package version is replaced too (a rebuild asked for with --force).
func store(cacheDir, key string, meta Metadata, populate func(dir string, meta *Metadata) error, replace bool) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return fmt.Errorf("create the kernel cache: %w; set KTSTR_CACHE_DIR to a writable directory", err)
	}
	cachedir.Sweep(cacheDir)
	tmp, err := cachedir.NewTemp(cacheDir, key)
	if err != nil {
		return fmt.Errorf("create a directory in the kernel cache: %w; set KTSTR_CACHE_DIR to a writable directory", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed into place
	if err := populate(tmp, &meta); err != nil {
		return err
	}
	if fi, err := os.Stat(filepath.Join(tmp, ImageFile)); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("cache entry %s: no %s was written (internal error)", key, ImageFile)
	}
	files, err := cachedir.Record(tmp)
	if err != nil {
		return fmt.Errorf("cache entry %s: %w", key, err)
	}
	meta.Key, meta.Files = key, files
	if meta.SHA256 == "" {
		meta.SHA256 = files[ImageFile].SHA256
	}
	if err := cachedir.WriteMetadata(tmp, &meta); err != nil {
		return storeError(key, err)
	}
	// An intact entry of the same kernel (a concurrent fetch won the race)
	// stands; a damaged one, or one without checksums, is replaced.
	sameKernel := func() bool {
		if replace {
			return false
		}
		old, err := ReadEntry(cacheDir, key)
		return err == nil && old.PackageVersion == meta.PackageVersion &&
			len(old.Files) > 0 && old.Files.Verify(old.Dir, true) == nil
	}
	return storeError(key, cachedir.Install(cacheDir, tmp, key, sameKernel))
}

// storeError words a cachedir failure to store entry key in the terms this
// package has always used, which users (and their scripts) know.
func storeError(key string, err error) error {
	var ce *cachedir.Error
	if !errors.As(err, &ce) {
		return err
	}
	switch ce.Op {
	case cachedir.OpWrite:
		return fmt.Errorf("write cache metadata: %w", ce.Err)
	case cachedir.OpChmod:
		return fmt.Errorf("cache entry %s: %w", key, ce.Err)
	case cachedir.OpMove:
		return fmt.Errorf("move cache entry %s into place: %w", key, ce.Err)
	case cachedir.OpAside:
		return fmt.Errorf("replace cache entry %s: %w", key, ce.Err)
	case cachedir.OpReplace:
		return fmt.Errorf("replace cache entry %s: %w; remove %s by hand", key, ce.Err, ce.Path)
	}
	return err
}

// ReadEntry loads the cache entry key and checks it quickly: its metadata,
// and the size and time of every file it records. Damage is a
// *cachedir.DamageError; a missing metadata file is fs.ErrNotExist,
// unwrapped. (Package fetch uses it to tell whether a kernel is cached.)
func ReadEntry(cacheDir, key string) (*Entry, error) {
	dir := filepath.Join(cacheDir, key)
	e := &Entry{Dir: dir}
	if err := cachedir.ReadMetadata(dir, &e.Metadata); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, cachedir.Damaged(dir, "%v", err)
	}
	if e.Key != key {
		return nil, cachedir.Damaged(dir, "%s: key %q does not match the directory name", MetadataFile, e.Key)
	}
	if len(e.Files) > 0 {
		if err := e.Files.Verify(dir, false); err != nil {
			return nil, err
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, ImageFile)); err != nil || !fi.Mode().IsRegular() {
		return nil, cachedir.Damaged(dir, "%s: missing", ImageFile)
	}
	return e, nil
}

// brokenEntry stands for an entry ReadEntry failed on, in List.
func brokenEntry(cacheDir, key string, err error) Entry {
	dir := filepath.Join(cacheDir, key)
	e := Entry{Dir: dir, Damage: err}
	e.Key = key
	if errors.Is(err, fs.ErrNotExist) {
		e.Damage = cachedir.Damaged(dir, "%s: missing", MetadataFile)
	}
	var partial Metadata // what can still be read tells the user which kernel it was
	if cachedir.ReadMetadata(dir, &partial) == nil && partial.Key == key {
		e.Metadata = partial
	}
	if fi, err := os.Stat(dir); err == nil && e.FetchedAt.IsZero() {
		e.FetchedAt = fi.ModTime().UTC()
	}
	return e
}

// List returns the cache's entries, newest first, each checked quickly:
// damaged ones are listed too, with Damage set, so that a broken kernel
// is reported rather than silently passed over. Directories still being
// written are skipped. A missing cache directory is an empty cache.
func List(cacheDir string) ([]Entry, error) {
	out, err := cachedir.List(cacheDir, ReadEntry, brokenEntry, func(a, b Entry) int {
		return cmp.Or(b.FetchedAt.Compare(a.FetchedAt), strings.Compare(a.Key, b.Key))
	})
	if err != nil {
		return nil, fmt.Errorf("read the kernel cache: %w", err)
	}
	return out, nil
}

// ErrUnchecked is what [Verify] wraps for an entry that records no
// checksums (stored by an older ktstr): it can be used but not verified,
// and storing it again adds them.
var ErrUnchecked = errors.New("records no checksums (stored by an older ktstr)")

// Verify checks the entry key fully: its metadata, and the SHA-256 of every
// file it records. It returns nil for an intact entry, a
// *cachedir.DamageError for a damaged one, an error wrapping ErrUnchecked
// for one that records no checksums, and another error when the entry
// does not exist.
func Verify(cacheDir, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	e, err := ReadEntry(cacheDir, key)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(filepath.Join(cacheDir, key)); serr != nil {
			return fmt.Errorf("no cache entry %s in %s", key, cacheDir)
		}
		return cachedir.Damaged(filepath.Join(cacheDir, key), "%s: missing", MetadataFile)
	}
	if err != nil {
		return err
	}
	if len(e.Files) == 0 {
		return fmt.Errorf("cache entry %s %w; to store it again with them, %s", key, ErrUnchecked, e.RepairHint())
	}
	return e.Files.Verify(e.Dir, true)
}

// DamagedError is returned when the kernel asked for is damaged in the
// cache. It says how to repair it.
type DamagedError struct {
	// Entry is the damaged entry; Entry.Damage says what is wrong.
	Entry Entry
}

// Error names the entry, what is wrong and what to do.
func (e *DamagedError) Error() string {
	return fmt.Sprintf("kernel cache entry %s is damaged, not booted: %s; %s", e.Entry.Key, problems(e.Entry.Damage), e.Entry.RepairHint())
}

// Unwrap returns the damage.
func (e *DamagedError) Unwrap() error { return e.Entry.Damage }

// problems returns what a damage error lists, without the directory.
func problems(err error) string {
	var d *cachedir.DamageError
	if errors.As(err, &d) {
		return strings.Join(d.Problems, "; ")
	}
	return err.Error()
}

// RepairHint says how to repair the entry.
func (e *Entry) RepairHint() string {
	if e.FromArchive() {
		// Not `ktstr kernel fetch --force`: that fetches the newest
		// kernel, which this one may no longer be.
		return "run `ktstr kernel verify --repair " + e.Key + "` to fetch it again"
	}
	if dir, ok := e.BuildSource(); ok {
		return "run `ktstr kernel build --source " + dir + " --force` (with the config options it was built with) to build it again, or `ktstr kernel clean " + e.Key + "` to remove it"
	}
	return "remove " + e.Dir + " and store the kernel again"
}

// Verify checks a kernel from the cache fully, as the package-level Verify
// does; a kernel from outside the cache has nothing recorded and passes.
func (k *Kernel) Verify() error {
	if k.Key == "" {
		return nil
	}
	dir := filepath.Dir(k.Image)
	return Verify(filepath.Dir(dir), k.Key)
}

// Entry returns the cache entry the kernel came from, for a report of its
// damage or its repair; ok is false for a kernel from outside the cache.
func (k *Kernel) Entry() (e Entry, ok bool) {
	if k.Key == "" || k.Meta == nil {
		return Entry{}, false
	}
	return Entry{Dir: filepath.Dir(k.Image), Metadata: *k.Meta}, true
}
