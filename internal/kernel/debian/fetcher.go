package debian

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/ktstr-go/ktstr/internal/kernel/kconfig"
)

// Defaults for Fetcher fields left empty.
const (
	// DefaultSuite is the first Debian suite whose kernels have
	// CONFIG_SCHED_CLASS_EXT=y (trixie itself ships 6.12 without it).
	DefaultSuite = "trixie-backports"
	// DefaultArch is the only architecture the harness boots.
	DefaultArch = "amd64"
)

// Fetcher downloads kernels from one suite of a Debian archive.
type Fetcher struct {
	// Mirror is the archive base URI, the one apt's sources name, e.g.
	// "http://host/debian". Required.
	Mirror string
	// Suite defaults to DefaultSuite.
	Suite string
	// Arch defaults to DefaultArch.
	Arch string
	// HTTP is the client to use; nil means a default one with connection
	// and response-header timeouts. Cancel the context to bound a whole
	// download.
	HTTP *http.Client
	// Keyrings are OpenPGP keyring files trusted to sign the archive. Nil
	// means DefaultKeyrings(); an empty non-nil slice turns verification
	// off (Index.Verified is then false).
	Keyrings []string
	// Progress, if set, is called as downloads advance; total is -1 when
	// unknown. See TerminalProgress.
	Progress func(name string, done, total int64)
	// TempDir holds .deb files while they are unpacked; "" means
	// os.TempDir().
	TempDir string
}

// Package is one binary package entry of a Packages index.
type Package struct {
	Name     string // e.g. "linux-binary-7.3.4+deb13-amd64"
	Version  string // e.g. "7.3.4-1~bpo13+1"
	Filename string // path below the mirror, e.g. "pool/main/l/linux/..."
	Size     int64  // bytes of the .deb
	SHA256   string // hex digest of the .deb
}

// Candidate is a kernel the index offers: the linux-binary package with the
// bzImage and the linux-base package of the same version with its config.
type Candidate struct {
	// Release is the kernel release (uname -r), e.g. "7.3.4+deb13-amd64".
	Release string
	// Version is the package version, e.g. "7.3.4-1~bpo13+1".
	Version string
	// Binary holds usr/lib/modules/<release>/vmlinuz.
	Binary Package
	// Base holds usr/lib/modules/<release>/config; it is zero when the index has no matching linux-base package.
	Base Package
}

// Index is what a suite offers, read through the chain of trust.
type Index struct {
	// Mirror, Suite and Arch say where the index was read.
	Mirror, Suite, Arch string
	// Verified reports that the release file's OpenPGP signature was
	// checked against a trusted keyring. When false (no keyring on the
	// host, or an unsigned archive), callers should warn: the checksums
	// then only guard against corruption, not tampering.
	Verified bool
	// Signer names the key that signed the release file, if verified.
	Signer string
	// Candidates holds every plain-flavour kernel, newest first.
	Candidates []Candidate
	// packages holds every package of the index by name; see Package.
	packages packageIndex
}

// Choice is the kernel Choose picked.
type Choice struct {
	// Index is the index the choice was made from.
	Index *Index
	// Candidate is the chosen kernel.
	Candidate Candidate
	// Config is the kernel's config; nil when Have is true.
	Config []byte
	// Have is true when the caller's have() accepted the candidate, so
	// nothing was downloaded for it.
	Have bool
	// Skipped lists newer candidates passed over, each with the reason.
	Skipped []string
}

// Result describes a kernel Fetch wrote to disk.
type Result struct {
	// Release and Version are the kernel release and package version.
	Release, Version string
	// Mirror, Suite and Arch say where it came from.
	Mirror, Suite, Arch string
	// Vmlinuz and Config are the paths of the written files.
	Vmlinuz, Config string
	// Verified and Signer are as in Index.
	Verified bool
	Signer   string
	// Skipped is as in Choice.
	Skipped []string
}

func (f *Fetcher) suite() string { return orDefault(f.Suite, DefaultSuite) }
func (f *Fetcher) arch() string  { return orDefault(f.Arch, DefaultArch) }
func (f *Fetcher) mirror() string {
	return strings.TrimRight(f.Mirror, "/")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Choose walks the index's kernels from the newest and returns the first
// that has CONFIG_SCHED_CLASS_EXT=y, downloading each linux-base package to
// read its config. A candidate for which have returns true is chosen
// without downloading anything (the caller has it cached already). The
// error, when none fits, lists every kernel tried and why it was passed
// over.
func (f *Fetcher) Choose(ctx context.Context, ix *Index, have func(*Candidate) bool) (*Choice, error) {
	var skipped []string
	for i := range ix.Candidates {
		c := &ix.Candidates[i]
		if have != nil && have(c) {
			return &Choice{Index: ix, Candidate: *c, Have: true, Skipped: skipped}, nil
		}
		if c.Base.Name == "" {
			skipped = append(skipped, fmt.Sprintf("%s (%s): no linux-base-%s package of that version in the index", c.Release, c.Version, c.Release))
			continue
		}
		cfg, err := f.Config(ctx, c)
		if err != nil {
			return nil, err
		}
		if !kconfig.Enabled(cfg, "CONFIG_SCHED_CLASS_EXT") {
			skipped = append(skipped, fmt.Sprintf("%s (%s): config lacks CONFIG_SCHED_CLASS_EXT=y", c.Release, c.Version))
			continue
		}
		return &Choice{Index: ix, Candidate: *c, Config: cfg, Skipped: skipped}, nil
	}
	return nil, fmt.Errorf("no kernel with CONFIG_SCHED_CLASS_EXT=y in %s (%s) at %s; tried:\n  %s\nuse a suite with newer kernels (--suite %s)",
		ix.Suite, ix.Arch, ix.Mirror, strings.Join(skipped, "\n  "), DefaultSuite)
}

// Latest reads the index and chooses the newest sched_ext kernel.
func (f *Fetcher) Latest(ctx context.Context) (*Choice, error) {
	ix, err := f.Index(ctx)
	if err != nil {
		return nil, err
	}
	return f.Choose(ctx, ix, nil)
}

// Config downloads the candidate's linux-base package and returns the
// kernel config from it.
func (f *Fetcher) Config(ctx context.Context, c *Candidate) ([]byte, error) {
	var buf bytes.Buffer
	if err := f.extract(ctx, c.Base, "usr/lib/modules/"+c.Release+"/config", &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Vmlinuz downloads the candidate's linux-binary package and writes the
// bzImage from it to w.
func (f *Fetcher) Vmlinuz(ctx context.Context, c *Candidate, w io.Writer) error {
	return f.extract(ctx, c.Binary, "usr/lib/modules/"+c.Release+"/vmlinuz", w)
}

// extract downloads a .deb to a temporary file, checks it against the index
// and copies one file out of it. The temporary file keeps the .deb out of
// memory and lets the checksum be known before any of it is unpacked.
func (f *Fetcher) extract(ctx context.Context, p Package, name string, w io.Writer) error {
	// Refuse a bad index entry before making the temporary file.
	if err := checkPackage(p); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(f.TempDir, "ktstr-*.deb")
	if err != nil {
		return fmt.Errorf("create a temporary file for %s: %w; set TMPDIR to a writable directory", p.Name, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := f.Download(ctx, p, tmp); err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind %s: %w", tmp.Name(), err)
	}
	if err := extractFromDeb(tmp, name, w); err != nil {
		return fmt.Errorf("%s/%s: %w", f.mirror(), p.Filename, err)
	}
	return nil
}

// Fetch chooses the newest sched_ext kernel and writes its bzImage and
// config into destDir as "vmlinuz" and "config".
func (f *Fetcher) Fetch(ctx context.Context, destDir string) (*Result, error) {
	ch, err := f.Latest(ctx)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return nil, fmt.Errorf("create destination: %w", err)
	}
	res := &Result{
		Release: ch.Candidate.Release, Version: ch.Candidate.Version,
		Mirror: ch.Index.Mirror, Suite: ch.Index.Suite, Arch: ch.Index.Arch,
		Vmlinuz: filepath.Join(destDir, "vmlinuz"), Config: filepath.Join(destDir, "config"),
		Verified: ch.Index.Verified, Signer: ch.Index.Signer, Skipped: ch.Skipped,
	}
	if err := os.WriteFile(res.Config, ch.Config, 0o644); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	out, err := os.Create(res.Vmlinuz)
	if err != nil {
		return nil, fmt.Errorf("create vmlinuz: %w", err)
	}
	err = f.Vmlinuz(ctx, &ch.Candidate, out)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write %s: %w", res.Vmlinuz, cerr)
	}
	if err != nil {
		os.Remove(res.Vmlinuz)
		return nil, err
	}
	return res, nil
}

// Probe checks that the mirror serves the suite, cheaply (HEAD requests of
// its release files), so a caller can pick a mirror among several.
func (f *Fetcher) Probe(ctx context.Context) error {
	var last error
	for _, name := range []string{"InRelease", "Release"} {
		url := f.mirror() + "/dists/" + f.suite() + "/" + name
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
		if err != nil {
			return fmt.Errorf("bad archive URI %q: %w", f.Mirror, err)
		}
		resp, err := f.client().Do(req)
		if err != nil {
			return fmt.Errorf("HEAD %s: %w", url, err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = &StatusError{URL: url, Code: resp.StatusCode, Status: resp.Status}
	}
	return last
}
