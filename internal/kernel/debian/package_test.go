package debian_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/internal/kernel/debian"
	"github.com/ktstr-go/ktstr/internal/kernel/debian/archivetest"
)

// srcFixture is an archive with the kernels of newFixture plus two versions
// of an arch:all linux-source-7.3 package listed in binary-amd64/Packages,
// as Debian's archive does.
type srcFixture struct {
	srv        *archivetest.Server
	oldDeb     []byte
	newDeb     []byte
	tarball    []byte // usr/src/linux-source-7.3.tar.xz in the newest
	newPath    string
	newVersion string
}

func newSrcFixture(t *testing.T) *srcFixture {
	t.Helper()
	f := newFixture(t, nil) // for its kernels' bzImage
	sf := &srcFixture{tarball: []byte("pretend this is a tar.xz of the kernel tree"), newVersion: "7.3.4-1~bpo13+1"}
	sf.oldDeb = archivetest.BuildDeb(t, "linux-source-7.3", "7.3.1-1~bpo13+1", "all", "xz", map[string][]byte{
		"./usr/src/linux-source-7.3.tar.xz": []byte("old"),
	})
	sf.newDeb = archivetest.BuildDeb(t, "linux-source-7.3", sf.newVersion, "all", "xz", map[string][]byte{
		"./usr/src/linux-source-7.3.tar.xz":               sf.tarball,
		"./usr/share/doc/linux-source-7.3/copyright":      []byte("GPL-2.0"),
		"./usr/share/doc/linux-source-7.3/changelog.gz":   []byte("x"),
		"./usr/share/doc/linux-source-7.3/README.Debian":  []byte("y"),
		"./usr/share/doc/linux-source-7.3/more/deep/file": []byte("z"),
	})
	oldPath := "pool/main/l/linux/linux-source-7.3_7.3.1-1~bpo13+1_all.deb"
	sf.newPath = "pool/main/l/linux/linux-source-7.3_" + sf.newVersion + "_all.deb"
	stanza := func(version, file string, deb []byte) string {
		return fmt.Sprintf("Package: linux-source-7.3\nSource: linux\nVersion: %s\nArchitecture: all\nDepends: binutils, xz-utils\nFilename: %s\nSize: %d\nSHA256: %s\n\n",
			version, file, len(deb), archivetest.Sum(deb))
	}
	// The newest is listed first here, the older one after: Package must
	// sort, not take the first.
	extra := stanza("7.3.1-1~bpo13+1", oldPath, sf.oldDeb) + stanza(sf.newVersion, sf.newPath, sf.newDeb)
	sf.srv = archivetest.New(t, archivetest.Options{
		Kernels: []archivetest.Kernel{
			{Release: oldRel, Version: oldVer, Vmlinuz: f.bzImage, Config: []byte("CONFIG_SCHED_CLASS_EXT=y\n")},
		},
		ExtraPackages: extra,
	})
	sf.srv.Set(oldPath, sf.oldDeb)
	sf.srv.Set(sf.newPath, sf.newDeb)
	return sf
}

func (sf *srcFixture) index(t *testing.T) (*debian.Fetcher, *debian.Index) {
	t.Helper()
	fe := &debian.Fetcher{Mirror: sf.srv.URL, Keyrings: []string{}}
	ix, err := fe.Index(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return fe, ix
}

func TestIndexPackage(t *testing.T) {
	sf := newSrcFixture(t)
	_, ix := sf.index(t)
	p, err := ix.Package("linux-source-7.3")
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != sf.newVersion || p.Filename != sf.newPath || p.Size != int64(len(sf.newDeb)) || p.SHA256 != archivetest.Sum(sf.newDeb) {
		t.Errorf("Package = %+v, want the newest version %s", p, sf.newVersion)
	}
	vs := ix.Versions("linux-source-7.3")
	if len(vs) != 2 || vs[0].Version != sf.newVersion || vs[1].Version != "7.3.1-1~bpo13+1" {
		t.Errorf("Versions = %+v, want newest first", vs)
	}
	// Kernel packages are in the general index too.
	if _, err := ix.Package("linux-binary-" + oldRel); err != nil {
		t.Errorf("kernel package not found by name: %v", err)
	}
	// Candidates are unchanged by the extra packages.
	if len(ix.Candidates) != 1 || ix.Candidates[0].Release != oldRel {
		t.Errorf("candidates = %+v", ix.Candidates)
	}
	_, err = ix.Package("linux-source-9.9")
	if err == nil || !strings.Contains(err.Error(), "linux-source-9.9") || !strings.Contains(err.Error(), "trixie-backports") {
		t.Errorf("missing package: err = %v, want one naming the package and suite", err)
	}
	if vs := ix.Versions("linux-source-9.9"); vs != nil {
		t.Errorf("Versions of a missing package = %v", vs)
	}
}

func TestDownloadAndExtract(t *testing.T) {
	sf := newSrcFixture(t)
	fe, ix := sf.index(t)
	p, err := ix.Package("linux-source-7.3")
	if err != nil {
		t.Fatal(err)
	}
	var progressed int64
	fe.Progress = func(name string, done, total int64) { progressed = done }

	// To a file, then extract from it.
	file, err := os.Create(filepath.Join(t.TempDir(), "src.deb"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if err := fe.Download(ctx(t), p, file); err != nil {
		t.Fatal(err)
	}
	if progressed != int64(len(sf.newDeb)) {
		t.Errorf("progress ended at %d, want %d", progressed, len(sf.newDeb))
	}
	if _, err := file.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := debian.ExtractFromDeb(file, "usr/src/linux-source-7.3.tar.xz", &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), sf.tarball) {
		t.Errorf("extracted %q, want %q", out.Bytes(), sf.tarball)
	}
	// A leading "./" or "/" names the same member.
	out.Reset()
	if err := debian.ExtractFromDeb(bytes.NewReader(sf.newDeb), "./usr/src/linux-source-7.3.tar.xz", &out); err != nil || !bytes.Equal(out.Bytes(), sf.tarball) {
		t.Errorf("extract ./usr/...: %q, %v", out.Bytes(), err)
	}

	// To a plain writer.
	var buf bytes.Buffer
	if err := fe.Download(ctx(t), p, &buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), sf.newDeb) {
		t.Error("downloaded bytes differ from the served .deb")
	}

	err = debian.ExtractFromDeb(bytes.NewReader(sf.newDeb), "usr/src/nope.tar.xz", &out)
	if !errors.Is(err, debian.ErrNotInPackage) || !strings.Contains(err.Error(), "usr/src/nope.tar.xz") {
		t.Errorf("missing member: err = %v, want ErrNotInPackage naming it", err)
	}
	err = debian.ExtractFromDeb(bytes.NewReader([]byte("not a deb at all")), "usr/src/linux-source-7.3.tar.xz", &out)
	if err == nil || !strings.Contains(err.Error(), "ar archive") {
		t.Errorf("garbage .deb: err = %v", err)
	}
}

func TestDownloadFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(sf *srcFixture)
		want  []string
	}{
		{"bad checksum", func(sf *srcFixture) {
			bad := bytes.Clone(sf.newDeb)
			bad[len(bad)-1] ^= 0xff // same size, different content
			sf.srv.Set(sf.newPath, bad)
		}, []string{"SHA256 mismatch", "another --mirror"}},
		{"wrong size", func(sf *srcFixture) {
			sf.srv.Set(sf.newPath, append(bytes.Clone(sf.newDeb), 0))
		}, []string{"archive index says"}},
		{"missing", func(sf *srcFixture) { sf.srv.Delete(sf.newPath) }, []string{"404", "lacks a package its index lists"}},
		{"truncated", func(sf *srcFixture) { sf.srv.Truncate(sf.newPath, 10) }, []string{"expected"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sf := newSrcFixture(t)
			fe, ix := sf.index(t)
			p, err := ix.Package("linux-source-7.3")
			if err != nil {
				t.Fatal(err)
			}
			tc.fault(sf)
			for _, w := range []struct {
				kind string
				make func() (io.Writer, func())
			}{
				{"file", func() (io.Writer, func()) {
					f, err := os.Create(filepath.Join(t.TempDir(), "x.deb"))
					if err != nil {
						t.Fatal(err)
					}
					return f, func() { f.Close() }
				}},
				{"buffer", func() (io.Writer, func()) { return &bytes.Buffer{}, func() {} }},
			} {
				dst, done := w.make()
				err := fe.Download(ctx(t), p, dst)
				done()
				if err == nil {
					t.Fatalf("%s: Download succeeded", w.kind)
				}
				for _, s := range tc.want {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("%s: error %q does not mention %q", w.kind, err, s)
					}
				}
			}
		})
	}
}

func TestDownloadRefusesUnverifiable(t *testing.T) {
	fe := &debian.Fetcher{Mirror: "http://127.0.0.1:1/debian", Keyrings: []string{}}
	for _, p := range []debian.Package{
		{Name: "a", Filename: "pool/a.deb", Size: 1},                  // no SHA256
		{Name: "b", Filename: "pool/b.deb", SHA256: "00"},             // no size
		{Name: "c", Filename: "../etc/passwd", Size: 1, SHA256: "00"}, // escapes
		{Name: "d", Filename: "/pool/d.deb", Size: 1, SHA256: "00"},   // absolute
		{Name: "e", Filename: "pool/./e.deb", Size: 1, SHA256: "00"},  // not clean
	} {
		err := fe.Download(ctx(t), p, &bytes.Buffer{})
		if err == nil || !(strings.Contains(err.Error(), "cannot verify") || strings.Contains(err.Error(), "bad Filename")) {
			t.Errorf("%+v: err = %v", p, err)
		}
	}
}
