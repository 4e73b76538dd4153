package monitor

import (
	"os"
	"testing"
	"unsafe"

	"github.com/ktstr-go/ktstr/internal/guestmem"
)

// BenchmarkSample reads one sample of the synthetic guest through the same
// process_vm_readv calls as on a VM, from this process's own memory, and
// reports what sampling at 10 Hz costs the host in percent of one core.
// The monitor's real cost, measured per run on its thread's CPU clock,
// is in every --- monitor --- section ("host cost").
func BenchmarkSample(b *testing.B) {
	g := newFakeGuest()
	mem := guestmem.Self(os.Getpid(), uint64(uintptr(unsafe.Pointer(&g.mem[0]))), uint64(len(g.mem)))
	k, err := guestmem.NewKernel(mem, g.syms)
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewReader(k, g.l, g.syms, 2, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Sample(); err != nil {
			b.Fatal(err)
		}
	}
	perSample := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perSample*10/1e9*100, "%core@10Hz")
}
