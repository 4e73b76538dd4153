package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
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
	MetadataFile = "metadata.json"
)

// tempPrefix starts the names of directories Store is still filling. List
// skips them, and Store removes ones older than tempMaxAge (left by a
// crashed process).
const (
	tempPrefix = ".tmp-"
	oldPrefix  = ".old-"
	tempMaxAge = time.Hour
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
	if key == "" || key == "." || key == ".." || strings.ContainsAny(key, "/\\\x00") || strings.HasPrefix(key, ".") {
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
	sweep(cacheDir)
	tmp, err := os.MkdirTemp(cacheDir, tempPrefix+key+"-")
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
	js, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, MetadataFile), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("write cache metadata: %w", err)
	}
	// MkdirTemp makes the directory private; entries are ordinary files.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("cache entry %s: %w", key, err)
	}
	final := filepath.Join(cacheDir, key)
	err = os.Rename(tmp, final)
	if err == nil {
		return nil
	}
	// On Linux, renaming onto a non-empty directory fails: someone else
	// stored this key first.
	old, rerr := readEntry(cacheDir, key)
	if rerr == nil && old.PackageVersion == meta.PackageVersion {
		return nil
	}
	if _, serr := os.Lstat(final); serr != nil {
		return fmt.Errorf("move cache entry %s into place: %w", key, err)
	}
	// A different (or broken) entry of the same name: swap it out.
	aside, aerr := os.MkdirTemp(cacheDir, oldPrefix+key+"-")
	if aerr != nil {
		return fmt.Errorf("replace cache entry %s: %w", key, aerr)
	}
	defer os.RemoveAll(aside)
	if err := os.Rename(final, filepath.Join(aside, key)); err != nil {
		return fmt.Errorf("replace cache entry %s: %w; remove %s by hand", key, err, final)
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Lstat(final); serr == nil {
			return nil // a concurrent Store put its copy in between
		}
		return fmt.Errorf("move cache entry %s into place: %w", key, err)
	}
	return nil
}

// sweep removes temporary directories left by Store runs that crashed.
// Young ones may belong to a Store in progress and are left alone.
func sweep(cacheDir string) {
	ents, err := os.ReadDir(cacheDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), tempPrefix) && !strings.HasPrefix(e.Name(), oldPrefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > tempMaxAge {
			os.RemoveAll(filepath.Join(cacheDir, e.Name()))
		}
	}
}

// readEntry loads and checks one cache entry.
func readEntry(cacheDir, key string) (*Entry, error) {
	dir := filepath.Join(cacheDir, key)
	data, err := os.ReadFile(filepath.Join(dir, MetadataFile))
	if err != nil {
		return nil, err
	}
	e := &Entry{Dir: dir}
	if err := json.Unmarshal(data, &e.Metadata); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, MetadataFile), err)
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
	ents, err := os.ReadDir(cacheDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the kernel cache: %w", err)
	}
	var out []Entry
	for _, de := range ents {
		if !de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		if e, err := readEntry(cacheDir, de.Name()); err == nil {
			out = append(out, *e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].FetchedAt.Equal(out[j].FetchedAt) {
			return out[i].FetchedAt.After(out[j].FetchedAt)
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}
