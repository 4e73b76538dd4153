package vm

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ktstr-go/ktstr/internal/guestmem"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// setWatchdog forces the running root scheduler's stall watchdog timeout
// (struct scx_sched.watchdog_timeout) in guest memory, and the period of
// the kernel's watchdog work to half of it.
//
// The work already queued still fires after the old period (half the
// scheduler's own timeout), and until it has run once the kernel's tick
// would report "watchdog failed to check in" against the shorter timeout.
// So until then the host keeps the check-in timestamp current; the stop
// function ends that and unmaps guest memory.
func setWatchdog(c Config, mems []*os.File, syms map[string]uint64) (wire.Reply, func()) {
	r := wire.Reply{Kind: wire.KindWatchdog}
	nop := func() {}
	fail := func(err error) (wire.Reply, func()) { r.Err = err.Error(); return r, nop }
	if c.Request.Watchdog <= 0 || c.HZ <= 0 || c.Vmlinux == "" {
		return fail(errors.New("the host has no watchdog timeout, HZ or vmlinux to set it with"))
	}
	layout, err := guestmem.LayoutOf(c.Vmlinux)
	if err != nil {
		return fail(err)
	}
	mem, err := guestmem.Map(mems)
	if err != nil {
		return fail(err)
	}
	k, err := guestmem.NewKernel(mem, syms)
	if err == nil {
		var pa uint64
		if pa, err = k.Watchdog(syms["scx_root"], layout); err == nil {
			var old uint64
			if old, err = mem.U64(pa); err == nil {
				jiffies := uint64(c.Request.Watchdog.Seconds() * float64(c.HZ))
				if err = mem.SetU64(pa, jiffies); err == nil {
					_ = mem.SetU64(k.ImagePhys(syms["scx_watchdog_interval"]), max(1, jiffies/2))
					hz := time.Duration(c.HZ)
					r.Text = fmt.Sprintf("%v (set by the host; the scheduler's own was %v)", c.Request.Watchdog, time.Duration(old)*time.Second/hz)
					return r, bridge(mem, k.ImagePhys(syms["scx_watchdog_timestamp"]), k.ImagePhys(syms["jiffies_64"]))
				}
			}
		}
	}
	mem.Close()
	return fail(err)
}

// bridge keeps the watchdog's check-in timestamp at the guest's current
// jiffies until the kernel's watchdog work updates it itself (it ran, and
// is now re-queued at the new period). It returns the function that stops
// it.
func bridge(mem *guestmem.Memory, tsPA, jiffiesPA uint64) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer mem.Close()
		var wrote uint64
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			ts, err := mem.U64(tsPA)
			if err != nil || (wrote != 0 && ts != wrote) {
				return // the work checked in by itself
			}
			j, err := mem.U64(jiffiesPA)
			if err != nil {
				return
			}
			if mem.SetU64(tsPA, j) != nil {
				return
			}
			wrote = j
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
