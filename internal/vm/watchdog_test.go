package vm

import (
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/internal/wire"
)

// TestSharedRAM checks that only runs whose guest may ask for the
// watchdog read-back pay for host-readable RAM.
func TestSharedRAM(t *testing.T) {
	if sharedRAM(Config{}) {
		t.Error("an EEVDF run shares its RAM with the host")
	}
	sched := Config{Request: wire.Request{Scheduler: &wire.Scheduler{Name: "scx_simple"}}}
	if !sharedRAM(sched) {
		t.Error("a sched_ext run does not share its RAM with the host")
	}
	// Were a guest without a scheduler to ask anyway, the answer is an
	// error, not a read of nothing.
	_, err := watchdogInForce(Config{HZ: 250, Vmlinux: "/k/vmlinux"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "not shared") {
		t.Errorf("watchdog read-back without shared RAM: %v, want an error saying it is not shared", err)
	}
}
