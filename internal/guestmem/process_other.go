//go:build !linux

package guestmem

import "errors"

// readProcess fails off Linux: ktstr boots its VMs on Linux hosts only.
func readProcess(int, []byte, uint64) error {
	return errors.New("guestmem: reading guest memory needs Linux")
}
