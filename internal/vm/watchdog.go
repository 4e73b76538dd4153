package vm

import (
	"errors"
	"time"

	"github.com/ktstr-go/ktstr/internal/wire"
)

// readWatchdog reads the running root scheduler's stall watchdog from guest
// memory: its timeout and the period of the kernel's watchdog work, both
// in jiffies. It is the host's own account of what the kernel enforces,
// whatever the guest did to set it.
func readWatchdog(c Config, g *guestView, syms map[string]uint64) wire.Reply {
	r := wire.Reply{Kind: wire.KindWatchdog}
	w, err := watchdogInForce(c, g, syms)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.Watchdog = w
	return r
}

// scxOpsDisabled is SCX_OPS_DISABLED in 6.12's enum scx_ops_enable_state.
const scxOpsDisabled = 3

// watchdogInForce reads the watchdog in either of the kernel's layouts:
// since struct scx_sched (6.16) the timeout is the root scheduler's
// scx_sched.watchdog_timeout, behind scx_root; before it (6.12 LTS) it is
// the static scx_watchdog_timeout, and the watchdog work runs every half
// timeout (there is no scx_watchdog_interval).
func watchdogInForce(c Config, g *guestView, syms map[string]uint64) (*wire.Watchdog, error) {
	if c.HZ <= 0 || c.Vmlinux == "" {
		return nil, errors.New("the host knows no vmlinux with BTF or no CONFIG_HZ for this kernel")
	}
	if err := g.attach(syms); err != nil {
		return nil, err
	}
	var timeout, interval uint64
	var err error
	switch {
	case g.layout.SchedWatchdogTimeout.Present():
		timeout, interval, err = watchdogOfRoot(g)
	case g.syms["scx_watchdog_timeout"] != 0:
		timeout, interval, err = watchdogStatic(g)
	default:
		return nil, errors.New("this kernel has neither struct scx_sched.watchdog_timeout nor scx_watchdog_timeout (no sched_ext, or a layout ktstr does not know)")
	}
	if err != nil {
		return nil, err
	}
	jiffy := time.Second / time.Duration(c.HZ)
	return &wire.Watchdog{Timeout: time.Duration(timeout) * jiffy, Interval: time.Duration(interval) * jiffy}, nil
}

// watchdogOfRoot reads the layout with struct scx_sched (7.3).
func watchdogOfRoot(g *guestView) (timeout, interval uint64, err error) {
	for _, s := range []string{"scx_root", "scx_watchdog_interval"} {
		if g.syms[s] == 0 {
			return 0, 0, errors.New("the guest gave no address for kernel symbol " + s)
		}
	}
	sch, err := g.kernel.Pointer(g.syms["scx_root"])
	if err != nil {
		return 0, 0, err
	}
	if sch == 0 {
		return 0, 0, errors.New("no sched_ext scheduler is attached (scx_root is NULL)")
	}
	if timeout, err = g.kernel.U64(sch + g.layout.SchedWatchdogTimeout.Offset()); err != nil {
		return 0, 0, err
	}
	interval, err = g.kernel.Pointer(g.syms["scx_watchdog_interval"])
	return timeout, interval, err
}

// watchdogStatic reads the layout of the static variables (6.12). The
// timeout outlives the scheduler there, so the enable state says whether
// one is attached.
func watchdogStatic(g *guestView) (timeout, interval uint64, err error) {
	if v := g.syms["scx_ops_enable_state_var"]; v != 0 {
		w, err := g.kernel.Pointer(v)
		if err != nil {
			return 0, 0, err
		}
		if uint32(w) == scxOpsDisabled {
			return 0, 0, errors.New("no sched_ext scheduler is attached (scx_ops_enable_state_var is SCX_OPS_DISABLED)")
		}
	}
	if timeout, err = g.kernel.Pointer(g.syms["scx_watchdog_timeout"]); err != nil {
		return 0, 0, err
	}
	interval = timeout / 2
	if v := g.syms["scx_watchdog_interval"]; v != 0 {
		interval, err = g.kernel.Pointer(v)
	}
	return timeout, interval, err
}
