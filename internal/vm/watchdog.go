package vm

import (
	"errors"
	"os"
	"time"

	"github.com/ktstr-go/ktstr/internal/guestmem"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// sharedRAM reports whether run c needs guest RAM the host can read. Its
// one reader is the stall watchdog's read-back (readWatchdog), which the
// guest asks for only once a sched_ext scheduler is attached; every other
// run boots on anonymous RAM, which is faster (see argsConfig.SharedRAM).
func sharedRAM(c Config) bool { return c.Request.Scheduler != nil }

// readWatchdog reads the running root scheduler's stall watchdog from guest
// memory: its timeout (struct scx_sched.watchdog_timeout) and the period
// of the kernel's watchdog work (scx_watchdog_interval), both in jiffies.
// It is the host's own account of what the kernel enforces, whatever the
// guest did to set it.
func readWatchdog(c Config, mems []*os.File, syms map[string]uint64) wire.Reply {
	r := wire.Reply{Kind: wire.KindWatchdog}
	w, err := watchdogInForce(c, mems, syms)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.Watchdog = w
	return r
}

func watchdogInForce(c Config, mems []*os.File, syms map[string]uint64) (*wire.Watchdog, error) {
	if c.HZ <= 0 || c.Vmlinux == "" {
		return nil, errors.New("the host knows no vmlinux with BTF or no CONFIG_HZ for this kernel")
	}
	if len(mems) == 0 {
		return nil, errors.New("guest RAM is not shared with the host in a run without a sched_ext scheduler")
	}
	layout, err := guestmem.LayoutOf(c.Vmlinux)
	if err != nil {
		return nil, err
	}
	mem, err := guestmem.Map(mems)
	if err != nil {
		return nil, err
	}
	defer mem.Close()
	k, err := guestmem.NewKernel(mem, syms)
	if err != nil {
		return nil, err
	}
	pa, err := k.Watchdog(syms["scx_root"], layout)
	if err != nil {
		return nil, err
	}
	timeout, err := mem.U64(pa)
	if err != nil {
		return nil, err
	}
	interval, err := mem.U64(k.ImagePhys(syms["scx_watchdog_interval"]))
	if err != nil {
		return nil, err
	}
	jiffy := time.Second / time.Duration(c.HZ)
	return &wire.Watchdog{Timeout: time.Duration(timeout) * jiffy, Interval: time.Duration(interval) * jiffy}, nil
}
