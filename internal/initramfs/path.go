package initramfs

import (
	"fmt"
	"path"
	"strings"
)

// cleanPath returns p in the form used inside the archive: slash-separated,
// cleaned and without a leading "/". It rejects paths that are empty, name
// the archive root, climb above it with "..", or contain a NUL byte.
func cleanPath(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("archive path %q contains a NUL byte", p)
	}
	c := path.Clean(strings.TrimLeft(p, "/"))
	switch {
	case p == "" || c == "." || c == "/":
		return "", fmt.Errorf("archive path %q names the archive root; give a file name such as \"bin/tool\"", p)
	case c == ".." || strings.HasPrefix(c, "../"):
		return "", fmt.Errorf("archive path %q climbs above the archive root with \"..\"; use a path inside the archive", p)
	}
	return c, nil
}

// parents returns the ancestors of the clean archive path p, outermost
// first: parents("a/b/c") is ["a", "a/b"].
func parents(p string) []string {
	var out []string
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[:i])
		}
	}
	return out
}

// comparePaths orders clean archive paths so that every directory comes
// immediately before its own contents: it compares bytes with '/' treated
// as the smallest byte, so "a" < "a/b" < "a/c" < "a-b". It returns a
// negative number, zero or a positive number like strings.Compare.
func comparePaths(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == '/' {
			return -1
		}
		if cb == '/' {
			return 1
		}
		if ca < cb {
			return -1
		}
		return 1
	}
	return len(a) - len(b)
}
