package initramfs

import (
	"bytes"
	"strconv"
	"testing"
)

// cpioEntry is one entry parsed back from a newc archive by readNewc.
type cpioEntry struct {
	name                              string
	ino, mode, uid, gid, nlink, mtime uint32
	devMajor, devMinor                uint32
	rdevMajor, rdevMinor, check       uint32
	data                              []byte
	headerOffset, dataOffset          int
}

// readNewc parses a newc archive independently of the Writer and fails the
// test if it is malformed: a bad magic or hex field, a header or data that
// does not start on a 4-byte boundary, non-zero padding, a missing trailer
// or bytes after it. It returns the entries before the trailer.
func readNewc(t testing.TB, b []byte) []cpioEntry {
	t.Helper()
	var out []cpioEntry
	off := 0
	for {
		if off%4 != 0 {
			t.Fatalf("header at offset %d is not 4-byte aligned", off)
		}
		if off+110 > len(b) {
			t.Fatalf("archive ends at %d inside a header (no trailer?)", len(b))
		}
		h := b[off : off+110]
		if string(h[:6]) != "070701" {
			t.Fatalf("bad magic %q at offset %d", h[:6], off)
		}
		var f [13]uint32
		for i := range f {
			s := string(h[6+8*i : 14+8*i])
			v, err := strconv.ParseUint(s, 16, 32)
			if err != nil {
				t.Fatalf("field %d at offset %d is not hex: %q", i, off, s)
			}
			f[i] = uint32(v)
		}
		e := cpioEntry{
			ino: f[0], mode: f[1], uid: f[2], gid: f[3], nlink: f[4], mtime: f[5],
			devMajor: f[7], devMinor: f[8], rdevMajor: f[9], rdevMinor: f[10], check: f[12],
			headerOffset: off,
		}
		size, namesize := int(f[6]), int(f[11])
		nameEnd := off + 110 + namesize
		if namesize == 0 || nameEnd > len(b) || b[nameEnd-1] != 0 {
			t.Fatalf("bad name (namesize %d) at offset %d", namesize, off)
		}
		e.name = string(b[off+110 : nameEnd-1])
		if bytes.IndexByte([]byte(e.name), 0) >= 0 {
			t.Fatalf("name %q contains NUL", e.name)
		}
		dataOff := align4(nameEnd)
		checkZero(t, b, nameEnd, dataOff, e.name+" name padding")
		if e.name == "TRAILER!!!" {
			if size != 0 {
				t.Fatalf("trailer has size %d", size)
			}
			checkZero(t, b, dataOff, len(b), "bytes after the trailer")
			if len(b)%4 != 0 {
				t.Fatalf("archive length %d is not a multiple of 4", len(b))
			}
			return out
		}
		e.dataOffset = dataOff
		if dataOff+size > len(b) {
			t.Fatalf("data of %q runs past the end", e.name)
		}
		e.data = b[dataOff : dataOff+size]
		next := align4(dataOff + size)
		checkZero(t, b, dataOff+size, next, e.name+" data padding")
		out = append(out, e)
		off = next
	}
}

// align4 rounds n up to a multiple of 4.
func align4(n int) int { return (n + 3) &^ 3 }

// checkZero fails the test unless b[from:to] is all zero.
func checkZero(t testing.TB, b []byte, from, to int, what string) {
	t.Helper()
	if to > len(b) {
		t.Fatalf("%s: archive truncated at %d (want %d)", what, len(b), to)
	}
	for i := from; i < to; i++ {
		if b[i] != 0 {
			t.Fatalf("%s: non-zero byte at offset %d", what, i)
		}
	}
}

// byName indexes entries by name and fails on duplicates.
func byName(t testing.TB, entries []cpioEntry) map[string]cpioEntry {
	t.Helper()
	m := make(map[string]cpioEntry)
	for _, e := range entries {
		if _, dup := m[e.name]; dup {
			t.Fatalf("archive holds %q twice", e.name)
		}
		m[e.name] = e
	}
	return m
}
