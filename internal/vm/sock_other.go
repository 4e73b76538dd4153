//go:build !linux

package vm

import (
	"errors"
	"os"
)

// listenUnix fails off Linux: ktstr boots its VMs on Linux hosts only.
func listenUnix(string) (*os.File, error) {
	return nil, errors.New("ktstr boots VMs on Linux hosts only")
}

func acceptUnix(*os.File) (*os.File, error) {
	return nil, errors.New("ktstr boots VMs on Linux hosts only")
}
