package par

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestTopo(t *testing.T) {
	for i, name := range []string{"1n2l2c1t", "1n1l2c2t", "2n4l4c1t"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			time.Sleep(time.Duration(3-i) * 30 * time.Millisecond)
			t.Logf("ktstr: %s, scheduler EEVDF, kernel 7.3.4+deb13-amd64, tcg (no /dev/kvm), boot 1.2s, total 3.4s", name)
			if name == "1n1l2c2t" {
				t.Logf("--- guest output ---\nworker 0: 1234 units\nworker 1: 0 units")
				t.Errorf("ktstr: body: worker 1 of cg0 starved\nworkers: [0 1]")
			}
		})
	}
}

func TestPlain(t *testing.T) {
	fmt.Print("partial ")
	time.Sleep(10 * time.Millisecond)
	fmt.Print("line ")
	fmt.Println("done")
	fmt.Println(strings.Repeat("x", 5000))
}

func TestNested(t *testing.T) {
	t.Run("gauntlet", func(t *testing.T) {
		t.Run("tiny-1llc", func(t *testing.T) {
			t.Run("default", func(t *testing.T) {})
			t.Run("lowlat", func(t *testing.T) { t.Fatal("plain failure without ktstr kind") })
		})
	})
}

func TestParentFails(t *testing.T) {
	t.Run("child", func(t *testing.T) {})
	t.Error("parent's own check failed")
}
