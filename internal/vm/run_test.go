package vm

import (
	"context"
	"strings"
	"testing"
)

// TestRunWithoutQEMU checks that a missing QEMU is reported with the
// package that provides it.
func TestRunWithoutQEMU(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Run(context.Background(), Config{})
	if err == nil || !strings.Contains(err.Error(), "apt-get install qemu-system-x86") {
		t.Fatalf("error %v; want one naming the qemu-system-x86 package", err)
	}
}
