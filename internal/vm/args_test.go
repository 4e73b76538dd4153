package vm

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// flagValues returns the argument following each occurrence of flag in args.
func flagValues(args []string, flag string) []string {
	var v []string
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			v = append(v, args[i+1])
			i++
		}
	}
	return v
}

// splitNUMA separates the -numa values into node and dist definitions.
func splitNUMA(args []string) (nodes, dists []string) {
	for _, v := range flagValues(args, "-numa") {
		switch {
		case strings.HasPrefix(v, "node,"):
			nodes = append(nodes, v)
		case strings.HasPrefix(v, "dist,"):
			dists = append(dists, v)
		default:
			panic("unexpected -numa value " + v)
		}
	}
	return nodes, dists
}

func testConfig(s wire.Shape, memMB int) argsConfig {
	return argsConfig{
		Accel:    TCG,
		Topology: s,
		MemoryMB: memMB,
		Kernel:   "/k/vmlinux",
		Initrd:   "/k/initrd.cpio",
		Socket:   "/run/vm-1/port.sock",
	}
}

// TestQEMUArgsGolden pins the whole command line of the simplest VM, so
// that any change to it is deliberate.
func TestQEMUArgsGolden(t *testing.T) {
	c := testConfig(wire.Shape{Nodes: 1, LLCs: 1, Cores: 2, Threads: 1}, 512)
	got, err := qemuArgs(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-name", "ktstr,debug-threads=on",
		"-machine", "q35,memory-backend=mem0",
		"-accel", "tcg,thread=single", "-cpu", "max,vendor=GenuineIntel,-erms,-fsrm",
		"-smp", "2,sockets=1,dies=1,cores=2,threads=1",
		"-m", "512M",
		"-object", "memory-backend-ram,id=mem0,size=512M",
		"-kernel", "/k/vmlinux",
		"-initrd", "/k/initrd.cpio",
		"-append", BaseCmdline,
		"-serial", "stdio",
		"-device", "virtio-serial-pci,max_ports=2",
		"-chardev", "socket,id=ktstr0,path=/run/vm-1/port.sock",
		"-device", "virtserialport,chardev=ktstr0,name=" + wire.PortName,
	}
	if !slices.Equal(got, want) {
		t.Errorf("qemuArgs:\n got %q\nwant %q", got, want)
	}
}

// TestQEMUArgsTopology checks how each shape maps onto -smp (sockets are NUMA
// nodes, dies are LLCs), guest RAM backends and the NUMA layout.
func TestQEMUArgsTopology(t *testing.T) {
	tests := []struct {
		shape   wire.Shape
		memMB   int
		smp     string
		machine string
		mem     string   // -m
		objects []string // -object, in order
		nodes   []string // -numa node,..., in order
	}{
		{
			shape:   wire.Shape{Nodes: 1, LLCs: 1, Cores: 2, Threads: 1},
			memMB:   512,
			smp:     "2,sockets=1,dies=1,cores=2,threads=1",
			machine: "q35,memory-backend=mem0",
			mem:     "512M",
			objects: []string{"memory-backend-ram,id=mem0,size=512M"},
		},
		{
			shape:   wire.Shape{Nodes: 1, LLCs: 2, Cores: 2, Threads: 2},
			memMB:   1024,
			smp:     "8,sockets=1,dies=2,cores=2,threads=2",
			machine: "q35,memory-backend=mem0",
			mem:     "1024M",
			objects: []string{"memory-backend-ram,id=mem0,size=1024M"},
		},
		{
			shape:   wire.Shape{Nodes: 2, LLCs: 2, Cores: 2, Threads: 1},
			memMB:   1024,
			smp:     "4,sockets=2,dies=1,cores=2,threads=1",
			machine: "q35",
			mem:     "1024M",
			objects: []string{
				"memory-backend-ram,id=mem0,size=512M",
				"memory-backend-ram,id=mem1,size=512M",
			},
			nodes: []string{
				"node,nodeid=0,cpus=0-1,memdev=mem0",
				"node,nodeid=1,cpus=2-3,memdev=mem1",
			},
		},
		{
			shape:   wire.Shape{Nodes: 2, LLCs: 4, Cores: 2, Threads: 1},
			memMB:   1001, // odd: each node gets 500 MB, the total is rounded down
			smp:     "8,sockets=2,dies=2,cores=2,threads=1",
			machine: "q35",
			mem:     "1000M",
			objects: []string{
				"memory-backend-ram,id=mem0,size=500M",
				"memory-backend-ram,id=mem1,size=500M",
			},
			nodes: []string{
				"node,nodeid=0,cpus=0-3,memdev=mem0",
				"node,nodeid=1,cpus=4-7,memdev=mem1",
			},
		},
		{
			shape:   wire.Shape{Nodes: 4, LLCs: 8, Cores: 4, Threads: 1},
			memMB:   2048,
			smp:     "32,sockets=4,dies=2,cores=4,threads=1",
			machine: "q35",
			mem:     "2048M",
			objects: []string{
				"memory-backend-ram,id=mem0,size=512M",
				"memory-backend-ram,id=mem1,size=512M",
				"memory-backend-ram,id=mem2,size=512M",
				"memory-backend-ram,id=mem3,size=512M",
			},
			nodes: []string{
				"node,nodeid=0,cpus=0-7,memdev=mem0",
				"node,nodeid=1,cpus=8-15,memdev=mem1",
				"node,nodeid=2,cpus=16-23,memdev=mem2",
				"node,nodeid=3,cpus=24-31,memdev=mem3",
			},
		},
	}
	for _, tt := range tests {
		s := tt.shape
		label := fmt.Sprintf("%dn%dl%dc%dt", s.Nodes, s.LLCs, s.Cores, s.Threads)
		t.Run(label, func(t *testing.T) {
			args, err := qemuArgs(testConfig(s, tt.memMB))
			if err != nil {
				t.Fatal(err)
			}
			check := func(flag string, want []string) {
				t.Helper()
				if got := flagValues(args, flag); !slices.Equal(got, want) {
					t.Errorf("%s: got %q, want %q", flag, got, want)
				}
			}
			check("-smp", []string{tt.smp})
			check("-machine", []string{tt.machine})
			check("-m", []string{tt.mem})
			check("-object", tt.objects)

			nodes, dists := splitNUMA(args)
			if !slices.Equal(nodes, tt.nodes) {
				t.Errorf("-numa node: got %q, want %q", nodes, tt.nodes)
			}
			// Every ordered pair of distinct nodes, each once, at distance 20.
			var wantDists []string
			for i := 0; s.Nodes > 1 && i < s.Nodes; i++ {
				for j := 0; j < s.Nodes; j++ {
					if i != j {
						wantDists = append(wantDists, fmt.Sprintf("dist,src=%d,dst=%d,val=20", i, j))
					}
				}
			}
			slices.Sort(dists)
			slices.Sort(wantDists)
			if !slices.Equal(dists, wantDists) {
				t.Errorf("-numa dist: got %q, want %q", dists, wantDists)
			}
			if n := s.Nodes; len(dists) != n*(n-1) && n > 1 {
				t.Errorf("%d -numa dist entries, want %d", len(dists), n*(n-1))
			}
		})
	}
}

func TestQEMUArgsAccel(t *testing.T) {
	tests := []struct {
		accel Accel
		want  []string // -accel, then -cpu
	}{
		{TCG, []string{"tcg,thread=single", "max,vendor=GenuineIntel,-erms,-fsrm"}},
		{KVM, []string{"kvm", "host"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.accel), func(t *testing.T) {
			c := testConfig(wire.Shape{Nodes: 1, LLCs: 1, Cores: 2, Threads: 1}, 512)
			c.Accel = tt.accel
			args, err := qemuArgs(c)
			if err != nil {
				t.Fatal(err)
			}
			got := append(flagValues(args, "-accel"), flagValues(args, "-cpu")...)
			if !slices.Equal(got, tt.want) {
				t.Errorf("-accel, -cpu: got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestQEMUArgsDeterministic checks that deterministic mode fixes the
// icount shift (an adaptive one would follow host load), only under TCG.
func TestQEMUArgsDeterministic(t *testing.T) {
	tests := []struct {
		accel         Accel
		deterministic bool
		shift         int
		want          []string // -icount values
	}{
		{TCG, false, DefaultICountShift, nil},
		{TCG, true, DefaultICountShift, []string{"shift=2,sleep=off"}},
		{TCG, true, 0, []string{"shift=0,sleep=off"}},
		{KVM, true, DefaultICountShift, nil},
	}
	for _, tt := range tests {
		c := testConfig(wire.Shape{Nodes: 1, LLCs: 1, Cores: 2, Threads: 1}, 512)
		c.Accel, c.Deterministic, c.ICountShift = tt.accel, tt.deterministic, tt.shift
		args, err := qemuArgs(c)
		if err != nil {
			t.Fatal(err)
		}
		if got := flagValues(args, "-icount"); !slices.Equal(got, tt.want) {
			t.Errorf("%s, deterministic %v, shift %d: -icount %q, want %q", tt.accel, tt.deterministic, tt.shift, got, tt.want)
		}
	}
	c := testConfig(wire.Shape{Nodes: 1, LLCs: 1, Cores: 2, Threads: 1}, 512)
	c.Deterministic, c.ICountShift = true, 11
	if _, err := qemuArgs(c); err == nil || !strings.Contains(err.Error(), "icount shift 11: want 0 to 10") {
		t.Errorf("shift 11: error %v", err)
	}
}

func TestQEMUArgsFirmware(t *testing.T) {
	for _, fw := range []string{"", "/usr/share/qemu/qboot.rom"} {
		c := testConfig(wire.Shape{Nodes: 1, LLCs: 1, Cores: 1, Threads: 1}, 256)
		c.Firmware = fw
		args, err := qemuArgs(c)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		if fw != "" {
			want = []string{fw}
		}
		if got := flagValues(args, "-bios"); !slices.Equal(got, want) {
			t.Errorf("Firmware %q: -bios %q, want %q", fw, got, want)
		}
	}
}

// TestQEMUArgsFixed checks what every VM needs whatever its configuration:
// no default devices, exit instead of reboot (a guest panic ends QEMU), the
// kernel command line, and the virtio-serial port wired to the host socket.
func TestQEMUArgsFixed(t *testing.T) {
	tests := []struct {
		name    string
		cmdline string
		append  string
	}{
		{"no extra cmdline", "", BaseCmdline},
		{"extra cmdline", "sched_verbose loglevel=7", BaseCmdline + " sched_verbose loglevel=7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig(wire.Shape{Nodes: 2, LLCs: 2, Cores: 1, Threads: 2}, 512)
			c.Cmdline = tt.cmdline
			c.Socket = "/tmp/ktstr-x/vm-42/port.sock"
			args, err := qemuArgs(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"-nodefaults", "-no-reboot"} {
				if !slices.Contains(args, f) {
					t.Errorf("%s missing from %q", f, args)
				}
			}
			if got := flagValues(args, "-append"); !slices.Equal(got, []string{tt.append}) {
				t.Errorf("-append %q, want %q", got, tt.append)
			}
			for _, item := range []string{"console=ttyS0", "panic=-1", "rdinit=/init"} {
				if !strings.Contains(tt.append, item) {
					t.Errorf("kernel command line %q lacks %s", tt.append, item)
				}
			}
			if got := flagValues(args, "-kernel"); !slices.Equal(got, []string{c.Kernel}) {
				t.Errorf("-kernel %q, want %q", got, c.Kernel)
			}
			if got := flagValues(args, "-initrd"); !slices.Equal(got, []string{c.Initrd}) {
				t.Errorf("-initrd %q, want %q", got, c.Initrd)
			}
			// The chardev is a client of the host's socket and the port
			// uses that chardev under the name the guest looks for.
			chardev := flagValues(args, "-chardev")
			if len(chardev) != 1 {
				t.Fatalf("-chardev %q, want one", chardev)
			}
			id, path, ok := strings.Cut(strings.TrimPrefix(chardev[0], "socket,id="), ",path=")
			if !strings.HasPrefix(chardev[0], "socket,id=") || !ok || path != c.Socket {
				t.Errorf("-chardev %q, want a socket chardev with path=%s", chardev[0], c.Socket)
			}
			devices := flagValues(args, "-device")
			wantDevices := []string{"virtio-serial-pci,max_ports=2", "virtserialport,chardev=" + id + ",name=" + wire.PortName}
			if !slices.Equal(devices, wantDevices) {
				t.Errorf("-device %q, want %q", devices, wantDevices)
			}
		})
	}
}

// TestQEMUArgsNoSocket checks that a VM without a host socket gets no
// virtio-serial port at all rather than a chardev with an empty path.
func TestQEMUArgsNoSocket(t *testing.T) {
	c := testConfig(wire.Shape{Nodes: 1, LLCs: 1, Cores: 2, Threads: 1}, 512)
	c.Socket = ""
	args, err := qemuArgs(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"-chardev", "-device"} {
		if v := flagValues(args, f); v != nil {
			t.Errorf("%s %q without a socket", f, v)
		}
	}
	if got := flagValues(args, "-serial"); !slices.Equal(got, []string{"stdio"}) {
		t.Errorf("-serial %q, want [stdio]", got)
	}
}

func TestQEMUArgsErrors(t *testing.T) {
	tests := []struct {
		name  string
		shape wire.Shape
		memMB int
		want  string // in the error
	}{
		{"no nodes", wire.Shape{Nodes: 0, LLCs: 1, Cores: 1, Threads: 1}, 512, "invalid topology"},
		{"LLCs not a multiple of nodes", wire.Shape{Nodes: 2, LLCs: 3, Cores: 1, Threads: 1}, 512, "invalid topology"},
		{"no cores", wire.Shape{Nodes: 1, LLCs: 1, Cores: 0, Threads: 1}, 512, "invalid topology"},
		{"no threads", wire.Shape{Nodes: 1, LLCs: 1, Cores: 1, Threads: 0}, 512, "invalid topology"},
		{"negative nodes", wire.Shape{Nodes: -1, LLCs: 1, Cores: 1, Threads: 1}, 512, "invalid topology"},
		{"too little RAM", wire.Shape{Nodes: 1, LLCs: 1, Cores: 1, Threads: 1}, 63, "leaves 63 MB per node, want at least 64"},
		{"too little RAM per node", wire.Shape{Nodes: 4, LLCs: 4, Cores: 1, Threads: 1}, 255, "255 MB of RAM over 4 nodes leaves 63 MB per node"},
		{"no RAM", wire.Shape{Nodes: 1, LLCs: 1, Cores: 1, Threads: 1}, 0, "leaves 0 MB per node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, err := qemuArgs(testConfig(tt.shape, tt.memMB))
			if err == nil {
				t.Fatalf("no error; args %q", args)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}

	// The boundary: exactly 64 MB per node is enough.
	if _, err := qemuArgs(testConfig(wire.Shape{Nodes: 2, LLCs: 2, Cores: 1, Threads: 1}, 128)); err != nil {
		t.Errorf("64 MB per node: %v", err)
	}
}

func TestDiagnose(t *testing.T) {
	// What a sysrq-triggered crash looks like on the serial console, with
	// the CRLF line ends of the 8250 console driver.
	panicConsole := strings.Join([]string{
		"[    0.000000] Linux version 6.12.0 (gcc 14.2.0)",
		"[    1.234567] sysrq: Trigger a crash",
		"[    1.234600] Kernel panic - not syncing: sysrq triggered crash",
		"[    1.234700] CPU: 0 UID: 0 PID: 1 Comm: init Not tainted 6.12.0 #1",
		"[    1.234800] Kernel Offset: disabled",
		"[    1.234900] Rebooting in 1 seconds..",
	}, "\r\n") + "\r\n"

	tests := []struct {
		name       string
		console    string
		stderr     string
		exitErr    error
		kind       check.Kind
		message    string
		detailHas  []string
		detailLack []string
	}{
		{
			name:      "panic",
			console:   panicConsole,
			exitErr:   errors.New("exit status 0"),
			kind:      check.KernelPanic,
			message:   "guest kernel panic: Kernel panic - not syncing: sysrq triggered crash",
			detailHas: []string{"sysrq: Trigger a crash", "Rebooting in 1 seconds"},
		},
		{
			name:    "panic on the last line without a newline",
			console: "booting\nKernel panic - not syncing: Attempted to kill init! exitcode=0x00000100",
			kind:    check.KernelPanic,
			message: "guest kernel panic: Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100",
		},
		{
			name:       "no panic, QEMU exited cleanly",
			console:    "[    0.1] Linux version 6.12.0\n[    0.9] reboot: Power down\n",
			kind:       check.NoResult,
			message:    "guest ended without a result",
			detailHas:  []string{"reboot: Power down"},
			detailLack: []string{"QEMU stderr"},
		},
		{
			name:      "no panic, QEMU failed",
			console:   "",
			stderr:    "qemu-system-x86_64: -smp 4,dies=2: unsupported\n",
			exitErr:   errors.New("exit status 1"),
			kind:      check.NoResult,
			message:   "guest ended without a result (QEMU: exit status 1)",
			detailHas: []string{"QEMU stderr:\nqemu-system-x86_64: -smp 4,dies=2: unsupported\nconsole:\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := diagnose([]byte(tt.console), []byte(tt.stderr), tt.exitErr, "guest ended without a result")
			if f.Kind != tt.kind {
				t.Errorf("Kind %q, want %q", f.Kind, tt.kind)
			}
			if f.Message != tt.message {
				t.Errorf("Message %q, want %q", f.Message, tt.message)
			}
			for _, s := range tt.detailHas {
				if !strings.Contains(f.Detail, s) {
					t.Errorf("Detail lacks %q:\n%s", s, f.Detail)
				}
			}
			for _, s := range tt.detailLack {
				if strings.Contains(f.Detail, s) {
					t.Errorf("Detail has %q:\n%s", s, f.Detail)
				}
			}
		})
	}
}

// TestDiagnoseDetailIsTail checks that a long console is cut to its end,
// where the interesting part is.
func TestDiagnoseDetailIsTail(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	f := diagnose([]byte(b.String()), nil, nil, "x")
	lines := strings.Split(f.Detail, "\n")
	if len(lines) != 40 || lines[0] != "line 60" || lines[39] != "line 99" {
		t.Errorf("Detail is %d lines from %q to %q, want 40 from \"line 60\" to \"line 99\"", len(lines), lines[0], lines[len(lines)-1])
	}
}
