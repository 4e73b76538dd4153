// Package cachedir holds the mechanics shared by ktstr's on-disk caches
// (kernels, sched_ext scheduler builds): a directory of entries, each a
// directory with a plain name and a metadata.json, that several processes
// may fill at once. An entry is written into a temporary directory and
// renamed into place, so readers never see half of one; temporary
// directories a crashed process left behind are swept later.
//
// The package words its failures neutrally; the caches reword them for
// their users (see Error), so the mechanics can be shared without changing
// what users read.
package cachedir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// MetadataFile is the name of the file describing an entry.
const MetadataFile = "metadata.json"

// TempPrefix starts the names of directories still being filled. Its
// leading dot keeps List from reading them and ValidName from accepting
// them as entry names.
const TempPrefix = ".tmp-"

const (
	// oldPrefix starts the names of directories that hold an entry Install
	// is replacing, between moving it aside and removing it.
	oldPrefix = ".old-"
	// staleAge is how old a temporary directory must be before Sweep takes
	// it for a crashed process's: far longer than filling an entry takes,
	// so one still being filled is never removed.
	staleAge = time.Hour
)

// Op names the step of WriteMetadata or Install that failed.
type Op int

// The steps an Error can name.
const (
	// OpWrite is writing metadata.json.
	OpWrite Op = iota + 1
	// OpChmod is giving the temporary directory mode 0755.
	OpChmod
	// OpMove is renaming the temporary directory into place.
	OpMove
	// OpAside is creating the directory an existing entry is moved into.
	OpAside
	// OpReplace is moving the existing entry aside. The old entry may
	// still stand at Path, so callers tell users to remove it.
	OpReplace
)

var opNames = map[Op]string{
	OpWrite:   "write metadata of",
	OpChmod:   "set the mode of",
	OpMove:    "move into place",
	OpAside:   "make room to replace",
	OpReplace: "move aside",
}

// String describes the step, for Error.
func (op Op) String() string {
	if s, ok := opNames[op]; ok {
		return s
	}
	return fmt.Sprintf("Op(%d)", int(op))
}

// Error is a failure of WriteMetadata or Install. It says which step failed
// so that each cache can word it in its own terms (which entry, what to do
// about it) rather than in this package's.
type Error struct {
	// Op is the step that failed.
	Op Op
	// Path is the entry's final path, dir/name (for OpWrite, the
	// directory written to).
	Path string
	// Err is the underlying error.
	Err error
}

// Error gives a neutral message naming the step and the entry; callers
// usually reword it (see the package comment).
func (e *Error) Error() string { return e.Op.String() + " " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ValidName reports whether name can name an entry: a plain directory name,
// so it cannot escape the cache, and not starting with a dot, so it cannot
// be taken for a temporary directory (or one List skips).
func ValidName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "/\\\x00") && !strings.HasPrefix(name, ".")
}

// NewTemp creates a temporary directory in dir to fill as entry name. The
// name prefix lets Sweep find it if the process dies before Install, and
// keeps List from reading it. The caller removes it (os.RemoveAll is a
// no-op once Install has renamed it).
func NewTemp(dir, name string) (string, error) {
	return os.MkdirTemp(dir, TempPrefix+name+"-")
}

// Sweep removes the temporary directories in dir that processes which
// crashed left behind. Young ones may belong to a process still filling or
// installing an entry and are left alone. Errors are ignored: sweeping is
// housekeeping, and a leftover directory does no harm but take space.
func Sweep(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), TempPrefix) && !strings.HasPrefix(e.Name(), oldPrefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleAge {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// Install moves tmp, a directory made by NewTemp in dir and filled, into
// place as dir/name with one rename, so readers see the whole entry or
// none. The entry gets mode 0755: NewTemp's directories are private, but
// entries are meant to be shared.
//
// If an entry of that name exists, keepExisting (which may be nil) decides
// whether it stands: if it returns true, Install returns nil and leaves
// tmp for the caller to remove. Otherwise the existing entry is swapped
// aside and tmp renamed again; if another writer's entry appears between
// the two renames, that one stands and Install succeeds, since both
// writers meant to install the same name. (Writers that both replace an
// entry at once can still collide moving it aside; one then fails with
// OpReplace. Callers racing on one name pass a keepExisting that keeps
// the same content.)
//
// Install never removes tmp; the caller does, on every path. Failures are
// *Error.
func Install(dir, tmp, name string, keepExisting func() bool) error {
	final := filepath.Join(dir, name)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return &Error{OpChmod, final, err}
	}
	err := os.Rename(tmp, final)
	if err == nil {
		return nil
	}
	// On Linux, renaming onto a non-empty directory fails: someone else
	// installed this name first.
	if keepExisting != nil && keepExisting() {
		return nil
	}
	if _, serr := os.Lstat(final); serr != nil {
		return &Error{OpMove, final, err}
	}
	// Rename cannot replace a non-empty directory, and removing it first
	// would leave a moment with no entry; moving it into a directory of
	// its own is one rename, and removing that can take its time.
	aside, err := os.MkdirTemp(dir, oldPrefix+name+"-")
	if err != nil {
		return &Error{OpAside, final, err}
	}
	defer os.RemoveAll(aside)
	if err := os.Rename(final, filepath.Join(aside, name)); err != nil {
		return &Error{OpReplace, final, err}
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Lstat(final); serr == nil {
			return nil // a concurrent writer put its copy in between
		}
		return &Error{OpMove, final, err}
	}
	return nil
}

// WriteMetadata writes meta, indented, as dir/metadata.json. A failure to
// write is an *Error with OpWrite; a failure to encode is not, since every
// cache words it alike.
func WriteMetadata(dir string, meta any) error {
	js, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, MetadataFile), append(js, '\n'), 0o644); err != nil {
		return &Error{OpWrite, dir, err}
	}
	return nil
}

// ReadMetadata decodes dir/metadata.json into meta. A file that cannot be
// read gives os.ReadFile's error unwrapped, so callers can test for
// fs.ErrNotExist; one that cannot be decoded is named in the error.
func ReadMetadata(dir string, meta any) error {
	path := filepath.Join(dir, MetadataFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, meta); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// List reads the entries of dir with read(dir, name) and returns them
// sorted by cmp (as slices.SortStableFunc takes it). Files and
// dot-directories (temporary ones among them) are not entries. An entry
// read fails on is not left out, or one damaged entry would look like none:
// broken(dir, name, err) makes what stands for it in the list. A missing
// dir is an empty cache: nil and no error. The only error is os.ReadDir's,
// unwrapped, for the caller to word.
func List[E any](dir string, read func(dir, name string) (*E, error), broken func(dir, name string, err error) E, cmp func(a, b E) int) ([]E, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []E
	for _, de := range ents {
		if !de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		e, err := read(dir, de.Name())
		if err != nil {
			out = append(out, broken(dir, de.Name(), err))
			continue
		}
		out = append(out, *e)
	}
	slices.SortStableFunc(out, cmp)
	return out, nil
}

// Remove takes entry name out of dir: it is renamed aside first, so
// readers see the whole entry or none (never a half-removed one, which
// would look damaged), then deleted. A process that has one of its files
// open keeps reading it. Failures are *Error with OpAside, OpReplace (the
// entry still stands) or OpMove (moved aside but not all deleted; Sweep
// removes the rest later).
func Remove(dir, name string) error {
	final := filepath.Join(dir, name)
	aside, err := os.MkdirTemp(dir, oldPrefix+name+"-")
	if err != nil {
		return &Error{OpAside, final, err}
	}
	if err := os.Rename(final, filepath.Join(aside, name)); err != nil {
		os.Remove(aside)
		return &Error{OpReplace, final, err}
	}
	if err := os.RemoveAll(aside); err != nil {
		return &Error{OpMove, final, err}
	}
	return nil
}
