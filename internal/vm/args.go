package vm

import (
	"fmt"
	"strconv"

	"github.com/ktstr-go/ktstr/internal/wire"
)

// BaseCmdline is the kernel command line every VM boots with. Each item
// saves boot time under TCG or makes failures prompt: panic=-1 turns a panic
// into an immediate reboot, which -no-reboot turns into QEMU's exit.
const BaseCmdline = "console=ttyS0 quiet panic=-1 rdinit=/init no_timer_check tsc=reliable " +
	"mitigations=off nokaslr init_on_alloc=0 cryptomgr.notests reboot=t"

// DefaultICountShift is the -icount shift of deterministic mode: 4 ns of
// guest time per instruction. That is about where QEMU's adaptive shift
// settled on an idle 2-core host (work per guest second within a quarter
// of it), but fixed: host load then slows the run down without changing
// what the guest measures, where the adaptive shift let it back in
// (README, "Trustworthy numbers").
const DefaultICountShift = 2

// MaxICountShift is the largest shift QEMU accepts.
const MaxICountShift = 10

// argsConfig is what the QEMU command line depends on.
type argsConfig struct {
	Accel    Accel
	Topology wire.Shape
	MemoryMB int    // total, split evenly over the nodes
	Kernel   string // vmlinux (PVH) or bzImage
	Initrd   string
	Cmdline  string
	Socket   string // the host's listening virtio-serial socket; "" for none
	Firmware string // qboot.rom, or "" for QEMU's default
	// Deterministic ties guest time to instructions executed (TCG only),
	// 2^ICountShift ns per instruction.
	Deterministic bool
	ICountShift   int
}

// qemuArgs builds QEMU's arguments (without argv[0]).
func qemuArgs(c argsConfig) ([]string, error) {
	t := c.Topology
	if t.Nodes < 1 || t.LLCs < 1 || t.LLCs%t.Nodes != 0 || t.Cores < 1 || t.Threads < 1 {
		return nil, fmt.Errorf("vm: invalid topology %+v", t)
	}
	perNode := c.MemoryMB / t.Nodes
	if perNode < 64 {
		return nil, fmt.Errorf("vm: %d MB of RAM over %d nodes leaves %d MB per node, want at least 64", c.MemoryMB, t.Nodes, perNode)
	}
	if c.Deterministic && (c.ICountShift < 0 || c.ICountShift > MaxICountShift) {
		return nil, fmt.Errorf("vm: icount shift %d: want 0 to %d", c.ICountShift, MaxICountShift)
	}
	a := []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		// Named threads ("ALL CPUs/TCG", "CPU 0/KVM") let the host
		// tell the vCPU threads apart to account for their run delay.
		"-name", "ktstr,debug-threads=on",
	}
	machine := "q35"
	if t.Nodes == 1 {
		machine += ",memory-backend=mem0"
	}
	a = append(a, "-machine", machine)
	switch c.Accel {
	case KVM:
		a = append(a, "-accel", "kvm", "-cpu", "host")
	default:
		// An Intel-vendor model: without topoext Linux ignores AMD per-CCX
		// L3 sharing and the LLCs collapse into one. Without ERMS and
		// FSRM the guest's kernel, C library and Go runtime copy and
		// clear memory with rep movsq/stosq or plain loops instead of
		// rep movsb/stosb, which TCG runs one byte per translated block:
		// a boot of a test binary took about 0.15 s less (README, "How
		// fast").
		a = append(a, "-accel", "tcg,thread=single", "-cpu", "max,vendor=GenuineIntel,-erms,-fsrm")
		if c.Deterministic {
			// Guest time follows instructions executed, not the host
			// clock: timing inside the guest no longer depends on host
			// load, at several times lower speed. The shift is fixed
			// (2^shift ns of guest time per instruction): "auto" would
			// adapt it to host speed and bring host load back in.
			a = append(a, "-icount", fmt.Sprintf("shift=%d,sleep=off", c.ICountShift))
		}
	}
	if c.Firmware != "" {
		a = append(a, "-bios", c.Firmware)
	}
	// QEMU 7.2 shares L3 per die, so dies are LLCs and sockets NUMA nodes.
	a = append(a, "-smp", fmt.Sprintf("%d,sockets=%d,dies=%d,cores=%d,threads=%d",
		t.CPUs(), t.Nodes, t.LLCs/t.Nodes, t.Cores, t.Threads))
	a = append(a, "-m", strconv.Itoa(perNode*t.Nodes)+"M")
	cpusPerNode := t.CPUs() / t.Nodes
	for n := 0; n < t.Nodes; n++ {
		// QEMU's own anonymous RAM, which the host kernel backs with
		// transparent huge pages, and which the host reads from QEMU's
		// process (package guestmem). Shared memory files get no huge
		// pages unless the host's shmem_enabled allows them (Debian's
		// default is never), and under TCG a boot on 4 KiB pages took
		// 0.2-0.4 s longer (README, "How fast").
		a = append(a, "-object", fmt.Sprintf("memory-backend-ram,id=mem%d,size=%dM", n, perNode))
		if t.Nodes > 1 {
			a = append(a, "-numa", fmt.Sprintf("node,nodeid=%d,cpus=%d-%d,memdev=mem%d",
				n, n*cpusPerNode, (n+1)*cpusPerNode-1, n))
		}
	}
	for i := 0; t.Nodes > 1 && i < t.Nodes; i++ {
		for j := 0; j < t.Nodes; j++ {
			if i != j {
				a = append(a, "-numa", fmt.Sprintf("dist,src=%d,dst=%d,val=20", i, j))
			}
		}
	}
	cmdline := BaseCmdline
	if c.Cmdline != "" {
		cmdline += " " + c.Cmdline
	}
	a = append(a,
		"-kernel", c.Kernel,
		"-initrd", c.Initrd,
		"-append", cmdline,
		"-serial", "stdio",
	)
	if c.Socket != "" {
		// Two ports, the fewest that leave room for a virtserialport
		// (QEMU keeps port 0 for a console): with the default 31 the
		// guest driver sets up 64 virtqueues at boot (two per port, two
		// for control) instead of 6, and under TCG its probe took 21 ms
		// instead of 14.
		a = append(a,
			"-device", "virtio-serial-pci,max_ports=2",
			"-chardev", "socket,id=ktstr0,path="+c.Socket,
			"-device", "virtserialport,chardev=ktstr0,name="+wire.PortName,
		)
	}
	return a, nil
}
