package timeout

import (
	"testing"
	"time"
)

func TestQuick(t *testing.T) {}

func TestHangs(t *testing.T) {
	t.Run("1n2l2c1t", func(t *testing.T) {
		t.Parallel()
		time.Sleep(time.Minute)
	})
	t.Run("1n1l2c2t", func(t *testing.T) {
		t.Parallel()
		t.Log("booting")
		time.Sleep(time.Minute)
	})
}
