package vm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// TestMonitorOffWithoutBTF: a kernel without BTF runs its test without the
// monitor, and one line says why.
func TestMonitorOffWithoutBTF(t *testing.T) {
	noBTF := filepath.Join(t.TempDir(), "vmlinux")
	exe, err := os.Executable() // an ELF without a .BTF section
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noBTF, b, 0o644); err != nil {
		t.Fatal(err)
	}
	c := Config{Vmlinux: noBTF, HZ: 250, Topology: wire.Shape{Nodes: 1, LLCs: 1, Cores: 2, Threads: 1}, MemoryMB: 512,
		Request: wire.Request{Assert: check.MonitorDefaults()}}
	g := newGuestView(c, os.Getpid())
	g.startMonitor(map[string]uint64{"phys_base": 1}, nil)
	rec, off := g.stop()
	if rec != nil || !strings.HasPrefix(off, "host monitor off: ") || !strings.Contains(off, "no .BTF section") {
		t.Errorf("record %v, %q; want the monitor off for want of BTF", rec, off)
	}
	// Switched off by the request: nothing ran, nothing to say.
	c.Request.Assert.MonitorPeriod = check.Disable[time.Duration]()
	g = newGuestView(c, os.Getpid())
	g.startMonitor(nil, nil)
	if rec, off := g.stop(); rec != nil || off != "" {
		t.Errorf("switched off: record %v, %q", rec, off)
	}
}
