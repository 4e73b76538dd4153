package guestmem

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// readProcess reads len(p) bytes at address addr of process pid.
func readProcess(pid int, p []byte, addr uint64) error {
	if len(p) == 0 {
		return nil
	}
	local := []unix.Iovec{{Base: &p[0]}}
	local[0].SetLen(len(p))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(p)}}
	n, err := unix.ProcessVMReadv(pid, local, remote, 0)
	switch {
	case errors.Is(err, unix.ESRCH):
		return ErrGone
	case err != nil:
		return fmt.Errorf("guestmem: read QEMU's memory (pid %d): %w", pid, err)
	case n != len(p):
		return fmt.Errorf("guestmem: read %d of %d bytes at %#x of QEMU (pid %d)", n, len(p), addr, pid)
	}
	return nil
}
