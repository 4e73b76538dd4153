package panics

import "testing"

func TestOK(t *testing.T) {}

func TestBoom(t *testing.T) {
	t.Run("1n2l2c1t", func(t *testing.T) {
		t.Log("about to panic")
		var m map[string]int
		m["x"] = 1
	})
}

func TestNeverRuns(t *testing.T) {}
