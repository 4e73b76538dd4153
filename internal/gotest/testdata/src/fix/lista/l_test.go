package lista

import (
	"fmt"
	"os"
	"testing"
)

func variant(t *testing.T) {
	if os.Getenv("KTSTR_LIST") != "" {
		fmt.Printf("ktstr-variant: %s\n", t.Name())
		t.Skip("ktstr: listing only")
	}
}

func TestB(t *testing.T) {
	for _, n := range []string{"1n2l2c1t", "1n1l4c1t"} {
		t.Run(n, variant)
	}
	t.Run("gauntlet", func(t *testing.T) { t.Skip("gauntlet variants run with KTSTR_GAUNTLET=1 (ktstr test --gauntlet)") })
}

func TestA(t *testing.T) { t.Run("1n1l2c2t", variant) }

func TestUnit(t *testing.T) {}
