// Package archivetest serves a small fake Debian archive over loopback HTTP
// for tests: a suite with a signed or unsigned release file, a Packages
// index, and .deb files built on the fly in the layout of Debian's split
// kernel packages (linux-binary-<release> with the vmlinuz, linux-base-
// <release> with the config). Faults (corrupt, truncated or missing files)
// can be injected per path.
package archivetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Kernel is one kernel version to put in the archive.
type Kernel struct {
	Release string // e.g. "7.3.4+deb13-amd64"
	Version string // package version, e.g. "7.3.4-1~bpo13+1"
	Vmlinuz []byte
	Config  []byte
	// DataCompression of data.tar: "xz" (default, as Debian uses), "zst",
	// "gz" or "none".
	DataCompression string
}

// Options describe the archive.
type Options struct {
	Suite   string // default "trixie-backports"
	Arch    string // default "amd64"
	Kernels []Kernel
	// Signer, if set, clearsigns InRelease; otherwise only Release is
	// served.
	Signer *openpgp.Entity
	// Extra stanzas appended to the Packages index verbatim.
	ExtraPackages string
}

// Server is a running fake archive.
type Server struct {
	// URL is the archive base URI (the "mirror").
	URL string

	mu       sync.Mutex
	files    map[string][]byte
	truncate map[string]int
	hits     map[string]int
}

// New builds the archive and serves it until the test ends.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Suite == "" {
		o.Suite = "trixie-backports"
	}
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	s := &Server{files: map[string][]byte{}, truncate: map[string]int{}, hits: map[string]int{}}
	var pk strings.Builder
	for _, k := range o.Kernels {
		bin := fmt.Sprintf("linux-binary-%s", k.Release)
		base := fmt.Sprintf("linux-base-%s", k.Release)
		modDir := "./usr/lib/modules/" + k.Release + "/"
		binDeb := BuildDeb(t, bin, k.Version, o.Arch, k.DataCompression, map[string][]byte{modDir + "vmlinuz": k.Vmlinuz})
		baseDeb := BuildDeb(t, base, k.Version, o.Arch, k.DataCompression, map[string][]byte{
			modDir + "config": k.Config, modDir + "System.map": []byte("ffffffffffffffff B The real System.map is in the linux-image-dbg package\n"),
		})
		for _, p := range []struct {
			name, dir string
			deb       []byte
		}{{base, "pool/main/l/linux/", baseDeb}, {bin, "pool/main/l/linux-signed-" + o.Arch + "/", binDeb}} {
			file := p.dir + p.name + "_" + strings.ReplaceAll(k.Version, ":", "%3a") + "_" + o.Arch + ".deb"
			s.files[file] = p.deb
			fmt.Fprintf(&pk, "Package: %s\nVersion: %s\nArchitecture: %s\nDescription: Linux %s\n multi-line description\nFilename: %s\nSize: %d\nSHA256: %s\n\n",
				p.name, k.Version, o.Arch, k.Release, file, len(p.deb), Sum(p.deb))
		}
	}
	pk.WriteString(o.ExtraPackages)
	packages := []byte(pk.String())
	dists := "dists/" + o.Suite + "/"
	idx := "main/binary-" + o.Arch + "/Packages"
	comp := map[string][]byte{idx: packages, idx + ".xz": compressXz(t, packages), idx + ".gz": compressGz(packages)}
	var rel strings.Builder
	fmt.Fprintf(&rel, "Origin: Test\nSuite: stable-backports\nCodename: %s\nDate: %s\nArchitectures: %s\nComponents: main\nSHA256:\n",
		o.Suite, time.Now().UTC().Format(time.RFC1123), o.Arch)
	names := make([]string, 0, len(comp))
	for n := range comp {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s.files[dists+n] = comp[n]
		fmt.Fprintf(&rel, " %s %8d %s\n", Sum(comp[n]), len(comp[n]), n)
	}
	s.files[dists+"Release"] = []byte(rel.String())
	if o.Signer != nil {
		s.files[dists+"InRelease"] = Clearsign(t, o.Signer, []byte(rel.String()))
	}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/debian"
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, "/debian/")
	s.mu.Lock()
	s.hits[p]++
	data, found := s.files[p]
	cut, truncated := s.truncate[p]
	s.mu.Unlock()
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	if truncated {
		// Announce the full length, send part of it and hang up, as a
		// dropped connection does.
		w.Write(data[:cut])
		return
	}
	w.Write(data)
}

// Path returns the archive path of a kernel's package, e.g. for Set.
func (s *Server) Path(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.files {
		if strings.Contains(p, "/"+prefix) {
			return p
		}
	}
	return ""
}

// Get returns the bytes served at path.
func (s *Server) Get(path string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[path]
}

// Set replaces (or adds) the bytes served at path, without updating any
// checksum that names it.
func (s *Server) Set(path string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = data
}

// Delete makes path answer 404.
func (s *Server) Delete(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, path)
}

// Truncate makes path send only its first n bytes, then close.
func (s *Server) Truncate(path string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncate[path] = n
}

// Hits returns how many times path was requested. Paths below the archive
// are relative ("dists/..."); requests outside it count under their full
// URL path ("/elsewhere/dists/...").
func (s *Server) Hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// DebHits returns how many .deb downloads were requested in total.
func (s *Server) DebHits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, c := range s.hits {
		if strings.HasSuffix(p, ".deb") {
			n += c
		}
	}
	return n
}

// Sum returns the hex SHA256 of data.
func Sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// BuildDeb builds a .deb: an ar archive of debian-binary, control.tar.xz
// and data.tar.<compression> holding files (paths like "./usr/...").
func BuildDeb(t testing.TB, name, version, arch, compression string, files map[string][]byte) []byte {
	t.Helper()
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Test <test@example>\nDescription: test\n", name, version, arch)
	controlTar := buildTar(t, map[string][]byte{"./control": []byte(control)})
	data := buildTar(t, files)
	member := "data.tar"
	switch compression {
	case "", "xz":
		data, member = compressXz(t, data), "data.tar.xz"
	case "zst":
		enc, _ := zstd.NewWriter(nil)
		data, member = enc.EncodeAll(data, nil), "data.tar.zst"
		enc.Close()
	case "gz":
		data, member = compressGz(data), "data.tar.gz"
	case "none":
	default:
		t.Fatalf("archivetest: unknown compression %q", compression)
	}
	var ar bytes.Buffer
	ar.WriteString("!<arch>\n")
	for _, m := range []struct {
		name string
		data []byte
	}{{"debian-binary", []byte("2.0\n")}, {"control.tar.xz", compressXz(t, controlTar)}, {member, data}} {
		fmt.Fprintf(&ar, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, 0, 0, 0, "100644", len(m.data))
		ar.Write(m.data)
		if len(m.data)%2 == 1 {
			ar.WriteByte('\n')
		}
	}
	return ar.Bytes()
}

// buildTar makes a tar stream with parent directories, as dpkg-deb does.
func buildTar(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	dirs := map[string]bool{}
	for _, n := range names {
		for d := filepath.Dir(n); d != "." && d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	dirNames := make([]string, 0, len(dirs))
	for d := range dirs {
		dirNames = append(dirNames, d)
	}
	sort.Strings(dirNames)
	tw.WriteHeader(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, d := range dirNames {
		tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	}
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n]))}); err != nil {
			t.Fatal(err)
		}
		tw.Write(files[n])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func compressXz(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w, err := xz.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func compressGz(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// NewKey makes an OpenPGP signing key (Ed25519, fast to generate) and
// writes its public part as a binary keyring, like the files in
// /usr/share/keyrings, to a temporary file whose path it returns.
func NewKey(t testing.TB, name string) (*openpgp.Entity, string) {
	t.Helper()
	e, err := openpgp.NewEntity(name, "test", "archive@example", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := e.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "keyring.gpg")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return e, path
}

// Clearsign signs text as an InRelease file.
func Clearsign(t testing.TB, e *openpgp.Entity, text []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := clearsign.Encode(&b, e.PrivateKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(text)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
