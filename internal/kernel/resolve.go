package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ktstr-go/ktstr/internal/kernel/image"
	"github.com/ktstr-go/ktstr/internal/kernel/kconfig"
)

// Support says whether a kernel has a feature, when that can be told.
type Support int8

// Support values.
const (
	// SupportUnknown: no config to tell from.
	SupportUnknown Support = iota
	// SupportNo: the config lacks the option.
	SupportNo
	// SupportYes: the option is built in.
	SupportYes
)

// String returns "yes", "no" or "unknown".
func (s Support) String() string {
	switch s {
	case SupportNo:
		return "no"
	case SupportYes:
		return "yes"
	}
	return "unknown"
}

// Kernel is a resolved kernel: the files to boot and what they support.
type Kernel struct {
	// Key is the cache key, or "" for a kernel outside the cache.
	Key string
	// Version is the kernel release, e.g. "7.3.4+deb13-amd64"; "" if it
	// could not be read.
	Version string
	// Image is a bootable image: the bzImage, or the vmlinux ELF when that
	// is all there is (QEMU boots an ELF with a PVH note directly).
	Image string
	// Vmlinux is the uncompressed ELF (symbols, BTF), or "".
	Vmlinux string
	// Config is the kconfig file, or "".
	Config string
	// SchedExt says whether CONFIG_SCHED_CLASS_EXT=y.
	SchedExt Support
	// HasBTF and HasPVH describe Vmlinux (false when there is none).
	HasBTF, HasPVH bool
	// Source is "debian:<suite>" or "local:<path>".
	Source string
	// Meta is the cache metadata; nil outside the cache.
	Meta *Metadata
	// Notes are what a person should know about the choice, one line each:
	// e.g. that a source tree's build in the cache is stale.
	Notes []string
}

// BootImage returns what to pass to QEMU's -kernel: the vmlinux when it has
// a PVH note (it skips the bzImage's decompressor and real-mode setup, about
// 0.75 s under TCG), else Image.
func (k *Kernel) BootImage() string {
	if k.HasPVH && k.Vmlinux != "" {
		return k.Vmlinux
	}
	return k.Image
}

// fetchHint ends every resolution error.
const fetchHint = "run `ktstr kernel fetch` to download one"

// NoKernelError is what Resolve returns when it was given no kernel and the
// cache holds none: there is nothing to boot until one is fetched.
type NoKernelError struct {
	// CacheDir is the cache that was looked in.
	CacheDir string
}

func (e *NoKernelError) Error() string {
	return fmt.Sprintf("no kernel given and none in the cache (%s); name a kernel image or source tree, or %s", e.CacheDir, fetchHint)
}

// Resolve finds the kernel spec names. spec may be:
//   - "": the newest kernel in the cache;
//   - a built kernel source tree (with arch/x86/boot/bzImage, and
//     optionally vmlinux and .config);
//   - a cache entry directory;
//   - a kernel image file: a bzImage or a vmlinux ELF;
//   - a cache key, e.g. "debian-7.3.4+deb13-amd64";
//   - a version prefix, e.g. "7.3" or "7.3.4", matched against cached
//     kernel releases (the newest match wins).
//
// cacheDir "" means CacheDir(). When nothing matches, the error lists each
// interpretation tried and why it failed.
func Resolve(spec, cacheDir string) (*Kernel, error) {
	if cacheDir == "" {
		d, err := CacheDir()
		if err != nil {
			return nil, err
		}
		cacheDir = d
	}
	if spec == "" {
		entries, err := List(cacheDir)
		if err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			return nil, &NoKernelError{CacheDir: cacheDir}
		}
		return entries[0].use()
	}

	var tried []string
	if _, err := os.Stat(spec); err == nil {
		k, err := resolvePath(spec, cacheDir)
		var damaged *DamagedError
		if err == nil || errors.As(err, &damaged) {
			return k, err
		}
		tried = append(tried, fmt.Sprintf("as a path: %v", err))
	} else if errors.Is(err, fs.ErrNotExist) {
		tried = append(tried, fmt.Sprintf("as a path: no file or directory %s", spec))
	} else {
		tried = append(tried, fmt.Sprintf("as a path: %v", err))
	}

	entries, err := List(cacheDir)
	if err != nil {
		return nil, err
	}
	var keys, versions []string
	for i := range entries {
		if entries[i].Key == spec {
			return entries[i].use()
		}
		keys = append(keys, entries[i].Key)
		versions = append(versions, entries[i].Version)
	}
	if len(entries) == 0 {
		tried = append(tried, fmt.Sprintf("as a cache key or version: the cache (%s) is empty", cacheDir))
	} else {
		tried = append(tried, fmt.Sprintf("as a cache key: none of %s", strings.Join(keys, ", ")))
		for i := range entries { // newest first
			if versionHasPrefix(entries[i].Version, spec) {
				return entries[i].use()
			}
		}
		tried = append(tried, fmt.Sprintf("as a version prefix: no cached version (%s) starts with %q", strings.Join(versions, ", "), spec))
	}
	return nil, fmt.Errorf("no kernel matches %q; tried it\n  - %s\n%s", spec, strings.Join(tried, "\n  - "), fetchHint)
}

// versionHasPrefix matches "7.3" against "7.3.4+deb13-amd64" but not
// against "7.30.1".
func versionHasPrefix(version, prefix string) bool {
	rest, ok := strings.CutPrefix(version, prefix)
	return ok && (rest == "" || !isDigit(rest[0]) || !isDigit(prefix[len(prefix)-1]))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// use returns the entry's kernel, or a *DamagedError when it is damaged.
func (e *Entry) use() (*Kernel, error) {
	if e.Damage != nil {
		return nil, &DamagedError{Entry: *e}
	}
	return e.Kernel(), nil
}

// Kernel turns a cache entry into a Kernel.
func (e *Entry) Kernel() *Kernel {
	meta := e.Metadata
	k := &Kernel{
		Key:     e.Key,
		Version: e.Version,
		Image:   filepath.Join(e.Dir, ImageFile),
		HasBTF:  e.BTF,
		HasPVH:  e.PVH,
		Source:  e.Source,
		Meta:    &meta,
	}
	if p := filepath.Join(e.Dir, VmlinuxFile); isFile(p) {
		k.Vmlinux = p
	} else {
		k.HasBTF, k.HasPVH = false, false
	}
	if p := filepath.Join(e.Dir, ConfigFile); isFile(p) {
		k.Config = p
		k.SchedExt = SupportNo
		if e.SchedExt {
			k.SchedExt = SupportYes
		}
	}
	return k
}

// resolvePath handles a spec naming an existing file or directory.
func resolvePath(p, cacheDir string) (*Kernel, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		if isFile(filepath.Join(abs, MetadataFile)) {
			e, err := ReadEntry(filepath.Dir(abs), filepath.Base(abs))
			if err != nil {
				b := brokenEntry(filepath.Dir(abs), filepath.Base(abs), err)
				return nil, &DamagedError{Entry: b}
			}
			return e.Kernel(), nil
		}
		return resolveTree(abs, cacheDir)
	}
	// A bzImage inside a tree: use the whole tree (vmlinux, .config).
	if strings.HasSuffix(abs, filepath.Join("arch", "x86", "boot", "bzImage")) {
		root := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(abs))))
		if isFile(filepath.Join(root, "Makefile")) {
			return resolveTree(root, cacheDir)
		}
	}
	return resolveFile(abs)
}

// resolveTree handles a kernel source tree: one built in place boots its
// own arch/x86/boot/bzImage, as always; one without boots its build from
// the cache (ktstr kernel build --source), the one of the tree as it is
// now, else the newest, with a note that it is stale. Either way a note
// says when the cache's builds of the tree are stale.
func resolveTree(dir, cacheDir string) (*Kernel, error) {
	bz := filepath.Join(dir, "arch", "x86", "boot", "bzImage")
	builds := cachedBuilds(cacheDir, dir)
	if !isFile(bz) {
		if len(builds) == 0 {
			return nil, fmt.Errorf("directory %s has no arch/x86/boot/bzImage and the cache no build of it: not a built kernel tree (run `ktstr kernel build --source %s`, or make there) nor a cache entry", dir, dir)
		}
		pick := pickBuild(dir, builds)
		k := pick.entry.Kernel()
		k.Notes = append(k.Notes, pick.note)
		return k, nil
	}
	info, err := image.Inspect(bz)
	if err != nil {
		return nil, err
	}
	k := &Kernel{Image: bz, Version: info.Version, Source: "local:" + dir}
	// The build writes the exact release here; the banner can be cut short.
	if rel, err := os.ReadFile(filepath.Join(dir, "include", "config", "kernel.release")); err == nil {
		k.Version = strings.TrimSpace(string(rel))
	}
	if err := addVmlinux(k, filepath.Join(dir, "vmlinux")); err != nil {
		return nil, err
	}
	if err := addConfig(k, filepath.Join(dir, ".config")); err != nil {
		return nil, err
	}
	if len(builds) > 0 {
		if pick := pickBuild(dir, builds); pick.stale {
			k.Notes = append(k.Notes, pick.note+"; this run boots the tree's own arch/x86/boot/bzImage")
		}
	}
	return k, nil
}

// resolveFile handles a lone image file, looking for its config beside it:
// "config-<release>" next to "vmlinuz-<release>" (the /boot layout),
// ".config" or "config".
func resolveFile(p string) (*Kernel, error) {
	info, err := image.Inspect(p)
	if err != nil {
		return nil, err
	}
	k := &Kernel{Image: p, Version: info.Version, Source: "local:" + p}
	if info.Kind == image.KindELF {
		k.Vmlinux, k.HasBTF, k.HasPVH = p, info.HasBTF, info.HasPVH
	} else if err := addVmlinux(k, filepath.Join(filepath.Dir(p), "vmlinux")); err != nil {
		return nil, err
	}
	dir, base := filepath.Dir(p), filepath.Base(p)
	var configs []string
	for _, prefix := range []string{"vmlinuz-", "vmlinux-", "bzImage-"} {
		if rel, ok := strings.CutPrefix(base, prefix); ok {
			configs = append(configs, filepath.Join(dir, "config-"+rel))
		}
	}
	configs = append(configs, filepath.Join(dir, ".config"), filepath.Join(dir, ConfigFile))
	for _, c := range configs {
		if isFile(c) {
			return k, addConfig(k, c)
		}
	}
	return k, nil
}

// addVmlinux records the ELF at p if there is one.
func addVmlinux(k *Kernel, p string) error {
	if !isFile(p) {
		return nil
	}
	info, err := image.Inspect(p)
	if err != nil {
		return err
	}
	if info.Kind != image.KindELF {
		return fmt.Errorf("%s is not an ELF file; remove it or rebuild the kernel", p)
	}
	k.Vmlinux, k.HasBTF, k.HasPVH = p, info.HasBTF, info.HasPVH
	return nil
}

// addConfig records the config at p, if present, and what it says about
// sched_ext.
func addConfig(k *Kernel, p string) error {
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read kernel config: %w", err)
	}
	k.Config = p
	k.SchedExt = SupportNo
	if kconfig.Enabled(data, "CONFIG_SCHED_CLASS_EXT") {
		k.SchedExt = SupportYes
	}
	return nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
