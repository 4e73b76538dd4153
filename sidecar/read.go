package sidecar

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNewerSchema is wrapped by the errors of files written with a newer
// schema than SchemaVersion.
var ErrNewerSchema = errors.New("sidecar schema is newer than this ktstr reads")

// FileError is a sidecar file (or directory) that could not be read.
type FileError struct {
	// Path is the file or directory.
	Path string
	// Err says why.
	Err error
}

// Error implements error.
func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *FileError) Unwrap() error { return e.Err }

// ReadErrors is the error of ReadDir: every file that could not be read.
type ReadErrors []*FileError

// Error implements error.
func (es ReadErrors) Error() string {
	if len(es) == 1 {
		return es[0].Error()
	}
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return fmt.Sprintf("%d sidecars could not be read: %s", len(es), strings.Join(msgs, "; "))
}

// Unwrap returns the file errors, for errors.Is and errors.As.
func (es ReadErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Decode parses a sidecar's JSON. It refuses data without a schema field
// and data of a newer schema (wrapping ErrNewerSchema).
func Decode(data []byte) (Result, error) {
	var head struct {
		Schema *int `json:"schema"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return Result{}, fmt.Errorf("not a ktstr sidecar: %w", err)
	}
	switch {
	case head.Schema == nil:
		return Result{}, errors.New("not a ktstr sidecar: no schema field")
	case *head.Schema > SchemaVersion:
		return Result{}, fmt.Errorf("%w: schema %d, this ktstr reads up to %d; use a newer ktstr",
			ErrNewerSchema, *head.Schema, SchemaVersion)
	case *head.Schema < 1:
		return Result{}, fmt.Errorf("not a ktstr sidecar: schema %d", *head.Schema)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return Result{}, fmt.Errorf("corrupt sidecar: %w", err)
	}
	return r, nil
}

// ReadFile reads one sidecar file.
func ReadFile(path string) (Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Result{}, err
	}
	r, err := Decode(data)
	if err != nil {
		return Result{}, &FileError{Path: path, Err: err}
	}
	r.Path = path
	return r, nil
}

// ReadDir reads every sidecar (*.ktstr.json) in the directories and their
// subdirectories, at any depth (a runs root, a run directory, or a tree of
// downloaded CI artefacts), skipping directories whose names start with
// '.'. Results come sorted by path. Files and directories that cannot be
// read are skipped; the error, when not nil, is a ReadErrors listing them,
// and the results of the other files are returned with it.
func ReadDir(dirs ...string) ([]Result, error) {
	var out []Result
	var errs ReadErrors
	seen := map[string]bool{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, &FileError{Path: path, Err: err})
				if d != nil && d.IsDir() && path != dir {
					return fs.SkipDir
				}
				return nil
			}
			name := d.Name()
			if d.IsDir() {
				if path != dir && strings.HasPrefix(name, ".") {
					return fs.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(name, FileSuffix) || strings.HasPrefix(name, ".") {
				return nil
			}
			if abs, err := filepath.Abs(path); err == nil {
				if seen[abs] {
					return nil
				}
				seen[abs] = true
			}
			r, err := ReadFile(path)
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) {
					fe = &FileError{Path: path, Err: err}
				}
				errs = append(errs, fe)
				return nil
			}
			out = append(out, r)
			return nil
		})
		if err != nil {
			errs = append(errs, &FileError{Path: dir, Err: err})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	if len(errs) > 0 {
		return out, errs
	}
	return out, nil
}
