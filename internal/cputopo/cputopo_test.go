package cputopo

import (
	"reflect"
	"testing"

	"github.com/ktstr-go/ktstr/internal/wire"
)

func TestExpected(t *testing.T) {
	tests := []struct {
		shape wire.Shape
		want  Topology
	}{
		{
			shape: wire.Shape{Nodes: 1, LLCs: 2, Cores: 2, Threads: 2},
			want: Topology{
				CPUs:      []int{0, 1, 2, 3, 4, 5, 6, 7},
				LLCs:      [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}},
				Nodes:     [][]int{{0, 1, 2, 3, 4, 5, 6, 7}},
				Distances: [][]int{{10}},
				Siblings:  [][]int{{0, 1}, {0, 1}, {2, 3}, {2, 3}, {4, 5}, {4, 5}, {6, 7}, {6, 7}},
			},
		},
		{
			shape: wire.Shape{Nodes: 2, LLCs: 2, Cores: 2, Threads: 1},
			want: Topology{
				CPUs:      []int{0, 1, 2, 3},
				LLCs:      [][]int{{0, 1}, {2, 3}},
				Nodes:     [][]int{{0, 1}, {2, 3}},
				Distances: [][]int{{10, 20}, {20, 10}},
				Siblings:  [][]int{{0}, {1}, {2}, {3}},
			},
		},
	}
	for _, tt := range tests {
		if got := Expected(tt.shape); !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("Expected(%v) = %+v, want %+v", tt.shape, *got, tt.want)
		}
	}
}

func TestLLCOfNodeOf(t *testing.T) {
	tp := Expected(wire.Shape{Nodes: 2, LLCs: 4, Cores: 2, Threads: 1}) // LLCs of 2, nodes of 4
	for _, c := range []struct{ cpu, llc, node int }{
		{0, 0, 0}, {3, 1, 0}, {4, 2, 1}, {7, 3, 1}, {8, -1, -1},
	} {
		if l, n := tp.LLCOf(c.cpu), tp.NodeOf(c.cpu); l != c.llc || n != c.node {
			t.Errorf("CPU %d: LLCOf %d NodeOf %d, want %d %d", c.cpu, l, n, c.llc, c.node)
		}
	}
}
