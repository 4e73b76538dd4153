//go:build linux

package guest

import (
	"fmt"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// StartInCgroup starts cmd as its own process group, so that a stop reaches
// everything it forks, and, when cgroupDir is set, created straight into
// that cgroup, so that none of it runs elsewhere (clone3 with
// CLONE_INTO_CGROUP).
func StartInCgroup(cmd *exec.Cmd, cgroupDir string) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if cgroupDir != "" {
		fd, err := unix.Open(cgroupDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("opening cgroup %s: %w", cgroupDir, err)
		}
		defer unix.Close(fd)
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	}
	return cmd.Start()
}
