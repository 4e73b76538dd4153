//go:build !linux

package vm

import "syscall"

// The package compiles off Linux so that test packages importing ktstr
// do; starting QEMU fails there (listenUnix).

func qemuProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
