package vm

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ramFile makes an anonymous file of size bytes to back guest RAM (QEMU
// maps it; the host reads guest memory through it).
func ramFile(name string, size int64) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// qemuProcAttr puts QEMU in its own process group, which keeps a
// terminal's Ctrl-C from reaching it before we have collected the guest's
// console, and has the kernel kill it if this process dies without
// cleaning up.
func qemuProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
