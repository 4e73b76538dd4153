package host

import (
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/vm"
	"github.com/ktstr-go/ktstr/internal/wire"
)

func shape(nodes, llcs, cores, threads int) wire.Shape {
	return wire.Shape{Nodes: nodes, LLCs: llcs, Cores: cores, Threads: threads}
}

func withTopology(j Job, s wire.Shape) Job {
	j.Topology = s
	return j
}

// TestMemoryMB checks the guest RAM sizing: by default 64 MB per CPU, at
// least 512 MB and room for three times the initramfs; always a multiple of
// the node count, so every node gets the same whole number of MB.
func TestMemoryMB(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name   string
		job    Job
		topo   wire.Shape
		initrd int64
		want   int
	}{
		{"small VM gets the minimum", Job{}, shape(1, 1, 2, 1), 10 * mb, 512},
		{"8 CPUs still the minimum", Job{}, shape(1, 2, 2, 2), 10 * mb, 512},
		{"16 CPUs", Job{}, shape(1, 2, 4, 2), 10 * mb, 1024},
		{"32 CPUs on 4 nodes", Job{}, shape(4, 8, 4, 1), 10 * mb, 2048},
		{"288 CPUs", Job{}, shape(1, 9, 16, 2), 10 * mb, 18432},
		{"big initramfs", Job{}, shape(1, 1, 2, 1), 200 * mb, 256 + 600},
		{"rounded up to 3 nodes", Job{}, shape(3, 3, 1, 1), 0, 513},
		{"explicit", Job{MemoryMB: 4096}, shape(1, 1, 2, 1), 200 * mb, 4096},
		{"explicit below the default minimum", Job{MemoryMB: 300}, shape(1, 2, 4, 2), 0, 300},
		{"explicit rounded up to 2 nodes", Job{MemoryMB: 1001}, shape(2, 2, 2, 1), 0, 1002},
	}
	for _, tt := range tests {
		got := memoryMB(withTopology(tt.job, tt.topo), tt.initrd)
		if got != tt.want {
			t.Errorf("%s: memoryMB(%s) = %d, want %d", tt.name, tt.topo, got, tt.want)
		}
		if got%tt.topo.Nodes != 0 {
			t.Errorf("%s: %d MB is not a multiple of %d nodes", tt.name, got, tt.topo.Nodes)
		}
	}

	// More CPUs never mean less RAM.
	prev := 0
	for cores := 1; cores <= 36; cores++ {
		topo := shape(2, 4, cores, 2)
		got := memoryMB(Job{Topology: topo}, 50*mb)
		if got < prev || got < 512 || got < 64*topo.CPUs() {
			t.Errorf("memoryMB(%s) = %d after %d", topo, got, prev)
		}
		prev = got
	}
}

// TestTimeouts checks the boot and whole-run limits: TCG boot time grows
// with the CPUs, KVM boots in a fixed time, and an explicit Spec.Timeout
// bounds both.
func TestTimeouts(t *testing.T) {
	const s = time.Second
	scx := Scheduler{Name: "scx_simple", Path: "/usr/bin/scx_simple"}
	tests := []struct {
		name        string
		job         Job
		topo        wire.Shape
		accel       vm.Accel
		boot, total time.Duration
	}{
		{"TCG 2 CPUs", Job{Duration: 2 * s}, shape(1, 1, 2, 1), vm.TCG, 62 * s, (60 + 3*2 + 2) * s},
		{"TCG 32 CPUs", Job{Duration: 2 * s}, shape(4, 8, 4, 1), vm.TCG, 92 * s, (60 + 3*2 + 32) * s},
		{"KVM 2 CPUs", Job{Duration: 2 * s}, shape(1, 1, 2, 1), vm.KVM, 30 * s, (60 + 3*2 + 2) * s},
		{"KVM 32 CPUs", Job{Duration: 2 * s}, shape(4, 8, 4, 1), vm.KVM, 30 * s, (60 + 3*2 + 32) * s},
		{"longer duration", Job{Duration: 10 * s}, shape(1, 2, 2, 2), vm.TCG, 68 * s, (60 + 3*10 + 8) * s},
		{"sched_ext attaches", Job{Duration: 2 * s, Scheduler: scx}, shape(1, 1, 2, 1), vm.TCG, 62 * s, (60 + 3*2 + 2 + 30) * s},
		{"explicit Timeout", Job{Duration: 2 * s, Timeout: 5 * time.Minute, Scheduler: scx}, shape(1, 1, 2, 1), vm.TCG, 62 * s, 5 * time.Minute},
		{"explicit Timeout below boot", Job{Duration: 2 * s, Timeout: 20 * s}, shape(1, 1, 2, 1), vm.TCG, 20 * s, 20 * s},
		{"explicit Timeout on KVM", Job{Duration: 2 * s, Timeout: 10 * s}, shape(1, 1, 2, 1), vm.KVM, 10 * s, 10 * s},
	}
	for _, tt := range tests {
		boot, total := timeouts(withTopology(tt.job, tt.topo), tt.accel)
		if boot != tt.boot || total != tt.total {
			t.Errorf("%s: timeouts = %v, %v; want %v, %v", tt.name, boot, total, tt.boot, tt.total)
		}
	}

	for _, topo := range []wire.Shape{shape(1, 1, 1, 1), shape(1, 2, 2, 2), shape(1, 9, 16, 2)} {
		kvm, _ := timeouts(Job{Duration: 2 * s, Topology: topo}, vm.KVM)
		tcg, _ := timeouts(Job{Duration: 2 * s, Topology: topo}, vm.TCG)
		if kvm >= tcg {
			t.Errorf("%s: KVM boot timeout %v not shorter than TCG's %v", topo, kvm, tcg)
		}
	}
}

// TestMergedAssertEEVDF checks that a job under the kernel's own scheduler
// gets no work-conservation check by default and one with a sched_ext
// scheduler does (check.Env.EEVDF says why).
func TestMergedAssertEEVDF(t *testing.T) {
	if _, on := mergedAssert(Job{}, vm.TCG, false).MaxIdleWhileWaiting.Get(); on {
		t.Error("EEVDF job: MaxIdleWhileWaiting on, want off")
	}
	scx := Job{Scheduler: Scheduler{Name: "scx_simple", Path: "/bin/scx_simple"}}
	if d, on := mergedAssert(scx, vm.TCG, false).MaxIdleWhileWaiting.Get(); !on || d != check.TCGMaxIdleWhileWaiting {
		t.Errorf("sched_ext job: MaxIdleWhileWaiting %v, %v; want %v, on", d, on, check.TCGMaxIdleWhileWaiting)
	}
}
