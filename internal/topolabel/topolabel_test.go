package topolabel

import (
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/internal/wire"
)

// TestParse checks what Parse returns beside its error: ktstr.ParseTopology
// hands both on, and the root's tests check the messages.
func TestParse(t *testing.T) {
	tests := []struct {
		label string
		shape wire.Shape
		err   string // in the error; "" for none
	}{
		{"2n4l3c2t", wire.Shape{Nodes: 2, LLCs: 4, Cores: 3, Threads: 2}, ""},
		{"1n9l16c2t", wire.Shape{Nodes: 1, LLCs: 9, Cores: 16, Threads: 2}, ""},
		// Malformed: the zero shape.
		{"01n1l1c1t", wire.Shape{}, "want {nodes}n{llcs}l{cores}c{threads}t"},
		{"1n1l1000c1t", wire.Shape{}, "want {nodes}n{llcs}l{cores}c{threads}t"},
		// Well-formed but invalid: the shape, with Validate's error.
		{"2n3l1c1t", wire.Shape{Nodes: 2, LLCs: 3, Cores: 1, Threads: 1}, "topology 2n3l1c1t: 3 LLCs cannot be spread evenly"},
		{"1n1l289c1t", wire.Shape{Nodes: 1, LLCs: 1, Cores: 289, Threads: 1}, "cores per LLC is 289; at most 288"},
	}
	for _, tt := range tests {
		s, err := Parse(tt.label)
		if s != tt.shape {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.label, s, tt.shape)
		}
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("Parse(%q): %v", tt.label, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("Parse(%q) error %v, want one with %q", tt.label, err, tt.err)
		}
	}
}
