package vm

import (
	"errors"
	"fmt"
	"time"

	"github.com/ktstr-go/ktstr/internal/guestmem"
	"github.com/ktstr-go/ktstr/internal/hostnoise"
	"github.com/ktstr-go/ktstr/internal/monitor"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// guestView is the host's view into a running guest's kernel: its memory,
// found in QEMU once the guest has given its kernel symbols, and the host
// monitor sampling it.
type guestView struct {
	c      Config
	pid    int
	syms   map[string]uint64
	kernel *guestmem.Kernel
	layout monitor.Layout
	reader *monitor.Reader
	err    error // why the guest's memory cannot be read, once known
	mon    *monitor.Monitor
	off    string // why the monitor is off
	// noise tells the monitor how long the host held the vCPUs off; nil
	// under -icount, where guest time does not pass meanwhile.
	noise *hostnoise.Sampler
	// badSymbols tells that the guest's memory was not found where its
	// symbols said while QEMU ran.
	badSymbols bool
}

func newGuestView(c Config, pid int) *guestView {
	if _, on := c.Request.Assert.MonitorPeriod.Get(); on && c.Vmlinux != "" {
		// Parsing the kernel's BTF takes a while; have it done by the
		// time the guest sends its symbols, or a short test ends first.
		go func() { _, _ = monitor.LayoutOf(c.Vmlinux) }()
	}
	return &guestView{c: c, pid: pid}
}

// attach finds the guest's RAM in QEMU and checks, with the symbols the
// guest gave, that it reads the guest's runqueues there. Later calls
// return the first outcome.
func (g *guestView) attach(syms map[string]uint64) error {
	if g.kernel != nil || g.err != nil {
		return g.err
	}
	g.syms = syms
	g.err = g.find()
	g.badSymbols = g.err != nil && !errors.Is(g.err, guestmem.ErrGone)
	return g.err
}

func (g *guestView) find() error {
	layout, err := monitor.LayoutOf(g.c.Vmlinux)
	if err != nil {
		return err
	}
	g.layout = layout
	t := g.c.Topology
	nodeSize := uint64(g.c.MemoryMB/t.Nodes) << 20
	orders := []guestmem.Order{guestmem.Descending}
	if t.Nodes > 1 {
		orders = append(orders, guestmem.Ascending)
	}
	var errs []error
	for _, o := range orders {
		mem, err := guestmem.Attach(g.pid, t.Nodes, nodeSize, o)
		if err != nil {
			return err
		}
		k, err := guestmem.NewKernel(mem, g.syms)
		if err == nil {
			var r *monitor.Reader
			if r, err = monitor.NewReader(k, layout, g.syms, t.CPUs(), t.Nodes); err == nil {
				g.kernel, g.reader = k, r
				return nil
			}
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// startMonitor starts the host monitor once the guest gave its symbols,
// unless the request switched it off. It asks the guest over l for a
// sched_ext dump when the monitor first sees a limit exceeded.
func (g *guestView) startMonitor(syms map[string]uint64, l *link) {
	period, on := g.c.Request.Assert.MonitorPeriod.Get()
	if !on || g.mon != nil {
		return
	}
	if g.c.HZ <= 0 {
		g.off = "the host does not know this kernel's CONFIG_HZ"
		return
	}
	if err := g.attach(syms); err != nil {
		if !errors.Is(err, guestmem.ErrGone) {
			// The guest ending first is no reason to say anything.
			g.off = err.Error()
		}
		return
	}
	var held monitor.HeldFunc
	if g.noise != nil {
		// The monitor's clock starts now; the sampler's is the host's
		// CLOCK_MONOTONIC.
		base := hostnoise.Now()
		held = func(cpu int, from, to time.Duration) time.Duration {
			return g.noise.HeldIdle(cpu, base+from, base+to)
		}
	}
	g.mon = monitor.Start(g.reader, period, g.c.HZ, g.c.Request.Assert, held, func(f monitor.Finding) {
		_ = l.send(wire.Reply{Kind: wire.KindDump, Text: f.Message})
	})
}

// mark passes a body milestone to the monitor.
func (g *guestView) mark(event string) {
	if g.mon == nil {
		return
	}
	switch event {
	case wire.EventBodyStart:
		g.mon.Mark(true)
	case wire.EventBodyEnd:
		g.mon.Mark(false)
	}
}

// stop ends the monitor and returns what it saw, or says why it did not
// run ("" with a nil record: the request switched it off or the guest
// never gave its symbols).
func (g *guestView) stop() (*monitor.Record, string) {
	if g.mon == nil {
		if g.off != "" {
			return nil, fmt.Sprintf("host monitor off: %s", g.off)
		}
		return nil, ""
	}
	return g.mon.Stop(), ""
}
