package debian

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
)

// ErrNotInPackage is returned (wrapped) by ExtractFromDeb when the .deb has
// no file of the name asked for.
var ErrNotInPackage = errNotInDeb

// packageIndex maps package names to their entries in a Packages index,
// newest version first.
type packageIndex map[string][]Package

// stanzaPackage reads the fields of a Packages stanza that a download needs.
func stanzaPackage(st stanza) Package {
	p := Package{
		Name:     st.get("Package"),
		Version:  st.get("Version"),
		Filename: st.get("Filename"),
		SHA256:   strings.ToLower(st.get("SHA256")),
	}
	p.Size, _ = strconv.ParseInt(st.get("Size"), 10, 64)
	return p
}

// indexPackages indexes every stanza by package name. Architecture "all"
// packages are in binary-<arch>/Packages too in Debian's archive (its
// Release file says "No-Support-for-Architecture-all: Packages"), so they
// are found as well.
func indexPackages(stanzas []stanza) packageIndex {
	out := packageIndex{}
	for _, st := range stanzas {
		p := stanzaPackage(st)
		if p.Name == "" {
			continue
		}
		out[p.Name] = append(out[p.Name], p)
	}
	for name, ps := range out {
		slices.SortStableFunc(ps, func(a, b Package) int { return CompareVersions(b.Version, a.Version) })
		out[name] = slices.CompactFunc(ps, func(a, b Package) bool { return a.Version == b.Version })
	}
	return out
}

// Versions returns every version of the binary package name the index
// lists, newest first; nil when it lists none.
func (ix *Index) Versions(name string) []Package {
	return slices.Clone(ix.packages[name])
}

// Package returns the newest version of the binary package name, e.g.
// "linux-source-7.3". Download it with Fetcher.Download.
func (ix *Index) Package(name string) (Package, error) {
	ps := ix.packages[name]
	if len(ps) == 0 {
		return Package{}, fmt.Errorf("package %s is not in %s main/binary-%s at %s; check the name and --suite", name, ix.Suite, ix.Arch, ix.Mirror)
	}
	return ps[0], nil
}

// checkPackage refuses an index entry that cannot be verified or whose
// path could leave the mirror.
func checkPackage(p Package) error {
	if p.SHA256 == "" || p.Size <= 0 {
		return fmt.Errorf("index entry for %s %s has no SHA256 or Size: cannot verify it; use another --mirror", p.Name, p.Version)
	}
	if p.Filename == "" || path.IsAbs(p.Filename) || path.Clean(p.Filename) != p.Filename || strings.HasPrefix(p.Filename, "../") {
		return fmt.Errorf("index entry for %s has a bad Filename %q: corrupt index", p.Name, p.Filename)
	}
	return nil
}

// writerSink adapts a plain writer for download: a retry is possible only
// while nothing has been written to it yet.
type writerSink struct {
	w io.Writer
	n int64
}

func (s *writerSink) Write(b []byte) (int, error) {
	n, err := s.w.Write(b)
	s.n += int64(n)
	return n, err
}

func (s *writerSink) reset() error {
	if s.n > 0 {
		return errors.New("part of the download was passed on already")
	}
	return nil
}

// Download fetches the package's .deb from the mirror into w, checking its
// size and SHA256 against the index entry (which the signed release file
// covers). When w is an *os.File, a transient failure is retried once from
// the start (the file is truncated first); other writers get one attempt
// unless nothing reached them yet. Bytes reach w as they arrive, before the
// checksum is known: on error, discard what w received.
func (f *Fetcher) Download(ctx context.Context, p Package, w io.Writer) error {
	if err := checkPackage(p); err != nil {
		return err
	}
	var s sink
	if file, ok := w.(*os.File); ok {
		s = fileSink{file}
	} else {
		s = &writerSink{w: w}
	}
	url := f.mirror() + "/" + p.Filename
	err := f.download(ctx, url, path.Base(p.Filename), want{size: p.Size, sha256: p.SHA256}, s)
	if IsNotFound(err) {
		return fmt.Errorf("%w: the mirror lacks a package its index lists (mid-sync?); retry later or use another --mirror", err)
	}
	return err
}

// ExtractFromDeb copies the regular file name (a path inside the package
// without the leading "./", e.g. "usr/src/linux-source-7.3.tar.xz") from
// the data archive of the .deb read from deb to w, streaming. Check the
// .deb's checksum first (Download does) so the decompressors only see data
// the archive vouches for. A missing file gives an error wrapping
// ErrNotInPackage.
func ExtractFromDeb(deb io.Reader, name string, w io.Writer) error {
	return extractFromDeb(deb, strings.TrimPrefix(path.Clean("/"+name), "/"), w)
}
