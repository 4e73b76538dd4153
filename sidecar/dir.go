package sidecar

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ktstr-go/ktstr/internal/env"
)

// Environment variables the package reads.
const (
	// EnvTargetDir overrides the target directory (see TargetDir).
	EnvTargetDir = env.TargetDir
	// EnvSidecarDir names the exact directory to write sidecars to.
	EnvSidecarDir = env.SidecarDir
	// EnvRunID shares one run id between processes (see RunID).
	EnvRunID = env.RunID
	// EnvCI marks a CI run when non-empty (as does CI; see RunSource).
	EnvCI = env.CI
)

// UnknownCommit is the project commit outside a git work tree.
const UnknownCommit = "unknown"

// TargetDir returns the directory ktstr keeps its outputs in:
// $KTSTR_TARGET_DIR, else "target" in the module root (the nearest
// directory holding go.mod, walking up from the working directory, so that
// every package's test binary of a module agrees), else ./target. The
// result is absolute when the working directory is known.
func TargetDir() string {
	if d := os.Getenv(EnvTargetDir); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			return abs
		}
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return "target"
	}
	for d := wd; ; {
		if st, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && !st.IsDir() {
			return filepath.Join(d, "target")
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	return filepath.Join(wd, "target")
}

// PackageDir returns the working directory relative to the module root
// (the directory of the nearest go.mod above it), slash-separated: under
// go test, the directory of the package whose test binary runs ("." for
// the root package, "examples/schedulers"). It is "" outside a module.
func PackageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; {
		if st, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && !st.IsDir() {
			rel, err := filepath.Rel(d, wd)
			if err != nil {
				return ""
			}
			return filepath.ToSlash(rel)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// RunsRoot returns the directory holding the run directories:
// TargetDir()/ktstr.
func RunsRoot() string { return filepath.Join(TargetDir(), "ktstr") }

// RunDirName returns the name of the run directory of a kernel and project
// commit, "{kernel}-{commit}", each part "unknown" when empty and with '/'
// and other bytes unfit for a file name replaced by '_'.
func RunDirName(kernel, commit string) string {
	part := func(s string) string {
		if s == "" {
			return UnknownCommit
		}
		return sanitize(s, '_')
	}
	return part(kernel) + "-" + part(commit)
}

// Dir returns the directory this process writes the sidecars of kernel
// (a kernel version, "" when unknown) to. With $KTSTR_SIDECAR_DIR set it
// is that directory and exact is true: the caller should not clear it.
// Otherwise it is RunsRoot()/RunDirName(kernel, commit), the commit being
// ProjectCommit of the working directory (computed once per process).
func Dir(kernel string) (dir string, exact bool) {
	if d := os.Getenv(EnvSidecarDir); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		return d, true
	}
	return filepath.Join(RunsRoot(), RunDirName(kernel, processCommit())), false
}

// processCommit is ProjectCommit of the working directory, ignoring the
// target directory, computed once.
var processCommit = sync.OnceValue(func() string {
	wd, err := os.Getwd()
	if err != nil {
		return UnknownCommit
	}
	return ProjectCommit(wd, TargetDir())
})

// ProjectCommit returns the commit label of the git work tree holding dir:
// the first 7 hex digits of HEAD, followed by "-dirty" when the work tree
// differs from HEAD (git status --porcelain lists anything), or
// UnknownCommit when dir is not in a work tree with a commit or git is not
// installed. Untracked files under any of the ignore paths (the target
// directory, typically) do not make the tree dirty, so that writing
// sidecars into the repository does not change the next run's label.
func ProjectCommit(dir string, ignore ...string) string {
	head, err := git(dir, "rev-parse", "--verify", "--quiet", "HEAD")
	head = strings.TrimSpace(head)
	if err != nil || len(head) < 7 {
		return UnknownCommit
	}
	commit := head[:7]
	top, err := git(dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return commit
	}
	top = strings.TrimSpace(top)
	status, err := git(dir, "status", "--porcelain=v1", "-z", "--untracked-files=all")
	if err != nil {
		return commit
	}
	var skip []string
	for _, ig := range ignore {
		if rel, ok := relInside(top, ig); ok {
			skip = append(skip, rel)
		}
	}
	entries := strings.Split(status, "\x00")
	for i := 0; i < len(entries); i++ {
		e := entries[i]
		if len(e) < 4 {
			continue
		}
		xy, path := e[:2], e[3:]
		if xy[0] == 'R' || xy[0] == 'C' || xy[1] == 'R' || xy[1] == 'C' {
			i++ // the next entry is the rename's source
		}
		if xy == "??" && under(path, skip) {
			continue
		}
		return commit + "-dirty"
	}
	return commit
}

// git runs git in dir and returns its standard output. Optional locks are
// off: parallel test processes each run git status, and none should take
// the index lock from another.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	return out.String(), err
}

// relInside returns path relative to top, with '/' separators, when path
// lies inside top. Symbolic links are resolved as far as path exists,
// since git reports top resolved.
func relInside(top, path string) (string, bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false
	}
	abs = resolveExisting(abs)
	rel, err := filepath.Rel(resolveExisting(top), abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// resolveExisting resolves symbolic links in the longest existing prefix
// of an absolute path.
func resolveExisting(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	parent := filepath.Dir(p)
	if parent == p {
		return p
	}
	return filepath.Join(resolveExisting(parent), filepath.Base(p))
}

// under reports whether the slash-separated path equals or lies below one
// of dirs ("." covers everything).
func under(path string, dirs []string) bool {
	path = strings.TrimSuffix(path, "/")
	for _, d := range dirs {
		if d == "." || path == d || strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	return false
}
