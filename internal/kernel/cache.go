package kernel

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

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
	// Source says where the kernel came from: "debian:<suite>" or
	// "local:<path>".
	Source string `json:"source"`
	// Mirror is the archive URI a Debian kernel was downloaded from.
	Mirror string `json:"mirror,omitempty"`
	// FetchedAt orders entries; List returns the newest first.
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
}

// Entry is one kernel in the cache.
type Entry struct {
	// Dir is the entry's directory.
	Dir string
	Metadata
}

// CacheDir returns the kernel cache directory: $KTSTR_CACHE_DIR, else
// $XDG_CACHE_HOME/ktstr/kernels, else ~/.cache/ktstr/kernels. It does not
// create it.
func CacheDir() (string, error) {
	if d := os.Getenv("KTSTR_CACHE_DIR"); d != "" {
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
// If an entry with the same key and package version appears meanwhile (a
// concurrent fetch of the same kernel won the race), Store discards its own
// copy and succeeds: both are the same kernel. An entry of another package
// version is replaced. No temporary directory is left behind, on error
// either.
func Store(cacheDir, key string, meta Metadata, populate func(dir string, meta *Metadata) error) error {
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
	meta.Key = key
	if err := cachedir.WriteMetadata(tmp, &meta); err != nil {
		return storeError(key, err)
	}
	sameKernel := func() bool {
		old, err := readEntry(cacheDir, key)
		return err == nil && old.PackageVersion == meta.PackageVersion
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

// readEntry loads and checks one cache entry.
func readEntry(cacheDir, key string) (*Entry, error) {
	dir := filepath.Join(cacheDir, key)
	e := &Entry{Dir: dir}
	if err := cachedir.ReadMetadata(dir, &e.Metadata); err != nil {
		return nil, err
	}
	if e.Key != key {
		return nil, fmt.Errorf("%s: key %q does not match the directory name", filepath.Join(dir, MetadataFile), e.Key)
	}
	if fi, err := os.Stat(filepath.Join(dir, ImageFile)); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("cache entry %s has no %s", dir, ImageFile)
	}
	return e, nil
}

// List returns the cache's entries, newest first. Malformed entries and
// directories still being written are skipped. A missing cache directory
// is an empty cache.
func List(cacheDir string) ([]Entry, error) {
	out, err := cachedir.List(cacheDir, readEntry, func(a, b Entry) int {
		return cmp.Or(b.FetchedAt.Compare(a.FetchedAt), strings.Compare(a.Key, b.Key))
	})
	if err != nil {
		return nil, fmt.Errorf("read the kernel cache: %w", err)
	}
	return out, nil
}
