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

// interpreter resolves the PT_INTERP of main.
func (r *resolver) interpreter(main *object) (Lib, error) {
	interp := main.interp
	if !filepath.IsAbs(interp) {
		return Lib{}, fmt.Errorf("initramfs: %s names the relative interpreter %q in PT_INTERP; the loader must be an absolute path, relink the binary", main.name, interp)
	}
	arch, err := cleanPath(interp)
	if err != nil {
		return Lib{}, fmt.Errorf("initramfs: interpreter of %s: %w", main.name, err)
	}
	real, err := filepath.EvalSymlinks(interp)
	if errors.Is(err, fs.ErrNotExist) {
		return Lib{}, fmt.Errorf("initramfs: the interpreter %s that %s needs does not exist on this host; install the C library the binary was built against (libc6 on Debian, glibc on Fedora), or build the binary statically", interp, main.name)
	}
	if err != nil {
		return Lib{}, fmt.Errorf("initramfs: resolving interpreter %s of %s: %w", interp, main.name, err)
	}
	info, err := readELFInfo(real)
	if err != nil {
		return Lib{}, fmt.Errorf("initramfs: interpreter of %s: %w", main.name, err)
	}
	if info.machine != r.machine {
		return Lib{}, fmt.Errorf("initramfs: the interpreter %s of %s is for %v, but the binary is for %v; install the loader for the binary's architecture", interp, main.name, info.machine, r.machine)
	}
	r.interpSoname = info.soname
	return Lib{ArchivePath: arch, HostPath: real, Source: FromInterp}, nil
}

// searchDir is one directory of the search path, on the host and in the
// guest.
type searchDir struct {
	host    string // clean absolute host directory
	archive string // clean absolute guest directory
	source  Source
}

// searchDirs returns the directories searched for the DT_NEEDED entries of
// o, in order and without repeats.
func (r *resolver) searchDirs(o *object) []searchDir {
	var dirs []searchDir
	seen := make(map[string]bool)
	add := func(entry string, origin *object, src Source) {
		host, archive, ok := expandOrigin(entry, origin)
		if !ok || seen[host] {
			return
		}
		if (src == FromLibraryPath || src == FromLdSoConf) && r.isDefault[host] {
			src = FromDefault
		}
		seen[host] = true
		dirs = append(dirs, searchDir{host: host, archive: archive, source: src})
	}
	if !o.hasRunpath {
		for l := o; l != nil; l = l.loader {
			for _, e := range l.rpath {
				add(e, l, FromRPATH)
			}
		}
	}
	for _, e := range r.libraryPath {
		add(e, r.main, FromLibraryPath)
	}
	for _, e := range o.runpath {
		add(e, o, FromRUNPATH)
	}
	for _, d := range r.confDirs {
		add(d, nil, FromLdSoConf)
	}
	for _, d := range r.defaultDirs {
		add(d, nil, FromDefault)
	}
	return dirs
}

// expandOrigin expands $ORIGIN and ${ORIGIN} in the search path entry
// using the origins of o, giving the directory on the host and in the
// guest. Entries that stay relative or use other tokens ($LIB, $PLATFORM)
// are not supported and yield ok == false.
func expandOrigin(entry string, o *object) (host, archive string, ok bool) {
	if strings.Contains(originToken.Replace(entry), "$") {
		return "", "", false
	}
	host, archive = entry, entry
	if o != nil {
		host = strings.NewReplacer("${ORIGIN}", o.hostOrigin, "$ORIGIN", o.hostOrigin).Replace(entry)
		archive = strings.NewReplacer("${ORIGIN}", o.archiveOrigin, "$ORIGIN", o.archiveOrigin).Replace(entry)
	}
	if !filepath.IsAbs(host) || !path.IsAbs(archive) {
		return "", "", false
	}
	return filepath.Clean(host), path.Clean(archive), true
}

// originToken removes the $ORIGIN tokens from a search path entry.
var originToken = strings.NewReplacer("${ORIGIN}", "", "$ORIGIN", "")

// find searches for the library name that o needs.
func (r *resolver) find(name string, o *object) (*object, error) {
	if strings.Contains(name, "/") {
		host, err := filepath.Abs(name)
		if err != nil {
			return nil, fmt.Errorf("initramfs: %w", err)
		}
		info, reason := r.candidate(host)
		if info == nil {
			if reason == "" {
				reason = host + " does not exist"
			}
			return nil, &MissingLibraryError{Library: name, NeededBy: o.chain(), Rejected: []string{reason}}
		}
		dir := filepath.Dir(host)
		return &object{elfInfo: info, name: name, hostPath: host, archivePath: strings.TrimPrefix(host, "/"),
			hostOrigin: dir, archiveOrigin: dir, loader: o, source: FromPath}, nil
	}
	var searched, rejected []string
	for _, d := range r.searchDirs(o) {
		searched = append(searched, fmt.Sprintf("%s (%v)", d.host, d.source))
		cand := filepath.Join(d.host, name)
		info, reason := r.candidate(cand)
		if reason != "" {
			rejected = append(rejected, reason)
		}
		if info == nil {
			continue
		}
		return &object{
			elfInfo:       info,
			name:          name,
			hostPath:      cand,
			archivePath:   path.Join(d.archive, name)[1:],
			hostOrigin:    d.host,
			archiveOrigin: d.archive,
			loader:        o,
			source:        d.source,
		}, nil
	}
	return nil, &MissingLibraryError{Library: name, NeededBy: o.chain(), Searched: searched, Rejected: rejected}
}

// candidate checks whether the file p can be loaded into a process of the
// resolver's machine. If not, it returns a nil info and, unless p just does
// not exist, the reason.
func (r *resolver) candidate(p string) (*elfInfo, string) {
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ""
	}
	if err != nil {
		return nil, err.Error()
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Sprintf("%s is %s", p, describeMode(fi.Mode()))
	}
	info, err := readELFInfo(p)
	if err != nil {
		return nil, strings.TrimPrefix(err.Error(), "initramfs: ")
	}
	if info.machine != r.machine {
		return nil, fmt.Sprintf("%s is for %v, not %v", p, info.machine, r.machine)
	}
	return info, ""
}

// MissingLibraryError reports a shared library that [Closure] could not
// find on the host.
type MissingLibraryError struct {
	Library  string   // the DT_NEEDED name, e.g. "libelf.so.1"
	NeededBy string   // the object that needs it and what loaded that object
	Searched []string // the directories searched, in order, each with its Source
	Rejected []string // files with the right name that could not be used, and why
}

// Error describes the missing library, who needs it, where it was looked
// for and what to do.
func (e *MissingLibraryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "initramfs: shared library %s needed by %s was not found", e.Library, e.NeededBy)
	if len(e.Searched) > 0 {
		fmt.Fprintf(&b, "; searched %s", strings.Join(e.Searched, ", "))
	}
	if len(e.Rejected) > 0 {
		fmt.Fprintf(&b, "; unusable candidates: %s", strings.Join(e.Rejected, "; "))
	}
	fmt.Fprintf(&b, "; install the package that provides %s (find it with `apt-file search %s` or `dnf provides '*/%s'`), or add the directory that holds it to LD_LIBRARY_PATH", e.Library, e.Library, e.Library)
	return b.String()
}
