package monitor

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/internal/env"

	"github.com/ktstr-go/ktstr/internal/kernel"
)

// cachedVmlinux returns the vmlinux of $KTSTR_KERNEL, else of the newest
// cached kernel, or skips.
func cachedVmlinux(t *testing.T) string {
	t.Helper()
	k, err := kernel.Resolve(os.Getenv(env.Kernel), "")
	var none *kernel.NoKernelError
	if errors.As(err, &none) || (err == nil && k.Vmlinux == "") {
		t.Skip("no cached kernel with a vmlinux: run `ktstr kernel fetch`")
	}
	if err != nil {
		t.Fatal(err)
	}
	return k.Vmlinux
}

// TestLayoutFromKernel resolves the layout in a real kernel's BTF: every
// field the monitor reads is there in a sched_ext kernel. A kernel without
// struct scx_sched (6.12 LTS, built with `ktstr kernel build`) says so in
// one note and has no event counters; a newer one has them all.
func TestLayoutFromKernel(t *testing.T) {
	l, err := LayoutOf(cachedVmlinux(t))
	if err != nil {
		t.Fatal(err)
	}
	static := !l.SchedWatchdogTimeout.ok
	switch {
	case static && (len(l.Notes) != 1 || !strings.Contains(l.Notes[0], "no struct scx_sched")):
		t.Errorf("a kernel without struct scx_sched: notes %q, want the one about its static variables", l.Notes)
	case static && len(l.PcpuEvents) != 0:
		t.Errorf("a kernel without struct scx_sched has %d event counters", len(l.PcpuEvents))
	case !static && len(l.Notes) > 0:
		t.Errorf("a sched_ext kernel lacks fields: %q", l.Notes)
	case !static && len(l.PcpuEvents) != len(Events):
		t.Errorf("%d of %d event counters found", len(l.PcpuEvents), len(Events))
	}
	if l.RqSize == 0 || !l.RqCurr.ok || !l.RqLocalDSQNr.ok || !l.TaskRunnableNode.ok {
		t.Errorf("layout incomplete: %+v", l)
	}
	// struct rq's clock follows nr_running by far (which is first, or
	// second after the lock); curr sits in an anonymous union, which the
	// resolver must look through.
	if l.RqNrRunning.off > 8 || l.RqClock.off <= l.RqCurr.off || l.RqCurr.off == 0 {
		t.Errorf("implausible offsets: nr_running %d, curr %d, clock %d", l.RqNrRunning.off, l.RqCurr.off, l.RqClock.off)
	}
}
