package ktstr

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/initramfs"
	"github.com/ktstr-go/ktstr/internal/vm"
)

// BenchmarkBootOverhead measures a trivial ktstr test (boot, request,
// topology check, an empty body, result, power-off) against a bare QEMU boot
// of the same kernel and machine whose init only powers off. The two
// alternate so host noise hits both alike. The goal is a ratio of 1.15 or
// less. Reported: bare-s and ktstr-s (seconds per boot, minimum and mean)
// and ratio (of the minimums, the figure least disturbed by a shared host).
func BenchmarkBootOverhead(b *testing.B) {
	k, err := hostKernel("")
	if err != nil {
		b.Skip(err)
	}
	accel, _, err := hostAccel()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "poweroff")
	build := exec.Command("go", "build", "-o", bin, "./testdata/poweroff")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building the bare init: %v\n%s", err, out)
	}
	ib := initramfs.NewBuilder()
	if err := ib.AddFile("init", bin, 0o755); err != nil {
		b.Fatal(err)
	}
	bare, err := writeInitramfs(ib, filepath.Join(dir, "bare.cpio"))
	if err != nil {
		b.Fatal(err)
	}
	topo := Topo(1, 1, 2, 1)
	spec := Spec{Topology: topo}
	cfg := vm.Config{Kernel: k.BootImage(), Initrd: bare.path, Topology: topo.shape(),
		MemoryMB: memoryMB(spec, topo, 0), Accel: accel, Timeout: 2 * time.Minute}
	// Warm the page cache and the ktstr initramfs cache once.
	if _, _, err := vm.RunBare(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	if _, err := hostInitramfs(EEVDF, ""); err != nil {
		b.Fatal(err)
	}
	var bareSum, ktstrSum time.Duration
	bareMin, ktstrMin := time.Hour, time.Hour
	b.ResetTimer()
	for range b.N {
		d, _, err := vm.RunBare(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		bareSum += d
		bareMin = min(bareMin, d)
		t0 := time.Now()
		r, err := hostBoot("TestVM/Trivial/"+topo.String(), spec, topo, "")
		if err != nil {
			b.Fatal(err)
		}
		if fs := r.failures(); len(fs) > 0 {
			b.Fatalf("trivial test failed: %s: %s\n%s", fs[0].Kind, fs[0].Message, fs[0].Detail)
		}
		d = time.Since(t0)
		ktstrSum += d
		ktstrMin = min(ktstrMin, d)
	}
	n := float64(b.N)
	b.ReportMetric(bareMin.Seconds(), "bare-min-s")
	b.ReportMetric(ktstrMin.Seconds(), "ktstr-min-s")
	b.ReportMetric(bareSum.Seconds()/n, "bare-mean-s")
	b.ReportMetric(ktstrSum.Seconds()/n, "ktstr-mean-s")
	b.ReportMetric(ktstrMin.Seconds()/bareMin.Seconds(), "ratio")
}

// BenchmarkInitramfs measures building the guest's initramfs (the test
// binary and its libraries): cold writes a new archive every time, cached is
// what every further variant of a run pays (a digest over file metadata).
func BenchmarkInitramfs(b *testing.B) {
	b.Run("cold", func(b *testing.B) {
		dir := b.TempDir()
		for range b.N {
			ib, err := initramfsBuilder(EEVDF)
			if err != nil {
				b.Fatal(err)
			}
			r, err := writeInitramfs(ib, filepath.Join(dir, "a.cpio"))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(r.size)
		}
	})
	b.Run("cached", func(b *testing.B) {
		if _, err := hostInitramfs(EEVDF, ""); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			if _, err := hostInitramfs(EEVDF, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}
