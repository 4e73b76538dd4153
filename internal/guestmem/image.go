package guestmem

import "fmt"

// Image is guest-physical memory held in a byte slice, from address 0: a
// synthetic guest for tests of code that reads guest kernel state.
type Image []byte

// ReadAt fills p from address pa.
func (m Image) ReadAt(p []byte, pa uint64) error {
	if pa > uint64(len(m)) || uint64(len(p)) > uint64(len(m))-pa {
		return fmt.Errorf("guestmem: %d bytes at %#x are beyond the image (%d bytes)", len(p), pa, len(m))
	}
	copy(p, m[pa:])
	return nil
}
