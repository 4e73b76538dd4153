package initramfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// A Lib is one file a dynamically linked binary needs at run time: its
// interpreter (the dynamic loader) or a shared library.
type Lib struct {
	// ArchivePath is where the loader in the guest looks for the file,
	// relative to the archive root, e.g. "lib/x86_64-linux-gnu/libc.so.6"
	// or, for the interpreter, "lib64/ld-linux-x86-64.so.2".
	ArchivePath string
	// HostPath is the host file to pack there, with symlinks resolved
	// (e.g. ".../libfoo.so.1.2.3" for the name "libfoo.so.1").
	HostPath string
	// Source says how the library was found.
	Source Source
}

// NeedsLibraryPath reports whether the loader in the guest finds l only if
// LD_LIBRARY_PATH names the directory of l.ArchivePath: true for libraries
// that the host found through LD_LIBRARY_PATH or through an /etc/ld.so.conf
// directory that is not a default one, because the guest has no
// ld.so.cache.
func (l Lib) NeedsLibraryPath() bool {
	return l.Source == FromLibraryPath || l.Source == FromLdSoConf
}

// Source says where in the loader's search order a library was found.
type Source int

// The places a library can come from, in the loader's search order.
const (
	FromInterp      Source = iota + 1 // the PT_INTERP of the binary
	FromPath                          // a DT_NEEDED name that contains a slash
	FromRPATH                         // DT_RPATH of the object or of what loaded it
	FromLibraryPath                   // the LD_LIBRARY_PATH of this process
	FromRUNPATH                       // DT_RUNPATH of the object
	FromLdSoConf                      // a directory listed by /etc/ld.so.conf
	FromDefault                       // a default library directory such as /usr/lib/x86_64-linux-gnu
)

// String names s as in error messages, e.g. "RUNPATH".
func (s Source) String() string {
	switch s {
	case FromInterp:
		return "PT_INTERP"
	case FromPath:
		return "path"
	case FromRPATH:
		return "RPATH"
	case FromLibraryPath:
		return "LD_LIBRARY_PATH"
	case FromRUNPATH:
		return "RUNPATH"
	case FromLdSoConf:
		return ldSoConf
	case FromDefault:
		return "default"
	}
	return fmt.Sprintf("Source(%d)", int(s))
}

// Closure returns the interpreter and the transitive shared libraries that
// the ELF binary at binPath needs, in the order the loader would load them
// (breadth first). It assumes the binary is packed at its own host path;
// use [ClosureAt] when it is packed elsewhere, which matters for
// libraries found through $ORIGIN.
//
// A static binary (no PT_INTERP and no DT_NEEDED) has an empty closure. A
// library that cannot be found is a *[MissingLibraryError].
func Closure(binPath string) ([]Lib, error) {
	abs, err := filepath.Abs(binPath)
	if err != nil {
		return nil, fmt.Errorf("initramfs: %w", err)
	}
	return ClosureAt(binPath, abs)
}

// ClosureAt is [Closure] for a binary read from hostPath and packed at
// archivePath: libraries that the binary or its libraries find relative to
// $ORIGIN get archive paths relative to where the binary lands in the
// archive, so the loader in the guest finds them there.
//
// The search follows glibc's order for each DT_NEEDED name: the DT_RPATH
// of the object and of the objects that loaded it (only if the object has
// no DT_RUNPATH), LD_LIBRARY_PATH, the DT_RUNPATH of the object, the
// directories of /etc/ld.so.conf, and the default directories for the
// machine of the binary (for x86_64: /lib/x86_64-linux-gnu,
// /usr/lib/x86_64-linux-gnu, /lib64, /usr/lib64, /lib, /usr/lib).
// Candidates of another ELF class or machine are skipped.
//
// In the guest the loader expands the $ORIGIN of the main program through
// /proc/self/exe, so mount /proc before running binaries that use it (or
// set LD_ORIGIN_PATH to the binary's directory).
func ClosureAt(hostPath, archivePath string) ([]Lib, error) {
	arch, err := cleanPath(archivePath)
	if err != nil {
		return nil, fmt.Errorf("initramfs: binary %s: %w", hostPath, err)
	}
	real, err := filepath.EvalSymlinks(hostPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("initramfs: binary %s does not exist; check the path, or build it first", hostPath)
	}
	if err != nil {
		return nil, fmt.Errorf("initramfs: resolving binary %s: %w", hostPath, err)
	}
	info, err := readELFInfo(real)
	if err != nil {
		return nil, err
	}
	r, err := newResolver(info.machine)
	if err != nil {
		return nil, err
	}
	main := &object{
		name:          hostPath,
		elfInfo:       info,
		archivePath:   arch,
		hostOrigin:    filepath.Dir(real),
		archiveOrigin: "/" + path.Dir(arch),
	}
	r.main = main
	return r.closure(main)
}

// object is one ELF object in the search: the binary or a library.
type object struct {
	*elfInfo
	name          string  // the DT_NEEDED name it was loaded for, or the binary's path
	hostPath      string  // where it was found on the host, symlinks not resolved
	archivePath   string  // where it goes in the archive
	hostOrigin    string  // $ORIGIN on the host
	archiveOrigin string  // $ORIGIN in the guest, with a leading "/"
	loader        *object // the object whose DT_NEEDED loaded it; nil for the binary
	source        Source  // how it was found
}

// chain describes o and the objects that loaded it, for error messages:
// "libb.so (needed by liba.so, needed by /path/to/bin)".
func (o *object) chain() string {
	var b strings.Builder
	b.WriteString(o.name)
	for l := o.loader; l != nil; l = l.loader {
		if l == o.loader {
			b.WriteString(" (needed by ")
		} else {
			b.WriteString(", needed by ")
		}
		b.WriteString(l.name)
	}
	if o.loader != nil {
		b.WriteString(")")
	}
	return b.String()
}

// resolver finds libraries for the objects of one binary.
type resolver struct {
	machine      machine
	main         *object
	interpSoname string          // DT_SONAME of the interpreter of main
	libraryPath  []string        // LD_LIBRARY_PATH entries
	confDirs     []string        // /etc/ld.so.conf directories
	defaultDirs  []string        // the machine's default directories
	isDefault    map[string]bool // defaultDirs as a set
}

// newResolver reads the search path of this host for objects of machine m.
func newResolver(m machine) (*resolver, error) {
	conf, err := readLdSoConf(ldSoConf)
	if err != nil {
		return nil, err
	}
	r := &resolver{
		machine:     m,
		libraryPath: splitSearchPath(os.Getenv("LD_LIBRARY_PATH"), ":;"),
		confDirs:    conf,
		defaultDirs: defaultLibDirs(m),
		isDefault:   make(map[string]bool),
	}
	for _, d := range r.defaultDirs {
		r.isDefault[d] = true
	}
	return r, nil
}

// closure walks the dependencies of main breadth first.
func (r *resolver) closure(main *object) ([]Lib, error) {
	var libs []Lib
	// Libraries already found, by DT_NEEDED name, soname and archive path.
	// The binary is left out: a library that lands on the binary's own
	// archive path must reach the caller as a conflict.
	loaded := make(map[string]*object)
	if main.interp != "" {
		lib, err := r.interpreter(main)
		if err != nil {
			return nil, err
		}
		libs = append(libs, lib)
	}
	queue := []*object{main}
	for len(queue) > 0 {
		o := queue[0]
		queue = queue[1:]
		for _, name := range o.needed {
			if loaded[name] != nil {
				continue
			}
			if r.main.interp != "" && (name == r.main.interp || name == r.interpSoname) {
				continue // the loader is already in memory under this name
			}
			dep, err := r.find(name, o)
			if err != nil {
				return nil, err
			}
			if prev := loaded[dep.archivePath]; prev != nil {
				loaded[name] = prev
				continue
			}
			loaded[name] = dep
			loaded[dep.archivePath] = dep
			if dep.soname != "" && loaded[dep.soname] == nil {
				loaded[dep.soname] = dep
			}
			real, err := filepath.EvalSymlinks(dep.hostPath)
			if err != nil {
				return nil, fmt.Errorf("initramfs: resolving library %s: %w", dep.hostPath, err)
			}
			libs = append(libs, Lib{ArchivePath: dep.archivePath, HostPath: real, Source: dep.source})
			queue = append(queue, dep)
		}
	}
	return libs, nil
}
