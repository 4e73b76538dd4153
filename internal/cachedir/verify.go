package cachedir

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File records one file of an entry as it was when the entry was made.
type File struct {
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
	// ModTime is its modification time; a file whose time changed is
	// hashed even by a quick check.
	ModTime time.Time `json:"mtime"`
	// SHA256 is the hex digest of its content.
	SHA256 string `json:"sha256"`
}

// Files maps the paths of an entry's files, relative to the entry and
// slash-separated, to what they were when the entry was made.
type Files map[string]File

// Record describes every regular file below dir except the metadata file,
// for the entry's metadata. Call it once the files are final: renaming the
// entry into place keeps their times.
func Record(dir string) (Files, error) {
	files := Files{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if !d.Type().IsRegular() || rel == MetadataFile {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		sum, err := hashFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = File{Size: fi.Size(), ModTime: fi.ModTime().UTC(), SHA256: sum}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record the files of %s: %w", dir, err)
	}
	return files, nil
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// DamageError says that an entry is not what was stored: a file missing,
// cut short, changed, or the metadata unreadable.
type DamageError struct {
	// Dir is the entry's directory.
	Dir string
	// Problems lists what is wrong, one phrase each ("vmlinux: 1048576
	// bytes, 61234176 when stored").
	Problems []string
}

// Error lists the problems.
func (e *DamageError) Error() string {
	return fmt.Sprintf("%s is damaged: %s", e.Dir, strings.Join(e.Problems, "; "))
}

// Damaged returns a *DamageError for dir with one problem.
func Damaged(dir, format string, args ...any) *DamageError {
	return &DamageError{Dir: dir, Problems: []string{fmt.Sprintf(format, args...)}}
}

// IsDamaged reports whether err is, or wraps, a *DamageError.
func IsDamaged(err error) bool {
	var d *DamageError
	return errors.As(err, &d)
}

// Verify checks the files of the entry in dir against files and returns a
// *DamageError listing every difference, or nil. A quick check (full
// false) compares sizes and modification times, which costs a stat per
// file, and hashes only a file whose size matches but whose time changed;
// a full check hashes every file.
func (files Files) Verify(dir string, full bool) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	var problems []string
	for _, n := range names {
		want := files[n]
		p := filepath.Join(dir, filepath.FromSlash(n))
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			problems = append(problems, n+": missing")
			continue
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: %v", n, err))
			continue
		case !fi.Mode().IsRegular():
			problems = append(problems, n+": not a regular file")
			continue
		case fi.Size() != want.Size:
			problems = append(problems, fmt.Sprintf("%s: %d bytes, %d when stored", n, fi.Size(), want.Size))
			continue
		case !full && fi.ModTime().Equal(want.ModTime):
			continue
		}
		sum, err := hashFile(p)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", n, err))
		} else if sum != want.SHA256 {
			problems = append(problems, fmt.Sprintf("%s: content changed (SHA-256 %.12s…, %.12s… when stored)", n, sum, want.SHA256))
		}
	}
	if len(problems) > 0 {
		return &DamageError{Dir: dir, Problems: problems}
	}
	return nil
}

// DirSize sums the sizes of the regular files below dir, for telling
// people how much disk an entry or a build takes; unreadable parts count
// as nothing.
func DirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
