package debian

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// SourcesURIs reads the apt configuration under aptDir (normally "/etc/apt")
// and returns the distinct archive URIs of enabled "deb" sources, in the
// order apt reads them: sources.list, then sources.list.d/*.list and
// *.sources sorted by file name. Both the one-line format
// ("deb [opts] URI suite components") and the deb822 format
// (Types/URIs/Suites stanzas) are understood; "deb-src" entries and
// stanzas with "Enabled: no" are skipped. Trailing slashes are removed.
func SourcesURIs(aptDir string) ([]string, error) {
	var files []string
	main := filepath.Join(aptDir, "sources.list")
	if _, err := os.Stat(main); err == nil {
		files = append(files, main)
	}
	entries, err := os.ReadDir(filepath.Join(aptDir, "sources.list.d"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read apt sources: %w", err)
	}
	var parts []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".list") || strings.HasSuffix(n, ".sources")) {
			parts = append(parts, filepath.Join(aptDir, "sources.list.d", n))
		}
	}
	sort.Strings(parts)
	files = append(files, parts...)

	var uris []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read apt sources: %w", err)
		}
		var got []string
		if strings.HasSuffix(f, ".sources") {
			got = parseDeb822Sources(data)
		} else {
			got = parseOneLineSources(data)
		}
		for _, u := range got {
			u = strings.TrimRight(u, "/")
			if u != "" && !slices.Contains(uris, u) {
				uris = append(uris, u)
			}
		}
	}
	if len(uris) == 0 {
		return nil, fmt.Errorf("no enabled \"deb\" source in the apt configuration under %s; pass the archive URI explicitly (--mirror or KTSTR_DEBIAN_MIRROR)", aptDir)
	}
	return uris, nil
}

// parseOneLineSources reads "deb [options] URI suite [component...]" lines.
func parseOneLineSources(data []byte) []string {
	var uris []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[0] != "deb" {
			continue
		}
		rest := fields[1:]
		// Options are in square brackets and may contain spaces
		// ("[ arch=amd64 signed-by=/x ]").
		if strings.HasPrefix(rest[0], "[") {
			for len(rest) > 0 {
				tok := rest[0]
				rest = rest[1:]
				if strings.HasSuffix(tok, "]") {
					break
				}
			}
		}
		if len(rest) >= 2 { // URI and suite
			uris = append(uris, rest[0])
		}
	}
	return uris
}

// parseDeb822Sources reads deb822 stanzas (sources.list(5), "DEB822-STYLE
// FORMAT"): fields may continue on lines starting with white space, lines
// starting with "#" are comments, and blank lines separate stanzas.
func parseDeb822Sources(data []byte) []string {
	var uris []string
	for _, st := range parseStanzas(data) {
		if strings.EqualFold(strings.TrimSpace(st.get("Enabled")), "no") {
			continue
		}
		if !slices.Contains(strings.Fields(st.get("Types")), "deb") {
			continue
		}
		if len(strings.Fields(st.get("Suites"))) == 0 {
			continue
		}
		uris = append(uris, strings.Fields(st.get("URIs"))...)
	}
	return uris
}
