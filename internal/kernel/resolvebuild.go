package kernel

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/ktstr-go/ktstr/internal/kernel/srctree"
)

// cachedBuilds returns the intact cache entries built from source tree
// dir, newest first.
func cachedBuilds(cacheDir, dir string) []Entry {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil
	}
	entries, err := List(cacheDir)
	if err != nil {
		return nil
	}
	var out []Entry
	for _, e := range entries {
		if src, ok := e.BuildSource(); ok && src == real && e.Damage == nil {
			out = append(out, e)
		}
	}
	return out
}

// buildPick is pickBuild's choice.
type buildPick struct {
	entry Entry
	// stale reports that no build is of the tree as it is now.
	stale bool
	// note says which build and why, for a person.
	note string
}

// pickBuild chooses among builds of the tree at dir (newest first) the one
// of the tree's files as they are now, else the newest, which is stale.
func pickBuild(dir string, builds []Entry) buildPick {
	tree, err := srctree.Open(dir)
	var st *srctree.State
	if err == nil {
		st, err = tree.State(context.Background())
	}
	if err != nil {
		return buildPick{entry: builds[0], note: fmt.Sprintf("using %s, the newest build of %s in the cache; whether it is current cannot be told: %v", builds[0].Key, dir, err)}
	}
	for _, e := range builds {
		if e.SourceState == st.ID {
			return buildPick{entry: e, note: fmt.Sprintf("using %s, the build of %s as it is now (%s)", e.Key, dir, st.ID)}
		}
	}
	return buildPick{entry: builds[0], stale: true, note: fmt.Sprintf("the cache's kernel %s, built from %s at %s, is stale: the tree is now %s; `ktstr kernel build --source %s` builds it again",
		builds[0].Key, dir, builds[0].SourceState, st.ID, dir)}
}
