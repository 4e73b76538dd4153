package vm

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// The host's end of the guest port is a Unix socket made with system calls
// rather than package net: net is what makes a Go test binary link the C
// library (its resolver uses cgo), and a dynamically linked /init costs
// the guest its loader, libc in the initramfs and their start-up, about
// 0.1 s of boot under TCG (README, "How fast"). Without net elsewhere in a
// test binary, go test links it statically.

// listenUnix listens on a new Unix stream socket at path.
func listenUnix(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Listen(fd, 1); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// Non-blocking, so the File is pollable: closing it ends a pending
	// acceptUnix.
	return os.NewFile(uintptr(fd), path), nil
}

// acceptUnix waits for a connection to the listening socket ln and returns
// it, pollable like ln.
func acceptUnix(ln *os.File) (*os.File, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var aerr error
	if err := rc.Read(func(fd uintptr) bool {
		nfd, _, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return !errors.Is(aerr, unix.EAGAIN)
	}); err != nil {
		return nil, err
	}
	if aerr != nil {
		return nil, aerr
	}
	return os.NewFile(uintptr(nfd), ln.Name()), nil
}
