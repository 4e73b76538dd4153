package cachedir

import (
	"io"
	"os"
	"path/filepath"
	"strings"
)

// tempMark is in the name of every temporary file WriteFile makes:
// ".NAME.tmp-RANDOM" beside NAME.
const tempMark = ".tmp-"

// WriteFile writes the file at path whole or not at all: write fills a
// temporary file beside it, which is synced, given perm and renamed over
// path, so a reader sees the old file or the whole new one. On any error
// the temporary file is removed and path is left as it was.
func WriteFile(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+tempMark+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// IsTempFile reports whether name (a base name) is one of WriteFile's
// temporary files: a leftover of a crashed writer when no writer runs.
func IsTempFile(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempMark)
}
