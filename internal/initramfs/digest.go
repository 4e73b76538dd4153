package initramfs

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
)

// digestVersion changes whenever the archive format written by this
// package or the digest scheme changes, so old cache keys stop matching.
const digestVersion = "ktstr-initramfs-digest-v2"

// Digest returns a hex SHA-256 key of everything that determines the bytes
// [Builder.WriteTo] would write now, so a caller can keep a built archive
// and reuse it while the key stays the same.
//
// The key covers, for every entry in writing order, its archive path, kind
// and mode; the contents of AddBytes data; symlink targets and device
// numbers; and for host files not their contents but their path, whether
// they are written stripped (binaries), size, modification time, inode
// change time, inode and device number, as read by stat(2) now.
//
// Hashing the contents of host files would be exact, but costs a full read
// of every binary and library (tens of MB) each time the key is computed,
// which is most of the cost of writing the archive the key is meant to
// save. The stat fields are what make(1), ccache's direct mode and Go's
// build cache use for the same purpose: a rebuilt binary gets a new mtime
// with nanosecond resolution (and usually a new inode), an updated package
// replaces its libraries by rename (new inode and ctime), and ctime changes
// on every write even when a tool restores the old mtime, such as cp -p or
// touch -r. A change the key misses would need a same-size overwrite in
// place within one clock tick of the previous write.
//
// A host file that no longer exists is an error, as it is for WriteTo.
func (b *Builder) Digest() (string, error) {
	h := sha256.New()
	writeField(h, digestVersion)
	for _, name := range b.sortedNames() {
		e := b.entries[name]
		writeField(h, name)
		writeUint(h, uint64(e.kind))
		writeUint(h, uint64(e.umode))
		switch e.kind {
		case kindSymlink:
			writeField(h, e.target)
		case kindCharDev:
			writeUint(h, uint64(e.major))
			writeUint(h, uint64(e.minor))
		case kindFile:
			if e.hostInfo == nil {
				writeUint(h, uint64(len(e.data)))
				h.Write(e.data)
				continue
			}
			fi, err := os.Stat(e.hostPath)
			if err != nil {
				return "", fmt.Errorf("initramfs: digest of %q (%s): %w", name, e.origin, err)
			}
			writeField(h, e.hostPath)
			writeUint(h, boolUint(e.strip))
			writeUint(h, uint64(fi.Size()))
			writeUint(h, uint64(fi.ModTime().UnixNano()))
			for _, v := range statKey(fi) {
				writeUint(h, v)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func boolUint(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// writeField hashes s with its length first, so that fields cannot run
// into each other.
func writeField(h hash.Hash, s string) {
	writeUint(h, uint64(len(s)))
	h.Write([]byte(s))
}

// writeUint hashes v as 8 little-endian bytes.
func writeUint(h hash.Hash, v uint64) {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], v)
	h.Write(buf[:])
}
