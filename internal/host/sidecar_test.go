package host

import (
	"testing"

	"github.com/ktstr-go/ktstr/internal/wire"
)

func TestShapeLabel(t *testing.T) {
	for _, c := range []struct {
		g    *wire.GuestTopology
		want string
	}{
		{nil, ""},
		// 1 node, 2 LLCs of 2 cores, no SMT.
		{&wire.GuestTopology{CPUs: []int{0, 1, 2, 3}, LLCs: [][]int{{0, 1}, {2, 3}}, Nodes: [][]int{{0, 1, 2, 3}},
			Siblings: [][]int{{0}, {1}, {2}, {3}}}, "1n2l2c1t"},
		// 2 threads per core.
		{&wire.GuestTopology{CPUs: []int{0, 1, 2, 3}, LLCs: [][]int{{0, 1, 2, 3}}, Nodes: [][]int{{0, 1, 2, 3}},
			Siblings: [][]int{{0, 1}, {0, 1}, {2, 3}, {2, 3}}}, "1n1l2c2t"},
		// 3 CPUs over 2 LLCs have no shape.
		{&wire.GuestTopology{CPUs: []int{0, 1, 2}, LLCs: [][]int{{0, 1}, {2}}, Nodes: [][]int{{0, 1, 2}},
			Siblings: [][]int{{0}, {1}, {2}}}, "3cpus"},
	} {
		if got := shapeLabel(c.g); got != c.want {
			t.Errorf("shapeLabel(%+v) = %q, want %q", c.g, got, c.want)
		}
	}
}
