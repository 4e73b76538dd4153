package spell

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"spin", "spin", 0}, {"spinn", "spin", 1}, {"set-cpust", "set-cpuset", 1},
		{"", "abc", 3}, {"kitten", "sitting", 3}, {"hld", "hold", 1},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
