package vm

import (
	"errors"
	"time"

	"github.com/ktstr-go/ktstr/internal/wire"
)

// readWatchdog reads the running root scheduler's stall watchdog from guest
// memory: its timeout (struct scx_sched.watchdog_timeout) and the period
// of the kernel's watchdog work (scx_watchdog_interval), both in jiffies.
// It is the host's own account of what the kernel enforces, whatever the
// guest did to set it.
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

func watchdogInForce(c Config, g *guestView, syms map[string]uint64) (*wire.Watchdog, error) {
	if c.HZ <= 0 || c.Vmlinux == "" {
		return nil, errors.New("the host knows no vmlinux with BTF or no CONFIG_HZ for this kernel")
	}
	if err := g.attach(syms); err != nil {
		return nil, err
	}
	if !g.layout.SchedWatchdogTimeout.Present() {
		return nil, errors.New("struct scx_sched has no watchdog_timeout in this kernel")
	}
	for _, s := range []string{"scx_root", "scx_watchdog_interval"} {
		if g.syms[s] == 0 {
			return nil, errors.New("the guest gave no address for kernel symbol " + s)
		}
	}
	sch, err := g.kernel.Pointer(g.syms["scx_root"])
	if err != nil {
		return nil, err
	}
	if sch == 0 {
		return nil, errors.New("no sched_ext scheduler is attached (scx_root is NULL)")
	}
	timeout, err := g.kernel.U64(sch + g.layout.SchedWatchdogTimeout.Offset())
	if err != nil {
		return nil, err
	}
	interval, err := g.kernel.Pointer(g.syms["scx_watchdog_interval"])
	if err != nil {
		return nil, err
	}
	jiffy := time.Second / time.Duration(c.HZ)
	return &wire.Watchdog{Timeout: time.Duration(timeout) * jiffy, Interval: time.Duration(interval) * jiffy}, nil
}
