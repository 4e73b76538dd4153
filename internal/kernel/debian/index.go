package debian

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ulikunitz/xz"
)

// Index downloads and checks the suite's release file and Packages index,
// and lists the kernels on offer.
func (f *Fetcher) Index(ctx context.Context) (*Index, error) {
	if f.Mirror == "" {
		return nil, errors.New("no Debian archive URI given: pass --mirror (e.g. the URI of a deb line in the apt sources) or set KTSTR_DEBIAN_MIRROR")
	}
	ix := &Index{Mirror: f.mirror(), Suite: f.suite(), Arch: f.arch()}
	dists := ix.Mirror + "/dists/" + ix.Suite + "/"

	keyringPaths := f.Keyrings
	if keyringPaths == nil {
		keyringPaths = DefaultKeyrings()
	}
	var keyring openpgp.EntityList
	if len(keyringPaths) > 0 {
		var err error
		if keyring, err = loadKeyring(keyringPaths); err != nil {
			return nil, err
		}
	}

	text, err := f.releaseText(ctx, dists, keyring, ix)
	if err != nil {
		return nil, err
	}
	rel, err := parseRelease(text)
	if err != nil {
		return nil, fmt.Errorf("%sRelease: %w", dists, err)
	}
	packages, err := f.packagesIndex(ctx, dists, rel, ix.Arch)
	if err != nil {
		return nil, err
	}
	stanzas := parseStanzas(packages)
	ix.Candidates = candidates(stanzas, ix.Arch)
	ix.packages = indexPackages(stanzas)
	if len(ix.Candidates) == 0 {
		return nil, fmt.Errorf("suite %s at %s has no linux-binary-<version>-%s kernel package; use a suite with Debian's split kernel packages, e.g. --suite %s", ix.Suite, ix.Mirror, ix.Arch, DefaultSuite)
	}
	return ix, nil
}

// releaseText returns the (verified, when a keyring is given) release file.
func (f *Fetcher) releaseText(ctx context.Context, dists string, keyring openpgp.EntityList, ix *Index) ([]byte, error) {
	var in bufSink
	err := f.download(ctx, dists+"InRelease", "InRelease", want{}, &in)
	if err == nil {
		text, signer, err := verifyInRelease(in.Bytes(), keyring)
		if err != nil {
			return nil, fmt.Errorf("%sInRelease: %w", dists, err)
		}
		ix.Verified, ix.Signer = keyring != nil, signer
		return text, nil
	}
	if !IsNotFound(err) {
		return nil, fmt.Errorf("%w; check the mirror URI and the network", err)
	}
	var rel bufSink
	if err := f.download(ctx, dists+"Release", "Release", want{}, &rel); err != nil {
		if IsNotFound(err) {
			return nil, fmt.Errorf("suite %q not found at %s (no dists/%s/InRelease or Release); check --suite and --mirror", ix.Suite, ix.Mirror, ix.Suite)
		}
		return nil, err
	}
	if keyring == nil {
		return rel.Bytes(), nil
	}
	var sig bufSink
	if err := f.download(ctx, dists+"Release.gpg", "Release.gpg", want{}, &sig); err != nil {
		if IsNotFound(err) {
			return rel.Bytes(), nil // an unsigned archive: Verified stays false
		}
		return nil, err
	}
	signer, err := verifyDetached(rel.Bytes(), sig.Bytes(), keyring)
	if err != nil {
		return nil, fmt.Errorf("%sRelease: %w", dists, err)
	}
	ix.Verified, ix.Signer = true, signer
	return rel.Bytes(), nil
}

// packagesIndex downloads main/binary-<arch>/Packages, preferring the
// smallest compressed form the release file lists.
func (f *Fetcher) packagesIndex(ctx context.Context, dists string, rel *release, arch string) ([]byte, error) {
	base := "main/binary-" + arch + "/Packages"
	tried := []string{}
	for _, ext := range []string{".xz", ".gz", ""} {
		w, ok := rel.sha256[base+ext]
		if !ok {
			continue
		}
		tried = append(tried, base+ext)
		var buf bufSink
		err := f.download(ctx, dists+base+ext, "Packages"+ext, w, &buf)
		if IsNotFound(err) {
			continue // listed but absent, as on some partial mirrors
		}
		if err != nil {
			return nil, err
		}
		data, err := decompressIndex(ext, buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%s%s: %w", dists, base+ext, err)
		}
		return data, nil
	}
	if len(tried) == 0 {
		return nil, fmt.Errorf("%sRelease lists no %s[.xz|.gz]: the suite has no %s packages in main; check --arch and --suite", dists, base, arch)
	}
	return nil, fmt.Errorf("%s: the Release file lists %s but the mirror serves none of them; use another --mirror", dists, strings.Join(tried, ", "))
}

// decompressIndex inflates a Packages index.
func decompressIndex(ext string, data []byte) ([]byte, error) {
	var r io.Reader
	switch ext {
	case "":
		return data, nil
	case ".xz":
		x, err := xz.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("open xz: %w", err)
		}
		r = x
	case ".gz":
		g, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("open gzip: %w", err)
		}
		r = g
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("decompress: %w", err)
	}
	return out, nil
}

// candidates picks plain-flavour kernels (no -cloud, -rt, ...) from the
// Packages stanzas and pairs each with its linux-base package.
func candidates(stanzas []stanza, arch string) []Candidate {
	binRe := regexp.MustCompile(`^linux-binary-([0-9][^-]*-` + regexp.QuoteMeta(arch) + `)$`)
	bases := map[[2]string]Package{}
	var out []Candidate
	for _, st := range stanzas {
		p := stanzaPackage(st)
		if strings.HasPrefix(p.Name, "linux-base-") {
			bases[[2]string{p.Name, p.Version}] = p
		}
		if m := binRe.FindStringSubmatch(p.Name); m != nil {
			out = append(out, Candidate{Release: m[1], Version: p.Version, Binary: p})
		}
	}
	for i := range out {
		out[i].Base = bases[[2]string{"linux-base-" + out[i].Release, out[i].Version}]
	}
	slices.SortStableFunc(out, func(a, b Candidate) int {
		if c := CompareVersions(b.Version, a.Version); c != 0 {
			return c
		}
		return strings.Compare(b.Release, a.Release)
	})
	return slices.CompactFunc(out, func(a, b Candidate) bool {
		return a.Release == b.Release && a.Version == b.Version
	})
}
