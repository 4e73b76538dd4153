package host

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/layout"
	"github.com/ktstr-go/ktstr/internal/vm"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/payload"
)

// Tests of the payload plumbing.

func TestPayloadMissingBinary(t *testing.T) {
	_, err := initramfsBuilder(Scheduler{}, payload.Payload{Name: "fio", Binary: "ktstr-no-such-fio", Package: "fio"})
	if err == nil || !strings.Contains(err.Error(), "payload fio: ktstr-no-such-fio is not on the host's $PATH") ||
		!strings.Contains(err.Error(), "apt-get install fio") {
		t.Errorf("error %v; want one naming the binary and the Debian package", err)
	}
	_, err = initramfsBuilder(Scheduler{}, payload.Payload{Name: "x", Binary: "/nonexistent/x"})
	if err == nil || !strings.Contains(err.Error(), "payload x: binary /nonexistent/x") {
		t.Errorf("error %v", err)
	}
	sh, _ := exec.LookPath("sh")
	_, err = initramfsBuilder(Scheduler{}, payload.Payload{Name: "a", Binary: sh}, payload.Payload{Name: "a", Binary: "/bin/true"})
	if err == nil || !strings.Contains(err.Error(), "two payloads named a") {
		t.Errorf("error %v", err)
	}
	_, err = initramfsBuilder(Scheduler{}, payload.Payload{Name: "a/b", Binary: sh})
	if err == nil || !strings.Contains(err.Error(), "Name may hold only") {
		t.Errorf("error %v", err)
	}
}

func TestPayloadPacked(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	p := payload.Payload{Name: "shell", Binary: "sh"}
	if got := layout.PayloadPath(p.Name, p.Binary); got != "/ktstr/payload/shell/sh" {
		t.Errorf("guest path %s", got)
	}
	without, err := initramfsBuilder(Scheduler{})
	if err != nil {
		t.Fatal(err)
	}
	with, err := initramfsBuilder(Scheduler{}, p)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := without.Digest()
	d2, _ := with.Digest()
	if d1 == d2 {
		t.Error("packing a payload does not change the archive")
	}
	// The same binary by path packs the same archive.
	byPath, err := initramfsBuilder(Scheduler{}, payload.Payload{Name: "shell", Binary: sh})
	if err != nil {
		t.Fatal(err)
	}
	if d3, _ := byPath.Digest(); d3 != d2 && filepath.Base(sh) == "sh" {
		t.Errorf("sh by name and by path %s pack different archives", sh)
	}
}

func TestPayloadSidecarMetrics(t *testing.T) {
	r := &Outcome{Job: Job{Name: "TestX/1n1l2c1t", Topology: wire.Shape{Nodes: 1, LLCs: 1, Cores: 2, Threads: 1}}, Outcome: &vm.Outcome{Result: &wire.Result{Passed: true, Payloads: []wire.PayloadResult{
		{Name: "fio", Metrics: map[string]float64{"read.iops": 812, "jobs.0.read.iops": 812}},
		{Name: "fio#2", Metrics: map[string]float64{"read.iops": 900}},
		{Name: "hackbench"},
	}}}, Kernel: &kernel.Kernel{Version: "7.0"}}
	s := r.ResultFile()
	want := map[string]float64{"fio.read.iops": 812, "fio.jobs.0.read.iops": 812, "fio#2.read.iops": 900}
	if len(s.PayloadMetrics) != len(want) {
		t.Errorf("payload metrics %v, want %v", s.PayloadMetrics, want)
	}
	for k, v := range want {
		if s.PayloadMetrics[k] != v {
			t.Errorf("%s = %v, want %v", k, s.PayloadMetrics[k], v)
		}
	}
}
