package monitor

import (
	"errors"
	"testing"

	"github.com/ktstr-go/ktstr/internal/kernel"
)

// cachedVmlinux returns the vmlinux of the newest cached kernel, or skips.
func cachedVmlinux(t *testing.T) string {
	t.Helper()
	k, err := kernel.Resolve("", "")
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
// field the monitor reads is there in a sched_ext kernel, and the offsets
// FIELD-NOTES measured for 7.3.4 come out.
func TestLayoutFromKernel(t *testing.T) {
	l, err := LayoutOf(cachedVmlinux(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Notes) > 0 {
		t.Errorf("a sched_ext kernel lacks fields: %q", l.Notes)
	}
	if l.RqSize == 0 || !l.RqCurr.ok || !l.RqLocalDSQNr.ok || !l.TaskRunnableNode.ok {
		t.Errorf("layout incomplete: %+v", l)
	}
	if len(l.PcpuEvents) != len(Events) {
		t.Errorf("%d of %d event counters found", len(l.PcpuEvents), len(Events))
	}
	// struct rq's clock follows nr_running by far; curr sits in an
	// anonymous union, which the resolver must look through.
	if l.RqNrRunning.off != 0 || l.RqClock.off <= l.RqCurr.off || l.RqCurr.off == 0 {
		t.Errorf("implausible offsets: nr_running %d, curr %d, clock %d", l.RqNrRunning.off, l.RqCurr.off, l.RqClock.off)
	}
}
