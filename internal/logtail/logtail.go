// Package logtail keeps the output of child processes (QEMU, make) for
// error messages: a buffer that one process's stdout and stderr may write
// to at once while others read, and the last lines of a log.
package logtail

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent writers and readers.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Bytes returns a copy of what was written.
func (l *Buffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// LastLines returns the last n lines of b, without trailing newlines.
func LastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LastBytes returns about the last n bytes of s: when it cuts, it starts
// at a line if one begins within 200 bytes of the cut, after a note of how
// much was left out.
func LastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := len(s) - n
	if i := strings.IndexByte(s[cut:min(len(s), cut+200)], '\n'); i >= 0 {
		cut += i + 1
	}
	return fmt.Sprintf("[… %d bytes before this left out]\n", cut) + s[cut:]
}

// FirstBytes returns about the first n bytes of s: when it cuts, it ends
// at a line if one ends within 200 bytes before the cut, with a note of
// how much was left out.
func FirstBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	if i := strings.LastIndexByte(s[max(0, cut-200):cut], '\n'); i >= 0 {
		cut = max(0, cut-200) + i + 1
	}
	return s[:cut] + fmt.Sprintf("[… %d bytes after this left out]", len(s)-cut)
}
