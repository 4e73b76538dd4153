//go:build linux

package guest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ktstr-go/ktstr/internal/wire"
)

// symbols caches the addresses of wire.KernelSymbols: /proc/kallsyms is
// long, and reading it costs boot time under TCG.
var symbols struct {
	once sync.Once
	m    map[string]uint64
	err  error
}

// kernelSymbols returns the addresses of wire.KernelSymbols that this
// kernel has, read once from /proc/kallsyms.
func kernelSymbols() (map[string]uint64, error) {
	symbols.once.Do(func() { symbols.m, symbols.err = readKallsyms(wire.KernelSymbols) })
	return symbols.m, symbols.err
}

// readKallsyms returns the addresses of the named symbols found in
// /proc/kallsyms; it stops reading once it has them all.
func readKallsyms(names []string) (map[string]uint64, error) {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(out) < len(want) {
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 || !want[fs[2]] {
			continue
		}
		if v, err := strconv.ParseUint(fs[0], 16, 64); err == nil && v != 0 {
			out[fs[2]] = v
		}
	}
	return out, sc.Err()
}

// dumped tells that the guest took a sched_ext dump for the host monitor.
var dumped atomic.Bool

// startMonitor gives the host the kernel symbols its monitor reads guest
// memory through, unless the request switched the monitor off, and from
// then on takes a sched_ext dump when the host asks (wire.KindDump).
func startMonitor(req *wire.Request) {
	if _, on := req.Assert.MonitorPeriod.Get(); !on {
		return
	}
	if len(req.Symbols) > 0 {
		symbols.once.Do(func() { symbols.m = req.Symbols })
	}
	syms, err := kernelSymbols()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ktstr: host monitor off: reading /proc/kallsyms: %v\n", err)
		return
	}
	session.port.Handle(wire.KindDump, func(r wire.Reply) {
		// SysRq-D dumps the sched_ext scheduler's state into the trace
		// buffer (sched_ext_dump events) without unloading it; with no
		// scheduler attached it does nothing. The scheduler's own maps
		// are copied right after, for the same moment.
		if req.Scheduler == nil || dumped.Swap(true) {
			return
		}
		if err := os.WriteFile("/proc/sysrq-trigger", []byte("D"), 0); err != nil {
			fmt.Fprintf(os.Stderr, "ktstr: sched_ext dump for the host monitor: %v\n", err)
		}
		if s := attached.Load(); s != nil {
			s.maps.Load().capture("when the host monitor first saw a limit exceeded: " + r.Text)
		}
	})
	if err := session.port.Send(wire.Message{Kind: wire.KindSymbols, Symbols: syms}); err != nil {
		fmt.Fprintf(os.Stderr, "ktstr: host monitor: %v\n", err)
	}
}

// monitorDump returns the sched_ext dump taken for the host monitor, if
// one was.
func monitorDump() []string {
	if !dumped.Load() {
		return nil
	}
	_, dump := schedExtTrace()
	return capDump(dump)
}

// mark tells the host's monitor about a milestone of the body.
func mark(event string) {
	_ = session.port.Send(wire.Message{Kind: wire.KindEvent, Text: event})
}
