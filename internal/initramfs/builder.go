package initramfs

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
)

// A Builder collects the entries of an initramfs and writes them as a newc
// cpio archive.
//
// Entries are checked when they are added: adding a path twice is an error
// unless the second entry is identical (the same host file, bytes, mode,
// symlink target or device), so binaries that share libraries can be added
// freely. Parent directories need not be added; they are written with mode
// 0755 unless added with [Builder.AddDir].
//
// A Builder holds host paths, not file contents: host files are read when
// the archive is written. A Builder is not safe for concurrent use.
type Builder struct {
	entries map[string]*entry
	// implied maps every directory that must exist because of an entry
	// below it to one such entry, for error messages.
	implied map[string]string
}

// entry is one archive entry of a Builder.
type entry struct {
	kind     kind
	mode     os.FileMode // permission, setuid, setgid and sticky bits
	umode    uint32      // mode as stored in the archive, set by commit
	hostPath string      // kindFile read from the host
	hostInfo os.FileInfo // the host file when it was added
	strip    bool        // a binary, written by Writer.ExecutableFrom
	data     []byte      // kindFile from memory
	target   string      // kindSymlink
	major    uint32      // kindCharDev
	minor    uint32
	origin   string // who added the entry, for error messages
	// libDir is set for libraries that the guest loader finds only through
	// LD_LIBRARY_PATH: the archive directory, with a leading "/".
	libDir string
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{entries: make(map[string]*entry), implied: make(map[string]string)}
}

// AddFile adds the host file hostPath (symlinks are followed) at
// archivePath with permission bits mode. The file must exist now; its
// contents are read when the archive is written.
func (b *Builder) AddFile(archivePath, hostPath string, mode os.FileMode) error {
	e, err := hostEntry(hostPath, mode, "AddFile")
	if err != nil {
		return err
	}
	return b.commit(pending{archivePath, e})
}

// AddBytes adds a regular file at archivePath with permission bits mode
// and contents data. The Builder keeps data without copying it; do not
// modify it afterwards.
func (b *Builder) AddBytes(archivePath string, data []byte, mode os.FileMode) error {
	if int64(len(data)) > maxEntrySize {
		return fmt.Errorf("initramfs: %q is %d bytes, more than the 4 GiB that a newc archive can hold", archivePath, len(data))
	}
	e := &entry{kind: kindFile, mode: mode, data: data, origin: "AddBytes"}
	return b.commit(pending{archivePath, e})
}

// AddBinary adds the executable ELF file hostPath at archivePath with its
// host permission bits, together with its interpreter and every shared
// library it needs (see [ClosureAt]), each at the path where the guest's
// loader looks for it. Libraries already added for another binary are
// shared; a library whose archive path already holds a different file is an
// error, and then nothing of the binary is added. The binary itself is
// packed without its debug sections and static symbol table (see
// [Writer.ExecutableFrom]): they are about a third of a Go test binary, and
// every byte of the archive costs boot time.
func (b *Builder) AddBinary(archivePath, hostPath string) error {
	if err := IsELFExecutable(hostPath); err != nil {
		return err
	}
	libs, err := ClosureAt(hostPath, archivePath)
	if err != nil {
		return err
	}
	bin, err := hostEntry(hostPath, 0, "binary "+hostPath)
	if err != nil {
		return err
	}
	bin.mode = bin.hostInfo.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
	bin.strip = true
	batch := []pending{{archivePath, bin}}
	for _, lib := range libs {
		origin := fmt.Sprintf("library of %s found via %v", hostPath, lib.Source)
		if lib.Source == FromInterp {
			origin = "interpreter of " + hostPath
		}
		e, err := hostEntry(lib.HostPath, 0, origin)
		if err != nil {
			return err
		}
		e.mode = e.hostInfo.Mode().Perm()
		if lib.NeedsLibraryPath() {
			e.libDir = "/" + path.Dir(lib.ArchivePath)
		}
		batch = append(batch, pending{lib.ArchivePath, e})
	}
	return b.commit(batch...)
}

// AddDir adds the directory archivePath with permission bits mode. Use it
// for directories that must exist even when empty, or that need a mode
// other than 0755.
func (b *Builder) AddDir(archivePath string, mode os.FileMode) error {
	e := &entry{kind: kindDir, mode: mode &^ os.ModeDir, origin: "AddDir"}
	return b.commit(pending{archivePath, e})
}

// AddSymlink adds archivePath as a symbolic link to target, which is stored
// as given.
func (b *Builder) AddSymlink(archivePath, target string) error {
	if target == "" {
		return fmt.Errorf("initramfs: symlink %q has an empty target", archivePath)
	}
	e := &entry{kind: kindSymlink, mode: 0o777, target: target, origin: "AddSymlink"}
	return b.commit(pending{archivePath, e})
}

// AddCharDev adds archivePath as a character device node with permission
// bits mode and device number major:minor.
func (b *Builder) AddCharDev(archivePath string, mode os.FileMode, major, minor uint32) error {
	e := &entry{kind: kindCharDev, mode: mode &^ (os.ModeDevice | os.ModeCharDevice), major: major, minor: minor, origin: "AddCharDev"}
	return b.commit(pending{archivePath, e})
}

// LibraryPath returns the archive directories, with a leading "/" and
// sorted, that hold libraries the host found only through LD_LIBRARY_PATH
// or a non-default /etc/ld.so.conf directory. The guest has no
// ld.so.cache, so run binaries there with LD_LIBRARY_PATH set to these
// directories joined by ":". It is empty in the common case.
func (b *Builder) LibraryPath() []string {
	var dirs []string
	for _, e := range b.entries {
		if e.libDir != "" && !slices.Contains(dirs, e.libDir) {
			dirs = append(dirs, e.libDir)
		}
	}
	slices.Sort(dirs)
	return dirs
}

// hostEntry makes a file entry for hostPath, which must be a regular file
// (after following symlinks).
func hostEntry(hostPath string, mode os.FileMode, origin string) (*entry, error) {
	hostPath, err := filepath.Abs(hostPath)
	if err != nil {
		return nil, fmt.Errorf("initramfs: %s: %w", origin, err)
	}
	fi, err := os.Stat(hostPath)
	if err != nil {
		return nil, fmt.Errorf("initramfs: %s: %w", origin, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("initramfs: %s: %s is %s, not a regular file; add directories with AddDir and links with AddSymlink", origin, hostPath, describeMode(fi.Mode()))
	}
	return &entry{kind: kindFile, mode: mode, hostPath: hostPath, hostInfo: fi, origin: origin}, nil
}

// pending is an entry on its way into a Builder, with its archive path as
// the caller gave it.
type pending struct {
	archivePath string
	e           *entry
}

// commit checks the entries of batch, in order, against the Builder and
// each other, and adds them all or none.
func (b *Builder) commit(batch ...pending) error {
	// Stage the batch beside the Builder's maps, so that a failure leaves
	// the Builder untouched without copying it.
	added := make(map[string]*entry)
	addedImplied := make(map[string]string)
	lookup := func(name string) *entry {
		if e := added[name]; e != nil {
			return e
		}
		return b.entries[name]
	}
	impliedBy := func(dir string) (string, bool) {
		if child, ok := addedImplied[dir]; ok {
			return child, true
		}
		child, ok := b.implied[dir]
		return child, ok
	}
	for _, p := range batch {
		e := p.e
		name, err := cleanPath(p.archivePath)
		if err != nil {
			return fmt.Errorf("initramfs: %s: %w", e.origin, err)
		}
		e.umode, err = unixMode(e.kind, e.mode)
		if err != nil {
			return fmt.Errorf("initramfs: %s %q: %w", e.kind, name, err)
		}
		if prev := lookup(name); prev != nil {
			if prev.same(e) {
				continue
			}
			return fmt.Errorf("initramfs: archive path %q would hold both %s (%s) and %s (%s); every path holds one entry: give one of them another archive path", name, prev.describe(), prev.origin, e.describe(), e.origin)
		}
		if child, ok := impliedBy(name); ok && e.kind != kindDir {
			return fmt.Errorf("initramfs: cannot add %s at %q (%s): it must be a directory because %q is inside it", e.describe(), name, e.origin, child)
		}
		for _, dir := range parents(name) {
			if prev := lookup(dir); prev != nil && prev.kind != kindDir {
				return fmt.Errorf("initramfs: cannot add %q (%s): its parent %q is already %s (%s), not a directory", name, e.origin, dir, prev.describe(), prev.origin)
			}
			if _, ok := impliedBy(dir); !ok {
				addedImplied[dir] = name
			}
		}
		added[name] = e
	}
	maps.Copy(b.entries, added)
	maps.Copy(b.implied, addedImplied)
	return nil
}

// same reports whether adding o where e already is changes nothing.
func (e *entry) same(o *entry) bool {
	if e.kind != o.kind || e.umode != o.umode || e.strip != o.strip {
		return false
	}
	switch e.kind {
	case kindFile:
		if e.hostInfo != nil || o.hostInfo != nil {
			return e.hostInfo != nil && o.hostInfo != nil && os.SameFile(e.hostInfo, o.hostInfo)
		}
		return bytes.Equal(e.data, o.data)
	case kindSymlink:
		return e.target == o.target
	case kindCharDev:
		return e.major == o.major && e.minor == o.minor
	}
	return true
}

// describe names the entry for error messages.
func (e *entry) describe() string {
	switch {
	case e.kind == kindFile && e.hostInfo != nil:
		return fmt.Sprintf("host file %s with mode %#o", e.hostPath, e.umode&0o7777)
	case e.kind == kindFile:
		return fmt.Sprintf("%d bytes from memory with mode %#o", len(e.data), e.umode&0o7777)
	case e.kind == kindSymlink:
		return "a symlink to " + e.target
	case e.kind == kindCharDev:
		return fmt.Sprintf("character device %d:%d with mode %#o", e.major, e.minor, e.umode&0o7777)
	}
	return fmt.Sprintf("a directory with mode %#o", e.umode&0o7777)
}
