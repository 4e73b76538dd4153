package srctree

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// State is what the tree's files are now.
type State struct {
	// ID names the state in cache keys:
	//   - "g<commit>" for a git checkout without changes (12 hex digits
	//     of HEAD);
	//   - "g<commit>-dirty-<hash>" with changes: 12 hex digits of the
	//     SHA-256 of `git diff HEAD` and of the untracked files that git
	//     does not ignore (names and content);
	//   - "tree-<hash>" for a tree that is not a git checkout (an
	//     unpacked tarball): 12 hex digits of the SHA-256 of a listing of
	//     its files, each with its size (symbolic links with their
	//     target), leaving out dot files. The listing is cheap (no file is
	//     read) and does not change with modification times; an edit that
	//     keeps a file's size is not seen, which git's key does see.
	ID string
	// Files lists the tree's source files (and symbolic links) relative
	// to its top, slash-separated, sorted: for a git checkout what git
	// tracks plus the untracked files it does not ignore, else every file
	// but dot files.
	Files []string
}

// State reads the state of the tree's files. A tree that is not a git
// checkout must not hold objects of an in-place build, since without git's
// ignore lists its build files cannot be told from its sources.
func (t *Tree) State(ctx context.Context) (*State, error) {
	if t.isGit(ctx) {
		return t.gitState(ctx)
	}
	return t.listState(ctx)
}

// isGit reports whether the tree is the top of a git checkout (not a
// directory inside some other repository) and git is there to read it.
func (t *Tree) isGit(ctx context.Context) bool {
	if _, err := os.Stat(filepath.Join(t.Dir, ".git")); err != nil {
		return false
	}
	out, err := t.git(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return false
	}
	top, err := filepath.EvalSymlinks(strings.TrimSpace(string(out)))
	return err == nil && top == t.Dir
}

// git runs git in the tree with settings that keep its output the same
// whatever the user's configuration.
func (t *Tree) git(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", t.Dir, "-c", "core.quotepath=off"}, args...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "GIT_OPTIONAL_LOCKS=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s in %s: %v: %s", args[0], t.Dir, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func (t *Tree) gitState(ctx context.Context) (*State, error) {
	head, err := t.git(ctx, "rev-parse", "--verify", "HEAD")
	if err != nil {
		return nil, fmt.Errorf("%w; a checkout needs a commit to name its builds", err)
	}
	commit := strings.TrimSpace(string(head))
	if len(commit) < 12 {
		return nil, fmt.Errorf("git rev-parse HEAD in %s gave %q", t.Dir, commit)
	}
	listed, err := t.git(ctx, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return nil, err
	}
	untracked, err := t.git(ctx, "ls-files", "-z", "--others", "--exclude-standard")
	if err != nil {
		return nil, err
	}
	diff, err := t.git(ctx, "diff", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames",
		"--binary", "--full-index", "--src-prefix=a/", "--dst-prefix=b/", "HEAD", "--")
	if err != nil {
		return nil, err
	}
	st := &State{ID: "g" + commit[:12]}
	for _, f := range splitZ(listed) {
		// --cached lists files deleted from the work tree too (the diff
		// has their deletion) and unmerged files once per stage.
		if _, err := os.Lstat(filepath.Join(t.Dir, filepath.FromSlash(f))); err == nil {
			st.Files = append(st.Files, f)
		}
	}
	slices.Sort(st.Files)
	st.Files = slices.Compact(st.Files)

	news := splitZ(untracked)
	if len(diff) == 0 && len(news) == 0 {
		return st, nil
	}
	h := sha256.New()
	h.Write(diff)
	slices.Sort(news)
	for _, f := range news {
		sum, err := fileSum(filepath.Join(t.Dir, filepath.FromSlash(f)))
		if err != nil {
			return nil, fmt.Errorf("read untracked file %s: %w", f, err)
		}
		fmt.Fprintf(h, "untracked %s\x00%s\n", f, sum)
	}
	st.ID += "-dirty-" + hex.EncodeToString(h.Sum(nil))[:12]
	return st, nil
}

func splitZ(b []byte) []string {
	var out []string
	for _, f := range strings.Split(string(b), "\x00") {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// fileSum is the SHA-256 of a file's content, or of a symbolic link's
// target.
func fileSum(p string) (string, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		h.Write([]byte("link " + target))
	} else {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		defer f.Close()
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// buildDirs are what configuring or building a tree in place creates; the
// kernel's own Makefile tests the same to refuse an out-of-tree build.
var buildDirs = []string{"include/config", "include/generated", "arch/x86/include/generated"}

// dirtyHint says what to do with a tree without git that was built in place.
const dirtyHint = "without git, ktstr cannot tell its build files from its sources: run `make mrproper` there (save its .config first and pass it with --config), or build from a git checkout"

func (t *Tree) listState(ctx context.Context) (*State, error) {
	for _, d := range buildDirs {
		if fi, err := os.Stat(filepath.Join(t.Dir, filepath.FromSlash(d))); err == nil && fi.IsDir() {
			return nil, fmt.Errorf("%s has been configured or built in place (it has %s); %s", t.Dir, d, dirtyHint)
		}
	}
	st := &State{}
	h := sha256.New()
	n := 0
	err := filepath.WalkDir(t.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == t.Dir {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if n++; n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rel := filepath.ToSlash(p[len(t.Dir)+1:])
		switch {
		case d.IsDir():
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\x00link\x00%s\n", rel, target)
		case d.Type().IsRegular():
			if path.Ext(rel) == ".o" {
				return fmt.Errorf("%s has been built in place (it has %s); %s", t.Dir, rel, dirtyHint)
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\x00file\x00%s\n", rel, strconv.FormatInt(fi.Size(), 10))
		default:
			return nil // sockets, devices and the like are no sources
		}
		st.Files = append(st.Files, rel)
		return nil
	})
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("list the files of %s: %w", t.Dir, err)
		}
		return nil, err
	}
	st.ID = "tree-" + hex.EncodeToString(h.Sum(nil))[:12]
	return st, nil
}
