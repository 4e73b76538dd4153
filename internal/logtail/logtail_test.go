package logtail

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestTail(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"a", 3, "a"},
		{"a\nb\n", 3, "a\nb"},
		{"a\nb\nc", 3, "a\nb\nc"},
		{"a\nb\nc\nd\n", 3, "b\nc\nd"},
		{"a\nb\n\n\n", 1, "b"}, // trailing newlines are not lines
		{"a\n\nb", 2, "\nb"},   // an empty line inside is
		{"a\nb", 0, ""},
	}
	for _, tt := range tests {
		if got := LastLines([]byte(tt.in), tt.n); got != tt.want {
			t.Errorf("LastLines(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestBufferConcurrent(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprintf(&b, "%d\n", i)
				_ = b.Bytes()
			}
		})
	}
	wg.Wait()
	if n := len(b.Bytes()); n != 4*100*2 {
		t.Errorf("%d bytes, want %d", n, 800)
	}
}

func TestLastBytes(t *testing.T) {
	if got := LastBytes("short", 10); got != "short" {
		t.Errorf("LastBytes of a short text = %q", got)
	}
	s := strings.Repeat("0123456789\n", 10) // 110 bytes
	got := LastBytes(s, 25)
	want := "[… 88 bytes before this left out]\n0123456789\n0123456789\n"
	if got != want {
		t.Errorf("LastBytes = %q, want %q", got, want)
	}
}

func TestFirstBytes(t *testing.T) {
	if got := FirstBytes("short", 10); got != "short" {
		t.Errorf("FirstBytes of a short text = %q", got)
	}
	s := strings.Repeat("0123456789\n", 10) // 110 bytes
	got := FirstBytes(s, 25)
	want := "0123456789\n0123456789\n[… 88 bytes after this left out]"
	if got != want {
		t.Errorf("FirstBytes = %q, want %q", got, want)
	}
}
