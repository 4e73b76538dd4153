package debian

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSourcesURIs(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"sources.list": `# main list
deb http://one.example/debian bookworm main
deb-src http://src-only.example/debian bookworm main
deb [arch=amd64 signed-by=/k.gpg] http://two.example/debian/ bookworm main # trailing comment
deb [ arch=amd64 ] http://three.example/debian bookworm main
#deb http://commented.example/debian bookworm main
deb http://one.example/debian bookworm-updates main
`,
		"sources.list.d/a.sources": `Types: deb deb-src
# a comment inside a stanza
URIs: http://four.example/debian
 http://five.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGQ=
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb-src
URIs: http://src822.example/debian
Suites: bookworm
Components: main

types: deb
uris: http://six.example/debian-security
suites: bookworm-security
components: main
`,
		"sources.list.d/b.list":            "deb https://seven.example/apt stable main\n",
		"sources.list.d/c.list.disabled":   "deb http://ignored.example/x stable main\n",
		"sources.list.d/d.sources.save":    "Types: deb\nURIs: http://ignored2.example/x\nSuites: s\n",
		"sources.list.d/0-first.sources":   "Types: deb\nURIs: http://zero.example/debian\nSuites: trixie\nComponents: main\n",
		"sources.list.d/e.sources":         "Types: deb\r\nURIs: http://crlf.example/debian\r\nSuites: s\r\n",
		"sources.list.d/f-nosuite.sources": "Types: deb\nURIs: http://nosuite.example/debian\n",
		"sources.list.d/g-dup.list":        "deb http://one.example/debian trixie main\n",
	})
	got, err := SourcesURIs(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"http://one.example/debian",
		"http://two.example/debian",
		"http://three.example/debian",
		"http://zero.example/debian",
		"http://four.example/debian",
		"http://five.example/debian",
		"http://six.example/debian-security",
		"https://seven.example/apt",
		"http://crlf.example/debian",
	}
	if !slices.Equal(got, want) {
		t.Errorf("SourcesURIs =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestSourcesURIsEmpty(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"sources.list": "# nothing\n"})
	_, err := SourcesURIs(dir)
	if err == nil || !strings.Contains(err.Error(), "--mirror") {
		t.Fatalf("error = %v, want one telling to pass --mirror", err)
	}
	if _, err := SourcesURIs(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("SourcesURIs of a missing directory succeeded")
	}
}
