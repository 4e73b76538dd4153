package vm

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"

	"github.com/ktstr-go/ktstr/internal/guestmem"
	"github.com/ktstr-go/ktstr/internal/monitor"
)

// Addresses of a synthetic guest: the kernel image at physical 0 (phys_base
// 0) and the direct map at the usual base.
const (
	imageBase  = 0xffffffff80000000
	directBase = 0xffff888000000000
)

// synthGuest is guest memory holding the given 8-byte kernel globals, with
// the symbols address translation needs.
func synthGuest(t *testing.T, globals map[string]uint64) (guestmem.Image, *guestmem.Kernel, map[string]uint64) {
	t.Helper()
	mem := make(guestmem.Image, 4096)
	syms := map[string]uint64{}
	put := func(name string, off int, v uint64) {
		binary.LittleEndian.PutUint64(mem[off:], v)
		syms[name] = imageBase + uint64(off)
	}
	put(guestmem.SymPhysBase, 0x100, 0)
	put(guestmem.SymPageOffsetBase, 0x108, directBase)
	off := 0x200
	for name, v := range globals {
		put(name, off, v)
		off += 8
	}
	k, err := guestmem.NewKernel(mem, syms)
	if err != nil {
		t.Fatal(err)
	}
	return mem, k, syms
}

// layoutOf resolves the monitor's layout from BTF holding types and the
// struct rq every layout needs.
func layoutOf(t *testing.T, types ...btf.Type) monitor.Layout {
	t.Helper()
	u32 := &btf.Int{Name: "u32", Size: 4}
	u64 := &btf.Int{Name: "u64", Size: 8}
	ptr := &btf.Pointer{Target: u64}
	rq := &btf.Struct{Name: "rq", Size: 64, Members: []btf.Member{
		{Name: "nr_running", Type: u32},
		{Name: "curr", Type: ptr, Offset: 64},
		{Name: "idle", Type: ptr, Offset: 128},
		{Name: "clock", Type: u64, Offset: 192},
		{Name: "cpu", Type: u32, Offset: 256},
	}}
	b, err := btf.NewBuilder(append(types, rq), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	l, err := monitor.NewLayout(spec)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestWatchdogStaticLayout reads the watchdog of a kernel shaped like 6.12
// LTS: no struct scx_sched, the timeout in the static scx_watchdog_timeout
// and the work every half timeout. Read only through scx_root, as before
// 6.12 was supported, this kernel had no watchdog to report and every
// WatchdogForced run on it failed.
func TestWatchdogStaticLayout(t *testing.T) {
	const hz = 250
	c := Config{HZ: hz, Vmlinux: "vmlinux"}
	layout := layoutOf(t)

	for _, tc := range []struct {
		name    string
		globals map[string]uint64
		want    *time.Duration
		err     string
	}{
		{"attached", map[string]uint64{"scx_watchdog_timeout": 3 * hz, "scx_ops_enable_state_var": 1}, ptr(3 * time.Second), ""},
		{"no enable state symbol", map[string]uint64{"scx_watchdog_timeout": 30 * hz}, ptr(30 * time.Second), ""},
		// The timeout outlives the scheduler on 6.12: the enable state
		// tells that none is attached, rather than a stale figure.
		{"detached", map[string]uint64{"scx_watchdog_timeout": 3 * hz, "scx_ops_enable_state_var": scxOpsDisabled}, nil, "no sched_ext scheduler is attached (scx_ops_enable_state_var is SCX_OPS_DISABLED)"},
		{"neither layout", map[string]uint64{}, nil, "neither struct scx_sched.watchdog_timeout nor scx_watchdog_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, k, syms := synthGuest(t, tc.globals)
			g := &guestView{c: c, kernel: k, layout: layout, syms: syms}
			w, err := watchdogInForce(c, g, syms)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w.Timeout != *tc.want || w.Interval != *tc.want/2 {
				t.Errorf("watchdog %v every %v, want %v every %v", w.Timeout, w.Interval, *tc.want, *tc.want/2)
			}
		})
	}
}

// TestWatchdogRootLayout reads the watchdog of a kernel shaped like 7.3:
// the root scheduler's scx_sched.watchdog_timeout behind scx_root, and the
// work's own period in scx_watchdog_interval. A static
// scx_watchdog_timeout, if one is left, is not what the kernel enforces.
func TestWatchdogRootLayout(t *testing.T) {
	const hz = 1000
	c := Config{HZ: hz, Vmlinux: "vmlinux"}
	u64 := &btf.Int{Name: "u64", Size: 8}
	sch := &btf.Struct{Name: "scx_sched", Size: 32, Members: []btf.Member{
		{Name: "ops", Type: u64},
		{Name: "watchdog_timeout", Type: u64, Offset: 16 * 8},
	}}
	layout := layoutOf(t, sch)
	if !layout.SchedWatchdogTimeout.Present() {
		t.Fatal("scx_sched.watchdog_timeout not resolved")
	}
	// struct scx_sched in the direct map at physical 0x800.
	mem, k, syms := synthGuest(t, map[string]uint64{"scx_root": directBase + 0x800, "scx_watchdog_interval": 700, "scx_watchdog_timeout": 99})
	binary.LittleEndian.PutUint64(mem[0x800+16:], 5*hz)
	g := &guestView{c: c, kernel: k, layout: layout, syms: syms}
	w, err := watchdogInForce(c, g, syms)
	if err != nil {
		t.Fatal(err)
	}
	if w.Timeout != 5*time.Second || w.Interval != 700*time.Millisecond {
		t.Errorf("watchdog %v every %v, want 5s every 700ms", w.Timeout, w.Interval)
	}

	// No scheduler attached: scx_root is NULL.
	_, k, syms = synthGuest(t, map[string]uint64{"scx_root": 0, "scx_watchdog_interval": 700})
	g = &guestView{c: c, kernel: k, layout: layout, syms: syms}
	if _, err := watchdogInForce(c, g, syms); err == nil || !strings.Contains(err.Error(), "scx_root is NULL") {
		t.Errorf("detached: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
