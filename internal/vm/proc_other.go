//go:build !linux

package vm

import (
	"errors"
	"os"
	"syscall"
)

// ramFile fails off Linux: ktstr boots its VMs on Linux hosts only. The
// package compiles elsewhere so that test packages importing ktstr do.
func ramFile(string, int64) (*os.File, error) {
	return nil, errors.New("ktstr boots VMs on Linux hosts only")
}

func qemuProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
