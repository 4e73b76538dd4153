package scx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ktstr-go/ktstr/internal/cachedir"
)

// buildHint ends Find's error: how to build the schedulers for kernel rel
// ("" for any).
func buildHint(rel string) string {
	cmd := "ktstr sched build"
	if rel != "" {
		cmd += " --kernel " + rel
	}
	return "run `" + cmd + "` to build the kernel's example schedulers (scripts/install-build-deps.sh installs what that needs)"
}

// Find returns the path of the scheduler binary name (e.g. "scx_simple")
// for kernel release rel. It looks, in order:
//
//  1. in the directory $KTSTR_SCHEDULER, when set (a file path there is
//     accepted too when its base name is name);
//  2. in the schedulers cache (SchedDir) under rel, or, when rel is "",
//     in the newest build that has the binary;
//  3. on $PATH.
//
// A name containing a slash is a path and is returned if it is an
// executable file. The error lists every place looked at and how to build
// the schedulers.
func Find(name, rel string) (string, error) {
	if name == "" {
		return "", errors.New("no scheduler name given")
	}
	if strings.Contains(name, "/") {
		if isExecutable(name) {
			return name, nil
		}
		return "", fmt.Errorf("scheduler %s: not an executable file", name)
	}
	var tried []string

	if env := os.Getenv(SchedulerEnv); env != "" {
		p, why := lookIn(env, name)
		if p != "" {
			return p, nil
		}
		tried = append(tried, fmt.Sprintf("$%s=%s: %s", SchedulerEnv, env, why))
	}

	if dir, err := SchedDir(); err != nil {
		tried = append(tried, fmt.Sprintf("schedulers cache: %v", err))
	} else if rel != "" {
		b, err := ReadBuilt(dir, rel)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			tried = append(tried, fmt.Sprintf("%s: nothing built for kernel %s", filepath.Join(dir, rel), rel))
		case cachedir.IsDamaged(err):
			// Not passed over for a binary found elsewhere: that would
			// test another scheduler than the one asked for.
			return "", fmt.Errorf("scheduler %s: the build for kernel %s %w", name, rel, trimDir(err))
		case err != nil:
			tried = append(tried, fmt.Sprintf("%s: %v", filepath.Join(dir, rel), err))
		case b.Has(name):
			return b.Path(name), nil
		default:
			tried = append(tried, fmt.Sprintf("%s: the build for kernel %s has no %s (it has %s)", b.Dir, rel, name, strings.Join(b.Binaries, ", ")))
		}
	} else {
		builds, err := List(dir)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", dir, err))
		}
		for i := range builds {
			if builds[i].Damage != nil {
				tried = append(tried, builds[i].Damage.Error())
			} else if builds[i].Has(name) {
				return builds[i].Path(name), nil
			}
		}
		if err == nil {
			if len(builds) == 0 {
				tried = append(tried, fmt.Sprintf("%s: no builds", dir))
			} else {
				tried = append(tried, fmt.Sprintf("%s: none of the %d builds has %s", dir, len(builds), name))
			}
		}
	}

	if p, err := exec.LookPath(name); err == nil {
		if abs, aerr := filepath.Abs(p); aerr == nil {
			p = abs
		}
		return p, nil
	}
	tried = append(tried, "$PATH: not found")

	return "", fmt.Errorf("scheduler %s not found; looked in\n  - %s\n%s", name, strings.Join(tried, "\n  - "), buildHint(rel))
}

// lookIn finds name in dir (or accepts dir itself when it is the binary);
// otherwise it says why not.
func lookIn(dir, name string) (string, string) {
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", "no such directory"
		}
		return "", err.Error()
	}
	if !fi.IsDir() {
		if filepath.Base(dir) == name && isExecutable(dir) {
			return dir, ""
		}
		return "", "not a directory"
	}
	p := filepath.Join(dir, name)
	if isExecutable(p) {
		return p, ""
	}
	if _, err := os.Stat(p); err == nil {
		return "", fmt.Sprintf("%s is not an executable file", p)
	}
	return "", fmt.Sprintf("no %s there", name)
}

// trimDir words a damage error as "in DIR is damaged: ...", to follow "the
// build for kernel K".
func trimDir(err error) error {
	return fmt.Errorf("in %w", err)
}
