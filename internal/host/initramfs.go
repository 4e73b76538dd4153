package host

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ktstr-go/ktstr/internal/initramfs"
	"github.com/ktstr-go/ktstr/internal/layout"
	"github.com/ktstr-go/ktstr/payload"
)

type builtInitrd struct {
	path string
	size int64
	// libraryPath lists guest directories of libraries the loader finds
	// only through LD_LIBRARY_PATH (found on the host that way too).
	libraryPath []string
}

// buildInitramfs returns the initramfs for this test binary, scheduler and
// payloads: the binary as /init with its shared libraries, the scheduler's
// and each payload's binary with their own, the scheduler's files, the
// job's included files (keyed by guest path), and the kernel's
// configuration (kconfig, the host file; "" when unknown).
func buildInitramfs(s Scheduler, kconfig string, files map[string]string, payloads ...payload.Payload) (*builtInitrd, error) {
	b, err := initramfsBuilder(s, payloads...)
	if err != nil {
		return nil, err
	}
	if err := addIncludes(b, files); err != nil {
		return nil, err
	}
	if kconfig != "" {
		if err := b.AddFile(layout.Archive(layout.KernelConfig), kconfig, 0o644); err != nil {
			return nil, fmt.Errorf("packing the kernel configuration: %w", err)
		}
	}
	key, err := b.Digest()
	if err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	// One build at a time: parallel tests of one binary want the same
	// archive, and the second should wait and reuse it.
	scratch.build.Lock()
	defer scratch.build.Unlock()
	scratch.mu.Lock()
	if r, ok := scratch.initrds[key]; ok {
		scratch.mu.Unlock()
		return r, nil
	}
	scratch.mu.Unlock()
	dir, err := scratchDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "initramfs-"+key[:16]+".cpio")
	r, err := writeInitramfs(b, path)
	if err != nil {
		return nil, err
	}
	scratch.mu.Lock()
	defer scratch.mu.Unlock()
	if scratch.initrds == nil {
		scratch.initrds = map[string]*builtInitrd{}
	}
	scratch.initrds[key] = r
	return r, nil
}

func initramfsBuilder(s Scheduler, payloads ...payload.Payload) (*initramfs.Builder, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("initramfs: finding the test binary: %w", err)
	}
	b := initramfs.NewBuilder()
	for _, d := range []string{"dev", "proc", "sys", "tmp", "run", layout.Archive(layout.Bin)} {
		if err := b.AddDir(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := b.AddBinary("init", self); err != nil {
		return nil, fmt.Errorf("packing the test binary as the guest's /init: %w", err)
	}
	if !s.EEVDF() {
		if err := b.AddBinary(layout.Archive(layout.SchedulerPath(s.Path)), s.Path); err != nil {
			return nil, fmt.Errorf("scheduler %s: %w", s.Name, err)
		}
	}
	if err := addFiles(b, s); err != nil {
		return nil, err
	}
	if err := addPayloads(b, payloads); err != nil {
		return nil, err
	}
	return b, nil
}

// addFiles packs the scheduler's Files: regular files with their mode,
// directories whole (symbolic links inside kept as links; a link given
// as the host path itself is followed).
func addFiles(b *initramfs.Builder, s Scheduler) error {
	for _, guestPath := range slices.Sorted(maps.Keys(s.Files)) {
		host := s.Files[guestPath]
		if err := addTree(b, guestPath, host, false); err != nil {
			return fmt.Errorf("scheduler %s: Files[%q] = %q: %w", s.Name, guestPath, host, err)
		}
	}
	return nil
}

// addIncludes packs files (guest path to host path) as addFiles does, but
// an ELF executable goes in with its shared libraries, so it runs in the
// guest as on the host.
func addIncludes(b *initramfs.Builder, files map[string]string) error {
	for _, guestPath := range slices.Sorted(maps.Keys(files)) {
		host := files[guestPath]
		if err := addTree(b, guestPath, host, true); err != nil {
			return fmt.Errorf("including %s as %s: %w", host, guestPath, err)
		}
	}
	return nil
}

// addTree packs the host file or directory host at guestPath (absolute).
// With binaries, ELF executables are packed with their shared libraries.
func addTree(b *initramfs.Builder, guestPath, host string, binaries bool) error {
	root, err := filepath.Abs(host)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		return err
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		dst := path.Join(guestPath, filepath.ToSlash(rel))[1:]
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return b.AddDir(dst, info.Mode().Perm())
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return b.AddSymlink(dst, target)
		case info.Mode().IsRegular():
			if binaries && info.Mode().Perm()&0o111 != 0 && initramfs.IsELFExecutable(p) == nil {
				return b.AddBinary(dst, p)
			}
			return b.AddFile(dst, p, info.Mode().Perm())
		}
		return fmt.Errorf("%s is not a regular file, directory or symbolic link", p)
	})
}

// addPayloads packs each payload's binary, found on the host, with its
// shared libraries at layout.PayloadPath, and the library path they need.
func addPayloads(b *initramfs.Builder, payloads []payload.Payload) error {
	if len(payloads) == 0 {
		return nil
	}
	binaries := map[string]string{}
	for _, p := range payloads {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("Spec.Payloads: %w", err)
		}
		if prev, ok := binaries[p.Name]; ok && prev != p.Binary {
			return fmt.Errorf("Spec.Payloads: two payloads named %s, with binaries %s and %s", p.Name, prev, p.Binary)
		}
		binaries[p.Name] = p.Binary
		host, err := PayloadBinary(p)
		if err != nil {
			return err
		}
		if err := b.AddBinary(layout.Archive(layout.PayloadPath(p.Name, p.Binary)), host); err != nil {
			return fmt.Errorf("payload %s: packing %s: %w", p.Name, host, err)
		}
	}
	if lp := b.LibraryPath(); len(lp) > 0 {
		return b.AddBytes(layout.Archive(layout.PayloadLibraryPath), []byte(strings.Join(lp, ":")+"\n"), 0o644)
	}
	return nil
}

// PayloadBinary finds p's binary on the host: Binary itself when it is
// a path, else Binary looked up on $PATH.
func PayloadBinary(p payload.Payload) (string, error) {
	install := ""
	if p.Package != "" {
		install = fmt.Sprintf("; install the Debian package %s (apt-get install %s)", p.Package, p.Package)
	}
	if strings.Contains(p.Binary, "/") {
		if _, err := os.Stat(p.Binary); err != nil {
			return "", fmt.Errorf("payload %s: binary %s: %w%s", p.Name, p.Binary, err, install)
		}
		return p.Binary, nil
	}
	path, err := exec.LookPath(p.Binary)
	if err != nil {
		return "", fmt.Errorf("payload %s: %s is not on the host's $PATH (%s)%s", p.Name, p.Binary, os.Getenv("PATH"), install)
	}
	return path, nil
}

// writeInitramfs writes the archive to path, a file of this process's
// scratch directory. It is written in place and not synced: nothing else
// reads it, it is used only once written whole, and it goes when the
// process ends (an fsync of the test binary's megabytes cost a boot up to
// 10 ms on a quiet host, more on a busy disk).
func writeInitramfs(b *initramfs.Builder, path string) (*builtInitrd, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	n, err := b.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("initramfs: writing %s: %w", path, err)
	}
	return &builtInitrd{path: path, size: n, libraryPath: b.LibraryPath()}, nil
}
