package vm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/ktstr-go/ktstr/internal/logtail"
)

// RunBare boots the VM of c without the harness: no virtio-serial port, no
// request, just QEMU, the kernel and c.Initrd, whose init is expected to
// power off. It returns the time from QEMU's start to its exit. It is the
// baseline the harness's overhead is measured against.
func RunBare(ctx context.Context, c Config) (time.Duration, []byte, error) {
	if c.QEMU == "" {
		p, err := exec.LookPath("qemu-system-x86_64")
		if err != nil {
			return 0, nil, err
		}
		c.QEMU = p
	}
	var mems []*os.File
	defer func() {
		for _, f := range mems {
			f.Close()
		}
	}()
	for n := 0; n < c.Topology.Nodes; n++ {
		f, err := ramFile("ktstr-bare-ram", int64(c.MemoryMB/c.Topology.Nodes)<<20)
		if err != nil {
			return 0, nil, err
		}
		mems = append(mems, f)
	}
	args, err := qemuArgs(argsConfig{Accel: c.Accel, Topology: c.Topology, MemoryMB: c.MemoryMB,
		Kernel: c.Kernel, Initrd: c.Initrd, Cmdline: c.Cmdline, Firmware: firmware()})
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.QEMU, args...)
	cmd.ExtraFiles = mems
	cmd.SysProcAttr = qemuProcAttr()
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(t0)
	if err != nil {
		return d, out, fmt.Errorf("bare boot: %w\n%s", err, logtail.LastLines(out, 20))
	}
	return d, out, nil
}
