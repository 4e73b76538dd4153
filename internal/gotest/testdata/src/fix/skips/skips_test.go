package skips

import "testing"

func TestGauntlet(t *testing.T) {
	t.Run("1n2l2c1t", func(t *testing.T) {})
	t.Run("gauntlet", func(t *testing.T) {
		t.Skipf("gauntlet variants run with KTSTR_GAUNTLET=1 (ktstr test --gauntlet)")
	})
}

func TestAllSkipped(t *testing.T) { t.Skip("needs /dev/kvm") }
