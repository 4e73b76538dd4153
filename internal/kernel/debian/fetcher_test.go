package debian_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/ktstr-go/ktstr/internal/kernel/debian"
	"github.com/ktstr-go/ktstr/internal/kernel/debian/archivetest"
	"github.com/ktstr-go/ktstr/internal/kernel/image/extract"
	"github.com/ktstr-go/ktstr/internal/kernel/image/imagetest"
	"github.com/ktstr-go/ktstr/internal/kernel/kconfig"
)

const (
	newRel, newVer = "7.4.1+deb13-amd64", "7.4.1-1~bpo13+1"
	oldRel, oldVer = "7.3.4+deb13-amd64", "7.3.4-1~bpo13+1"
)

// fixture is an archive offering two kernels; the newest lacks sched_ext,
// so the older one must be chosen. A -cloud flavour and an unsigned variant
// are present too and must be ignored.
type fixture struct {
	srv     *archivetest.Server
	vmlinux []byte // the ELF inside the chosen kernel's bzImage
	bzImage []byte
}

func newFixture(t *testing.T, signer *openpgp.Entity) *fixture {
	t.Helper()
	elf := imagetest.ELF(imagetest.ELFOptions{PVH: true, BTF: true, Release: oldRel})
	bz := imagetest.BzImage(imagetest.Zstd(elf), oldRel+" (test@example) #1 SMP")
	newBz := imagetest.BzImage(imagetest.Zstd(imagetest.ELF(imagetest.ELFOptions{Release: newRel})), newRel)
	o := archivetest.Options{
		Kernels: []archivetest.Kernel{
			{Release: oldRel, Version: oldVer, Vmlinuz: bz, Config: []byte("CONFIG_HZ=250\nCONFIG_SCHED_CLASS_EXT=y\n")},
			{Release: newRel, Version: newVer, Vmlinuz: newBz, Config: []byte("CONFIG_HZ=250\n# CONFIG_SCHED_CLASS_EXT is not set\n"), DataCompression: "zst"},
			{Release: "7.9.9+deb13-cloud-amd64", Version: "7.9.9-1~bpo13+1", Vmlinuz: []byte("cloud"), Config: []byte("CONFIG_SCHED_CLASS_EXT=y\n")},
		},
		ExtraPackages: "Package: linux-binary-unsigned-9.9.9+deb13-amd64\nVersion: 9.9.9-1\nFilename: pool/x.deb\nSize: 1\nSHA256: 00\n\n",
	}
	o.Signer = signer
	return &fixture{srv: archivetest.New(t, o), vmlinux: elf, bzImage: bz}
}

func (f *fixture) fetcher(keyrings ...string) *debian.Fetcher {
	if keyrings == nil {
		keyrings = []string{} // no verification
	}
	return &debian.Fetcher{Mirror: f.srv.URL, Keyrings: keyrings}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestFetchPicksNewestWithSchedExt(t *testing.T) {
	f := newFixture(t, nil)
	var progressed int64
	fe := f.fetcher()
	fe.Progress = func(name string, done, total int64) { progressed = done }
	dest := t.TempDir()
	res, err := fe.Fetch(ctx(t), dest)
	if err != nil {
		t.Fatal(err)
	}
	if res.Release != oldRel || res.Version != oldVer {
		t.Fatalf("chose %s %s, want %s %s", res.Release, res.Version, oldRel, oldVer)
	}
	if res.Verified {
		t.Error("Verified = true without a keyring")
	}
	if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0], newRel) || !strings.Contains(res.Skipped[0], "CONFIG_SCHED_CLASS_EXT") {
		t.Errorf("Skipped = %q, want the newer kernel and why", res.Skipped)
	}
	got, err := os.ReadFile(res.Vmlinuz)
	if err != nil || !bytes.Equal(got, f.bzImage) {
		t.Fatalf("vmlinuz: %d bytes, %v; want the %d-byte bzImage", len(got), err, len(f.bzImage))
	}
	cfg, _ := os.ReadFile(filepath.Join(dest, "config"))
	if !kconfig.Enabled(cfg, "SCHED_CLASS_EXT") {
		t.Errorf("config = %q", cfg)
	}
	vmlinux, err := extract.Vmlinux(bytes.NewReader(got))
	if err != nil || !bytes.Equal(vmlinux, f.vmlinux) {
		t.Fatalf("extract.Vmlinux of the fetched kernel: %v", err)
	}
	if progressed == 0 {
		t.Error("Progress was never called")
	}
	// Only the newer kernel's base (to read its config), the chosen
	// kernel's base and binary were downloaded.
	if n := f.srv.DebHits(); n != 3 {
		t.Errorf("downloaded %d .debs, want 3", n)
	}
}

func TestIndexCandidates(t *testing.T) {
	f := newFixture(t, nil)
	ix, err := f.fetcher().Index(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range ix.Candidates {
		got = append(got, c.Release+" "+c.Version)
		if c.Base.Name != "linux-base-"+c.Release || c.Base.SHA256 == "" || c.Binary.Size == 0 {
			t.Errorf("candidate %s: incomplete %+v", c.Release, c)
		}
	}
	want := newRel + " " + newVer + "," + oldRel + " " + oldVer
	if strings.Join(got, ",") != want {
		t.Errorf("candidates = %q, want %q (no flavours, no unsigned, newest first)", got, want)
	}
}

func TestChooseHave(t *testing.T) {
	f := newFixture(t, nil)
	fe := f.fetcher()
	ix, err := fe.Index(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := fe.Choose(ctx(t), ix, func(c *debian.Candidate) bool { return c.Release == newRel })
	if err != nil || !ch.Have || ch.Candidate.Release != newRel {
		t.Fatalf("Choose = %+v, %v; want the cached newest kernel", ch, err)
	}
	if n := f.srv.DebHits(); n != 0 {
		t.Errorf("downloaded %d .debs for a kernel the caller has", n)
	}
}

func TestNoSchedExtKernel(t *testing.T) {
	f := newFixture(t, nil)
	// An archive whose kernels all lack sched_ext.
	srv := archivetest.New(t, archivetest.Options{Kernels: []archivetest.Kernel{
		{Release: oldRel, Version: oldVer, Vmlinuz: f.bzImage, Config: []byte("CONFIG_HZ=250\n")},
		{Release: newRel, Version: newVer, Vmlinuz: f.bzImage, Config: []byte("CONFIG_HZ=1000\n")},
	}})
	_, err := (&debian.Fetcher{Mirror: srv.URL, Keyrings: []string{}}).Latest(ctx(t))
	if err == nil {
		t.Fatal("Latest succeeded without a sched_ext kernel")
	}
	for _, s := range []string{"no kernel with CONFIG_SCHED_CLASS_EXT=y", oldRel, newRel, "--suite"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

func TestFetchFaults(t *testing.T) {
	const pkgs = "dists/trixie-backports/main/binary-amd64/Packages"
	for _, tc := range []struct {
		name  string
		fault func(s *archivetest.Server)
		want  []string
	}{
		{"bad Packages checksum", func(s *archivetest.Server) {
			b := bytes.Clone(s.Get(pkgs + ".xz"))
			b[len(b)/2] ^= 0xff
			s.Set(pkgs+".xz", b)
		}, []string{"SHA256 mismatch", "Packages.xz", "expected "}},
		{"bad deb checksum", func(s *archivetest.Server) {
			p := s.Path("linux-binary-" + oldRel)
			b := bytes.Clone(s.Get(p))
			b[len(b)-3] ^= 0xff
			s.Set(p, b)
		}, []string{"SHA256 mismatch", "linux-binary-" + oldRel, "expected ", ", got "}},
		{"truncated deb", func(s *archivetest.Server) {
			p := s.Path("linux-binary-" + oldRel)
			s.Truncate(p, len(s.Get(p))/2)
		}, []string{"linux-binary-" + oldRel, "got ", "expected ", "the same after a retry"}},
		{"deb of the wrong size", func(s *archivetest.Server) {
			p := s.Path("linux-base-" + oldRel)
			s.Set(p, append(bytes.Clone(s.Get(p)), 0))
		}, []string{"linux-base-" + oldRel, "archive index says"}},
		{"deb 404", func(s *archivetest.Server) {
			s.Delete(s.Path("linux-binary-" + oldRel))
		}, []string{"404", "linux-binary-" + oldRel}},
		{"suite 404", func(s *archivetest.Server) {
			s.Delete("dists/trixie-backports/Release")
		}, []string{`suite "trixie-backports" not found`, "--suite", "--mirror"}},
		{"no Packages index", func(s *archivetest.Server) {
			s.Delete(pkgs + ".xz")
			s.Delete(pkgs + ".gz")
			s.Delete(pkgs)
		}, []string{"serves none of them", "--mirror"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			tc.fault(f.srv)
			_, err := f.fetcher().Fetch(ctx(t), t.TempDir())
			if err == nil {
				t.Fatal("Fetch succeeded despite the fault")
			}
			t.Log(err)
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestPackagesFallback(t *testing.T) {
	// The mirror lacks Packages.xz although Release lists it: the .gz
	// index must be used.
	f := newFixture(t, nil)
	f.srv.Delete("dists/trixie-backports/main/binary-amd64/Packages.xz")
	if _, err := f.fetcher().Index(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if f.srv.Hits("dists/trixie-backports/main/binary-amd64/Packages.gz") != 1 {
		t.Error("Packages.gz was not fetched")
	}
}

func TestSignedInRelease(t *testing.T) {
	key, keyring := archivetest.NewKey(t, "Test Archive Signing Key")
	f := newFixture(t, key)
	ix, err := f.fetcher(keyring).Index(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !ix.Verified || !strings.Contains(ix.Signer, "Test Archive Signing Key") {
		t.Errorf("Verified = %v, Signer = %q; want verified by the test key", ix.Verified, ix.Signer)
	}
	if f.srv.Hits("dists/trixie-backports/Release") != 0 {
		t.Error("plain Release fetched although InRelease exists")
	}

	// Without keyrings the clearsigned text is still read.
	ix, err = f.fetcher().Index(ctx(t))
	if err != nil || ix.Verified {
		t.Errorf("unverified Index = %v, %v", ix, err)
	}
}

func TestWrongKey(t *testing.T) {
	key, _ := archivetest.NewKey(t, "Archive Key")
	_, otherKeyring := archivetest.NewKey(t, "Some Other Key")
	f := newFixture(t, key)
	_, err := f.fetcher(otherKeyring).Index(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "InRelease signature check failed") {
		t.Fatalf("error = %v, want a signature failure", err)
	}
}

func TestTamperedInRelease(t *testing.T) {
	key, keyring := archivetest.NewKey(t, "Archive Key")
	f := newFixture(t, key)
	p := "dists/trixie-backports/InRelease"
	f.srv.Set(p, bytes.Replace(f.srv.Get(p), []byte("Origin: Test"), []byte("Origin: Evil"), 1))
	_, err := f.fetcher(keyring).Index(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "signature check failed") {
		t.Fatalf("error = %v, want a signature failure", err)
	}
}

func TestDefaultKeyringsSkipRemoved(t *testing.T) {
	for _, p := range debian.DefaultKeyrings() {
		if strings.Contains(p, "removed") {
			t.Errorf("DefaultKeyrings includes %s", p)
		}
	}
}

func TestNoMirror(t *testing.T) {
	_, err := (&debian.Fetcher{}).Index(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "--mirror") {
		t.Fatalf("error = %v, want advice to pass --mirror", err)
	}
}

func TestTerminalProgress(t *testing.T) {
	var b bytes.Buffer
	p := debian.TerminalProgress(&b)
	p("x.deb", 0, 2_000_000)
	p("x.deb", 1_000_000, 2_000_000) // throttled
	p("x.deb", 2_000_000, 2_000_000)
	if out := b.String(); !strings.Contains(out, "100%") || !strings.HasSuffix(out, "\n") || strings.Contains(out, " 50%") {
		t.Errorf("progress output %q", out)
	}
}
