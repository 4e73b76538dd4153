package initramfs

import "math"

// Layout of the newc ("new ASCII") cpio format read by the kernel's
// init/initramfs.c: a 110-byte header of the magic and thirteen 8-digit hex
// fields, the NUL-terminated name padded to a multiple of 4 bytes, then the
// data padded to a multiple of 4 bytes. The archive ends with an entry named
// "TRAILER!!!".
const (
	newcMagic      = "070701"
	newcHeaderSize = 110
	newcTrailer    = "TRAILER!!!"
	// maxEntrySize is the largest file the 8-hex-digit size field can hold.
	maxEntrySize = math.MaxUint32
)

// newcHeader holds the fields of one newc header that this package sets;
// uid, gid, mtime, the device of the archive entry and the checksum are
// always zero.
type newcHeader struct {
	ino       uint32
	mode      uint32
	nlink     uint32
	size      uint32
	rdevMajor uint32
	rdevMinor uint32
	name      string
}

// encode writes the 110-byte header for h into buf.
func (h *newcHeader) encode(buf *[newcHeaderSize]byte) {
	copy(buf[:], newcMagic)
	fields := [13]uint32{
		h.ino,
		h.mode,
		0, // uid
		0, // gid
		h.nlink,
		0, // mtime: zero for reproducible archives
		h.size,
		0, // devmajor
		0, // devminor
		h.rdevMajor,
		h.rdevMinor,
		uint32(len(h.name) + 1), // namesize counts the trailing NUL
		0,                       // check: unused by the 070701 format
	}
	const hex = "0123456789ABCDEF"
	for i, v := range fields {
		off := len(newcMagic) + 8*i
		for j := 7; j >= 0; j-- {
			buf[off+j] = hex[v&0xf]
			v >>= 4
		}
	}
}

// padding returns how many zero bytes bring offset n to a multiple of 4.
func padding(n int64) int {
	return int((4 - n%4) % 4)
}
