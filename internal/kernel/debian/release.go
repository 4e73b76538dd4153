package debian

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
)

// DefaultKeyringGlob matches the Debian archive keyrings the
// debian-archive-keyring package installs.
const DefaultKeyringGlob = "/usr/share/keyrings/debian-archive-*.gpg"

// DefaultKeyrings returns the Debian archive keyrings present on this host,
// leaving out the keyring of removed (retired or compromised) keys, which
// must never be trusted.
func DefaultKeyrings() []string {
	paths, _ := filepath.Glob(DefaultKeyringGlob)
	var out []string
	for _, p := range paths {
		if !strings.Contains(filepath.Base(p), "removed") {
			out = append(out, p)
		}
	}
	return out
}

// loadKeyring reads binary (or ASCII-armored) OpenPGP keyrings into one.
func loadKeyring(paths []string) (openpgp.EntityList, error) {
	var all openpgp.EntityList
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read keyring: %w", err)
		}
		var el openpgp.EntityList
		if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN PGP")) {
			el, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
		} else {
			el, err = openpgp.ReadKeyRing(bytes.NewReader(data))
		}
		if err != nil {
			return nil, fmt.Errorf("parse keyring %s: %w; pass a binary or armored OpenPGP keyring", p, err)
		}
		all = append(all, el...)
	}
	return all, nil
}

// verifyInRelease checks a clearsigned InRelease file against the keyring
// and returns the signed text (only that: anything outside the signed
// block is not trusted) and the signer's identity.
func verifyInRelease(data []byte, keyring openpgp.EntityList) (text []byte, signer string, err error) {
	block, _ := clearsign.Decode(data)
	if block == nil {
		return nil, "", errors.New("InRelease is not an OpenPGP clearsigned message: corrupt file or not a Debian archive")
	}
	if keyring == nil {
		return block.Plaintext, "", nil
	}
	ent, err := block.VerifySignature(keyring, nil)
	if err != nil {
		return nil, "", fmt.Errorf("InRelease signature check failed: %w; the archive is not signed by a key in the Debian keyrings (tampered file, or a mirror of another distribution)", err)
	}
	return block.Plaintext, entityName(ent), nil
}

// verifyDetached checks Release against the detached Release.gpg.
func verifyDetached(release, sig []byte, keyring openpgp.EntityList) (string, error) {
	var ent *openpgp.Entity
	var err error
	if bytes.HasPrefix(bytes.TrimSpace(sig), []byte("-----BEGIN PGP")) {
		ent, err = openpgp.CheckArmoredDetachedSignature(keyring, bytes.NewReader(release), bytes.NewReader(sig), nil)
	} else {
		ent, err = openpgp.CheckDetachedSignature(keyring, bytes.NewReader(release), bytes.NewReader(sig), nil)
	}
	if err != nil {
		return "", fmt.Errorf("signature check of Release.gpg failed: %w; the archive is not signed by a key in the Debian keyrings", err)
	}
	return entityName(ent), nil
}

func entityName(e *openpgp.Entity) string {
	if e == nil {
		return ""
	}
	for name := range e.Identities {
		return name
	}
	return fmt.Sprintf("key %X", e.PrimaryKey.Fingerprint)
}

// release is the part of a Release file we use.
type release struct {
	suite  string
	sha256 map[string]want // by path relative to dists/<suite>/
}

// parseRelease reads the SHA256 file list of a Release file.
func parseRelease(text []byte) (*release, error) {
	st := parseStanzas(text)
	if len(st) == 0 {
		return nil, errors.New("empty Release file")
	}
	r := &release{suite: st[0].get("Codename"), sha256: map[string]want{}}
	for _, line := range strings.Split(st[0].get("SHA256"), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || len(f[0]) != 64 {
			return nil, fmt.Errorf("the Release file has a malformed SHA256 line %q", line)
		}
		r.sha256[f[2]] = want{size: size, sha256: strings.ToLower(f[0])}
	}
	if len(r.sha256) == 0 {
		return nil, errors.New("the Release file lists no SHA256 checksums; this tool needs them to verify the package index")
	}
	return r, nil
}
