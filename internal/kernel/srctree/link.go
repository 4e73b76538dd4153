package srctree

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// Link makes dst (which must not exist) a copy of the tree's files made
// of symbolic links: one per file of files (relative, slash-separated, as
// State lists them), pointing at the file in the tree, and a symbolic link
// of the tree copied as it is. make reads the tree through it and never
// writes into it; building out of tree from dst works whatever build
// files the tree itself holds, since dst has none of them. About 80,000
// links for a kernel tree, made in a second or two.
func (t *Tree) Link(ctx context.Context, files []string, dst string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	made := map[string]bool{".": true}
	for i, rel := range files {
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if dir := path.Dir(rel); !made[dir] {
			if err := os.MkdirAll(filepath.Join(dst, filepath.FromSlash(dir)), 0o755); err != nil {
				return err
			}
			made[dir] = true
		}
		src := filepath.Join(t.Dir, filepath.FromSlash(rel))
		fi, err := os.Lstat(src)
		if err != nil {
			return fmt.Errorf("link the sources: %w (did the tree change during the build?)", err)
		}
		target := src
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			// A link inside the tree points at a file of the tree
			// (relative) and keeps doing so in the copy.
			if target, err = os.Readlink(src); err != nil {
				return err
			}
		case !fi.Mode().IsRegular():
			continue
		}
		if err := os.Symlink(target, filepath.Join(dst, filepath.FromSlash(rel))); err != nil {
			return fmt.Errorf("link the sources: %w", err)
		}
	}
	return nil
}
