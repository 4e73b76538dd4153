package build

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ulikunitz/xz"

	"github.com/ktstr-go/ktstr/internal/kernel/debian"
)

var releaseRe = regexp.MustCompile(`^([0-9]+)\.([0-9]+)(\.[0-9]+)?`)

// sourcePackage returns the Debian source package that matches a kernel
// release and the release's upstream version: "7.3.4+deb13-amd64" gives
// "linux-source-7.3" and "7.3.4"; "7.3.0-rc5+deb13-amd64" gives
// "linux-source-7.3" and "7.3.0".
func sourcePackage(release string) (name, upstream string, err error) {
	m := releaseRe.FindStringSubmatch(release)
	if m == nil {
		return "", "", fmt.Errorf("kernel release %q does not start with <major>.<minor>: cannot tell which linux-source package matches it", release)
	}
	return "linux-source-" + m[1] + "." + m[2], m[0], nil
}

// upstreamOf returns the upstream part of a Debian version without epoch
// and revision: "7.3.4-1~bpo13+1" gives "7.3.4".
func upstreamOf(version string) string {
	if i := strings.IndexByte(version, ':'); i >= 0 {
		version = version[i+1:]
	}
	if i := strings.LastIndexByte(version, '-'); i >= 0 {
		version = version[:i]
	}
	return version
}

// pickSource chooses among the versions of a linux-source package (newest
// first) the one that matches a kernel: the same package version as the
// kernel's packages (pkgVersion, when known), else the newest of the same
// upstream version, else the newest, with a note saying the sources may
// not match the kernel exactly.
func pickSource(versions []debian.Package, release, pkgVersion string) (debian.Package, string, error) {
	name, upstream, err := sourcePackage(release)
	if err != nil {
		return debian.Package{}, "", err
	}
	if len(versions) == 0 {
		return debian.Package{}, "", fmt.Errorf("no %s in the archive index: the archive offers no sources for kernel %s", name, release)
	}
	if pkgVersion != "" {
		for _, p := range versions {
			if p.Version == pkgVersion {
				return p, "", nil
			}
		}
	}
	for _, p := range versions {
		if upstreamOf(p.Version) == upstream {
			note := ""
			if pkgVersion != "" {
				note = fmt.Sprintf("the archive has no %s %s (the kernel's package version); using %s of the same upstream version", name, pkgVersion, p.Version)
			}
			return p, note, nil
		}
	}
	return versions[0], fmt.Sprintf("the archive has no %s of upstream version %s; using %s, whose sched_ext interface may differ from kernel %s", name, upstream, versions[0].Version, release), nil
}

// treeSubset lists what the tools/sched_ext build reads from the kernel
// tree (found by tracing a build of 7.3): its Makefiles, libbpf, bpftool
// (which compiles kernel/bpf/disasm.c), the tools' copies of the UAPI
// headers, and bpf_doc.py, which generates libbpf's helper definitions.
// About 20 MB of the 1.7 GB tree.
var treeSubset = []string{
	"Makefile",
	"include/uapi/",
	"kernel/bpf/",
	"scripts/bpf_doc.py",
	"tools/arch/",
	"tools/bpf/",
	"tools/build/",
	"tools/include/",
	"tools/lib/",
	"tools/scripts/",
	"tools/sched_ext/",
}

// wanted reports whether a tree-relative path is extracted.
func wanted(rel string, full bool) bool {
	if full {
		return true
	}
	for _, p := range treeSubset {
		if strings.HasSuffix(p, "/") {
			if strings.HasPrefix(rel, p) || rel+"/" == p {
				return true
			}
		} else if rel == p {
			return true
		}
	}
	return false
}

// extractStats counts what extractTree wrote.
type extractStats struct {
	Files, Dirs, Links int
	Bytes              int64
	Entries            int // tar entries read, extracted or not
}

// extractTree unpacks an xz-compressed kernel source tarball, whose
// entries all sit below one top directory (e.g. "linux-source-7.3/"), into
// dest, dropping the top directory. Only treeSubset is written unless full
// is set. Entries that would land outside dest, and symbolic links that
// point outside it, are refused; devices and the like are skipped.
func extractTree(r io.Reader, dest string, full bool) (*extractStats, error) {
	xr, err := xz.NewReader(bufio.NewReaderSize(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("open the source tarball: %w", err)
	}
	tr := tar.NewReader(xr)
	st := &extractStats{}
	top := ""
	made := map[string]bool{}
	mkdir := func(dir string) error {
		if made[dir] {
			return nil
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		made[dir] = true
		return nil
	}
	buf := make([]byte, 256<<10)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("read the source tarball: %w", err)
		}
		st.Entries++
		name := strings.TrimPrefix(h.Name, "./")
		if h.Typeflag == tar.TypeXGlobalHeader || name == "" || name == "pax_global_header" {
			continue
		}
		first, rest, _ := strings.Cut(name, "/")
		if top == "" {
			top = first
		}
		if first != top {
			return st, fmt.Errorf("source tarball entry %q is outside its top directory %q", h.Name, top)
		}
		if rest == "" {
			continue
		}
		clean := path.Clean(rest)
		if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
			return st, fmt.Errorf("source tarball entry %q escapes the tree", h.Name)
		}
		rel := clean
		if h.Typeflag == tar.TypeDir {
			rel += "/"
		}
		if !wanted(rel, full) {
			continue
		}
		target := filepath.Join(dest, filepath.FromSlash(clean))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := mkdir(target); err != nil {
				return st, err
			}
			st.Dirs++
		case tar.TypeReg:
			if err := mkdir(filepath.Dir(target)); err != nil {
				return st, err
			}
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, os.FileMode(h.Mode)&0o755|0o644)
			if err != nil {
				return st, err
			}
			n, err := io.CopyBuffer(f, tr, buf)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return st, fmt.Errorf("extract %s: %w", clean, err)
			}
			st.Files++
			st.Bytes += n
		case tar.TypeSymlink:
			// Resolved from the link's directory, the target must stay in
			// the tree; it may dangle (the subset leaves some out).
			resolved := path.Join(path.Dir(clean), h.Linkname)
			if path.IsAbs(h.Linkname) || resolved == ".." || strings.HasPrefix(resolved, "../") {
				return st, fmt.Errorf("source tarball symlink %s -> %s points outside the tree", clean, h.Linkname)
			}
			if err := mkdir(filepath.Dir(target)); err != nil {
				return st, err
			}
			os.Remove(target)
			if err := os.Symlink(h.Linkname, target); err != nil {
				return st, err
			}
			st.Links++
		case tar.TypeLink:
			src := path.Clean(strings.TrimPrefix(h.Linkname, top+"/"))
			if src == ".." || strings.HasPrefix(src, "../") || path.IsAbs(src) {
				return st, fmt.Errorf("source tarball hard link %s -> %s points outside the tree", clean, h.Linkname)
			}
			if err := mkdir(filepath.Dir(target)); err != nil {
				return st, err
			}
			if err := os.Link(filepath.Join(dest, filepath.FromSlash(src)), target); err != nil && !errors.Is(err, os.ErrNotExist) {
				return st, err
			}
			st.Links++
		}
	}
	if top == "" {
		return st, errors.New("the source tarball is empty")
	}
	return st, nil
}
