package vm

import "syscall"

// qemuProcAttr puts QEMU in its own process group, which keeps a
// terminal's Ctrl-C from reaching it before we have collected the guest's
// console, and has the kernel kill it if this process dies without
// cleaning up.
func qemuProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
