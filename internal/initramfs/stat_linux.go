package initramfs

import (
	"os"
	"syscall"
)

// statKey returns the inode change time, inode and device number of fi,
// which the digest adds to the size and modification time.
func statKey(fi os.FileInfo) []uint64 {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	return []uint64{uint64(st.Ctim.Sec), uint64(st.Ctim.Nsec), uint64(st.Ino), uint64(st.Dev)}
}
