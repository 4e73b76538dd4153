// Package srctree looks at a Linux kernel source tree: whether a directory
// is one, its version, the state of its files (what a cache key of a build
// of it is made of), and a copy of its sources made of symbolic links, which
// an out-of-tree build reads instead of the tree itself.
//
// The copy is there because the kernel refuses to build out of tree (O=)
// from a source tree that has been configured or built in place (it has a
// .config, include/config or generated headers), which a developer's tree
// usually has; and ktstr never writes into the user's tree.
package srctree

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// Tree is a kernel source tree.
type Tree struct {
	// Dir is the tree's top directory, absolute, symbolic links resolved.
	Dir string
	// Version is the kernel version its Makefile gives, e.g. "7.3.4" or
	// "7.4.0-rc5" (VERSION.PATCHLEVEL.SUBLEVEL plus EXTRAVERSION).
	Version string
}

// sourceHint ends the error for a directory that is not a kernel tree.
const sourceHint = "pass the top directory of a Linux source tree (the one holding Makefile, Kconfig and arch/), e.g. a git checkout or an unpacked linux-source tarball"

// Open checks that dir is the top of a kernel source tree that builds for
// x86 and reads its version.
func Open(dir string) (*Tree, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, fmt.Errorf("kernel source %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("kernel source %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("kernel source %s is a file, not a directory; %s", dir, sourceHint)
	}
	var missing []string
	makefile, err := os.ReadFile(filepath.Join(abs, "Makefile"))
	version := ""
	switch {
	case err != nil:
		missing = append(missing, "no Makefile")
	default:
		if version = makefileVersion(makefile); version == "" {
			missing = append(missing, "a Makefile without VERSION and PATCHLEVEL")
		}
	}
	if !isFile(filepath.Join(abs, "Kconfig")) {
		missing = append(missing, "no Kconfig")
	}
	if fi, err := os.Stat(filepath.Join(abs, "arch", "x86")); err != nil || !fi.IsDir() {
		missing = append(missing, "no arch/x86")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s is not a kernel source tree (%s); %s", dir, strings.Join(missing, ", "), sourceHint)
	}
	return &Tree{Dir: abs, Version: version}, nil
}

// makeVarRe matches the version lines of the top Makefile. Compiled on
// first use, not at init: test binaries link this package and start as PID
// 1 of an emulated guest, where init-time work slows every boot.
var makeVarRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)[ \t]*=[ \t]*(\S*)[ \t]*$`)
})

// HasSchedExt reports whether the tree has sched_ext (kernel/sched/ext.c,
// which came in 6.12).
func (t *Tree) HasSchedExt() bool {
	return isFile(filepath.Join(t.Dir, "kernel", "sched", "ext.c"))
}

// makefileVersion reads the version the top Makefile gives: "" unless it
// sets VERSION and PATCHLEVEL.
func makefileVersion(makefile []byte) string {
	vars := map[string]string{}
	for _, m := range makeVarRe().FindAllSubmatch(makefile, -1) {
		if _, ok := vars[string(m[1])]; !ok { // the first assignment is the version's
			vars[string(m[1])] = string(m[2])
		}
	}
	if vars["VERSION"] == "" || vars["PATCHLEVEL"] == "" {
		return ""
	}
	sub := vars["SUBLEVEL"]
	if sub == "" {
		sub = "0"
	}
	return vars["VERSION"] + "." + vars["PATCHLEVEL"] + "." + sub + vars["EXTRAVERSION"]
}

// Config returns the tree's own .config, or nil when it has none.
func (t *Tree) Config() ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(t.Dir, ".config"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
