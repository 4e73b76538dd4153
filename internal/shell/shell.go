// Package shell is the ktstr command's shell: a VM of a given topology,
// kernel and scheduler with an interactive shell on the user's terminal, or
// one command run in it (--exec) whose output and exit status pass through.
//
// The host side (this file) turns the command line into a host.Job; the
// guest side (guest.go) is the guest program the ktstr binary registers,
// run by its PID 1 in the VM. The shell is busybox's when the host has
// busybox (Debian's busybox-static), else the host's /bin/sh with its
// libraries.
package shell

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"

	"github.com/ktstr-go/ktstr/internal/layout"
)

// The guest programs, as the host names them in its request.
const (
	ProgramShell = "shell"
	ProgramExec  = "exec"
)

// IncludeDir is where an --include without a guest path lands; it is on
// the shell's $PATH.
const IncludeDir = "/include"

// guestBusybox is where busybox is packed.
const guestBusybox = "/bin/busybox"

// args is what the guest program is told: the command (empty for the
// interactive shell) and the included guest paths, to list.
type args struct {
	Command  string
	Includes []string
}

// encodeArgs and decodeArgs carry args in wire.Request.Args: the command
// first, then the included paths.
func encodeArgs(a args) []string { return append([]string{a.Command}, a.Includes...) }

func decodeArgs(s []string) (args, error) {
	if len(s) == 0 {
		return args{}, errors.New("the shell program got no arguments (the host and guest binaries differ?)")
	}
	return args{Command: s[0], Includes: s[1:]}, nil
}

// Include is a host file or directory packed into the guest.
type Include struct {
	Host  string // the host path
	Guest string // the absolute guest path
}

// ParseInclude reads an --include value, FILE or FILE:GUEST_PATH. A file
// without a guest path goes to IncludeDir; a directory needs one.
func ParseInclude(v string) (Include, error) {
	if v == "" {
		return Include{}, errors.New("--include: empty; give FILE or FILE:GUEST_PATH")
	}
	in := Include{Host: v}
	if i := strings.LastIndex(v, ":"); i >= 0 {
		in.Host, in.Guest = v[:i], v[i+1:]
		if in.Guest == "" {
			return Include{}, fmt.Errorf("--include %s: empty guest path after ':'; give FILE:GUEST_PATH, or FILE alone for %s/FILE", v, IncludeDir)
		}
	}
	info, err := os.Stat(in.Host)
	if err != nil {
		return Include{}, fmt.Errorf("--include %s: %s: no such file or directory on the host", v, in.Host)
	}
	if in.Guest == "" {
		if info.IsDir() {
			return Include{}, fmt.Errorf("--include %s: a directory needs a guest path: --include %s:/some/dir", v, in.Host)
		}
		in.Guest = path.Join(IncludeDir, path.Base(in.Host))
	}
	if err := layout.CheckUserPath(in.Guest); err != nil {
		return Include{}, fmt.Errorf("--include %s: %w", v, err)
	}
	return in, nil
}

// Files maps the includes to the guest files of a host.Job, with the shell:
// busybox when the host has it, else the host's /bin/sh. Two includes at
// one guest path are an error.
func Files(includes []Include) (map[string]string, error) {
	files := map[string]string{}
	if bb, err := exec.LookPath("busybox"); err == nil {
		files[guestBusybox] = bb
	} else {
		files["/bin/sh"] = "/bin/sh"
	}
	for _, in := range includes {
		if prev, ok := files[in.Guest]; ok {
			return nil, fmt.Errorf("--include: %s and %s both go to %s in the guest; give one of them another guest path", prev, in.Host, in.Guest)
		}
		files[in.Guest] = in.Host
	}
	return files, nil
}

// Args are the guest program's arguments for command ("" for the
// interactive shell) with includes.
func Args(command string, includes []Include) []string {
	a := args{Command: command}
	for _, in := range includes {
		a.Includes = append(a.Includes, in.Guest+" (from "+in.Host+")")
	}
	return encodeArgs(a)
}
