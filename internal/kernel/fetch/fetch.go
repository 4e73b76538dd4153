// Package fetch downloads Debian's sched_ext kernels into the kernel cache
// of package kernel, and fetches damaged ones again. It is kept out of
// package kernel because it links HTTP, TLS, OpenPGP and the
// decompressors: test binaries, which resolve kernels but never fetch
// them, boot as a VM's init, and under emulation those packages'
// initialisation alone costs every boot a fifth of a second. The ktstr
// command (kernel fetch, test, sched build) uses it; test binaries must not.
package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/kernel/debian"
	"github.com/ktstr-go/ktstr/internal/kernel/image"
	"github.com/ktstr-go/ktstr/internal/kernel/image/extract"
)

// MirrorEnv names the environment variable that gives the Debian archive
// URI when Options.Mirror is empty.
const MirrorEnv = env.DebianMirror

// Options configure Kernel and Repair. The zero value fetches the newest
// sched_ext kernel of trixie-backports for amd64 from the first apt source
// that serves that suite, into kernel.CacheDir().
type Options struct {
	// CacheDir defaults to kernel.CacheDir().
	CacheDir string
	// Mirror is the archive URI; it defaults to $KTSTR_DEBIAN_MIRROR, then
	// to the apt sources under AptDir.
	Mirror string
	// Suite and Arch default to debian.DefaultSuite and DefaultArch.
	Suite, Arch string
	// AptDir defaults to "/etc/apt".
	AptDir string
	// Keyrings are as in debian.Fetcher: nil means the host's Debian
	// archive keyrings.
	Keyrings []string
	// HTTP defaults to a client with connect and header timeouts.
	HTTP *http.Client
	// Progress is called as downloads advance; see
	// debian.TerminalProgress.
	Progress func(name string, done, total int64)
	// Log, if set, receives one-line notes for a person: the mirror used,
	// a cache hit, a kernel passed over, an unverified archive.
	Log io.Writer
	// Force downloads the kernel again even when the cache has it,
	// replacing the entry (a damaged one, say).
	Force bool
	// Release, when set, fetches that kernel release (uname -r, e.g.
	// "7.3.4+deb13-amd64") instead of the newest; Repair uses it.
	Release string
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// Kernel makes sure the newest sched_ext kernel of a Debian suite is in the
// cache and returns it. The release and package indexes are always read (to
// learn what is newest); the packages are downloaded only when that kernel
// is not cached yet. The bzImage, the vmlinux extracted from it and the
// config are stored together.
func Kernel(ctx context.Context, opts Options) (*kernel.Kernel, error) {
	cacheDir := opts.CacheDir
	if cacheDir == "" {
		d, err := kernel.CacheDir()
		if err != nil {
			return nil, err
		}
		cacheDir = d
	}
	fe := &debian.Fetcher{
		Suite: opts.Suite, Arch: opts.Arch, HTTP: opts.HTTP,
		Keyrings: opts.Keyrings, Progress: opts.Progress,
	}
	mirror, err := pickMirror(ctx, &opts, fe)
	if err != nil {
		return nil, err
	}
	fe.Mirror = mirror

	ix, err := fe.Index(ctx)
	if err != nil {
		return nil, err
	}
	if !ix.Verified {
		opts.logf("warning: the archive's signature was not verified (no Debian archive keyring on this host, or an unsigned archive); downloads are checked against its checksums only")
	}
	if opts.Release != "" {
		var keep []debian.Candidate
		for _, c := range ix.Candidates {
			if c.Release == opts.Release {
				keep = append(keep, c)
			}
		}
		if len(keep) == 0 {
			return nil, fmt.Errorf("kernel %s is no longer in %s %s; run `ktstr kernel fetch` for the newest", opts.Release, ix.Mirror, ix.Suite)
		}
		ix.Candidates = keep
	}
	have := func(c *debian.Candidate) bool {
		if opts.Force {
			return false
		}
		e, err := kernel.ReadEntry(cacheDir, cacheKey(c))
		return err == nil && e.SchedExt && e.PackageVersion == c.Version
	}
	ch, err := fe.Choose(ctx, ix, have)
	if err != nil {
		return nil, err
	}
	for _, s := range ch.Skipped {
		opts.logf("passed over %s", s)
	}
	key := cacheKey(&ch.Candidate)
	if !ch.Have {
		opts.logf("fetching %s (%s) from %s %s", ch.Candidate.Release, ch.Candidate.Version, ix.Mirror, ix.Suite)
		meta := kernel.Metadata{
			Version:         ch.Candidate.Release,
			PackageVersion:  ch.Candidate.Version,
			Source:          "debian:" + ix.Suite,
			Mirror:          ix.Mirror,
			SchedExt:        true, // Choose only returns such kernels
			ArchiveVerified: ix.Verified,
		}
		populate := func(dir string, meta *kernel.Metadata) error { return populateDebian(ctx, fe, ch, dir, meta) }
		if err := kernel.Store(cacheDir, key, meta, populate); err != nil {
			return nil, err
		}
	} else {
		opts.logf("%s (%s) is cached already", ch.Candidate.Release, ch.Candidate.Version)
	}
	e, err := kernel.ReadEntry(cacheDir, key)
	if err != nil {
		return nil, fmt.Errorf("read back cache entry %s: %w", key, err)
	}
	return e.Kernel(), nil
}

// cacheKey names the cache entry of a Debian kernel.
func cacheKey(c *debian.Candidate) string { return "debian-" + c.Release }

// Repair fetches a damaged entry that came from the Debian archive again,
// the same release from the same archive and suite when the metadata tells
// them, and returns the kernel. opts gives the cache, logging and progress;
// its Release, Force, Mirror and Suite are set here.
func Repair(ctx context.Context, e kernel.Entry, opts Options) (*kernel.Kernel, error) {
	if !e.FromArchive() {
		return nil, fmt.Errorf("kernel cache entry %s did not come from the Debian archive: %s", e.Key, e.RepairHint())
	}
	opts.Force = true
	opts.Release = e.Version
	if opts.Release == "" {
		opts.Release = strings.TrimPrefix(e.Key, "debian-")
	}
	if e.Mirror != "" {
		opts.Mirror = e.Mirror
	}
	if suite, ok := strings.CutPrefix(e.Source, "debian:"); ok && suite != "" {
		opts.Suite = suite
	}
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Dir(e.Dir)
	}
	return Kernel(ctx, opts)
}

// populateDebian writes vmlinuz, vmlinux and config into dir and completes
// meta from what they contain.
func populateDebian(ctx context.Context, fe *debian.Fetcher, ch *debian.Choice, dir string, meta *kernel.Metadata) error {
	if err := os.WriteFile(filepath.Join(dir, kernel.ConfigFile), ch.Config, 0o644); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	vmlinuz := filepath.Join(dir, kernel.ImageFile)
	f, err := os.Create(vmlinuz)
	if err != nil {
		return fmt.Errorf("create %s: %w", vmlinuz, err)
	}
	defer f.Close()
	h := sha256.New()
	if err := fe.Vmlinuz(ctx, &ch.Candidate, io.MultiWriter(f, h)); err != nil {
		return err
	}
	meta.SHA256 = hex.EncodeToString(h.Sum(nil))
	elf, err := extract.Vmlinux(f)
	if err != nil {
		return fmt.Errorf("extract vmlinux from %s %s: %w", ch.Candidate.Binary.Name, ch.Candidate.Version, err)
	}
	info, err := image.InspectReader(bytes.NewReader(elf))
	if err != nil {
		return fmt.Errorf("inspect the extracted vmlinux: %w", err)
	}
	meta.BTF, meta.PVH = info.HasBTF, info.HasPVH
	if err := os.WriteFile(filepath.Join(dir, kernel.VmlinuxFile), elf, 0o644); err != nil {
		return fmt.Errorf("write vmlinux: %w", err)
	}
	meta.FetchedAt = time.Now().UTC()
	return nil
}

// pickMirror chooses the archive URI: the option, the environment, or the
// first apt source that serves the suite.
func pickMirror(ctx context.Context, opts *Options, fe *debian.Fetcher) (string, error) {
	if opts.Mirror != "" {
		return opts.Mirror, nil
	}
	if m := os.Getenv(MirrorEnv); m != "" {
		return m, nil
	}
	return AptMirror(ctx, fe, opts.AptDir, opts.Suite, opts.logf)
}

// AptMirror returns the first Debian archive among the apt sources under
// aptDir ("" means /etc/apt) that serves suite ("" means the default):
// each is probed with a copy of fe. Security archives are passed over;
// they carry no backports. logf says which was chosen.
func AptMirror(ctx context.Context, fe *debian.Fetcher, aptDir, suite string, logf func(string, ...any)) (string, error) {
	if aptDir == "" {
		aptDir = "/etc/apt"
	}
	if suite == "" {
		suite = debian.DefaultSuite
	}
	uris, err := debian.SourcesURIs(aptDir)
	if err != nil {
		return "", err
	}
	var tried []string
	for _, u := range uris {
		if strings.HasSuffix(u, "-security") {
			continue
		}
		probe := *fe
		probe.Mirror = u
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := probe.Probe(pctx)
		cancel()
		if err == nil {
			logf("using Debian archive %s (from the apt sources under %s)", u, aptDir)
			return u, nil
		}
		tried = append(tried, fmt.Sprintf("%s: %v", u, err))
	}
	if len(tried) == 0 {
		return "", fmt.Errorf("the apt sources under %s name no Debian archive (only security ones); pass --mirror URI or set %s", aptDir, MirrorEnv)
	}
	return "", fmt.Errorf("no apt source serves suite %s:\n  %s\npass --mirror URI (a Debian archive with dists/%s) or set %s", suite, strings.Join(tried, "\n  "), suite, MirrorEnv)
}

// ResolveOrRepair resolves spec as kernel.Resolve does and, when that names
// a damaged entry that came from the Debian archive, fetches it again (with
// opts; its Log hears about it) instead of failing. Other damage is
// returned as a *kernel.DamagedError saying how to repair it.
func ResolveOrRepair(ctx context.Context, spec, cacheDir string, opts Options) (*kernel.Kernel, error) {
	k, err := kernel.Resolve(spec, cacheDir)
	var de *kernel.DamagedError
	if !errors.As(err, &de) || !de.Entry.FromArchive() {
		return k, err
	}
	opts.logf("%v", err)
	opts.logf("fetching %s again from the Debian archive", de.Entry.Key)
	k, rerr := Repair(ctx, de.Entry, opts)
	if rerr != nil {
		return nil, fmt.Errorf("%w; fetching it again failed: %v", err, rerr)
	}
	return k, nil
}
