//go:build linux

// Package guest is the inside of the VM: what the test binary does when the
// kernel starts it as PID 1 (mount file systems, find the host's port, power
// off), the topology the guest sees, cgroups, worker processes and the
// sched_ext scheduler's life cycle.
package guest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

type mount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
	optional               bool
}

var mounts = []mount{
	{"proc", "/proc", "proc", 0, "", false},
	{"sysfs", "/sys", "sysfs", 0, "", false},
	{"devtmpfs", "/dev", "devtmpfs", 0, "", false},
	{"tmpfs", "/tmp", "tmpfs", 0, "mode=1777", false},
	{"tmpfs", "/run", "tmpfs", 0, "mode=755", false},
	{"cgroup2", "/sys/fs/cgroup", "cgroup2", 0, "", false},
	{"debugfs", "/sys/kernel/debug", "debugfs", 0, "", true},
	{"tracefs", "/sys/kernel/tracing", "tracefs", 0, "", true},
	{"bpf", "/sys/fs/bpf", "bpf", 0, "", true},
}

// Mount mounts the file systems a test needs. The cgroup controllers are
// passed down when a body first needs a cgroup ([Cgroups.Prepare]).
func Mount() error {
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil && !m.optional {
			return fmt.Errorf("mkdir %s: %w", m.target, err)
		}
		if err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil && !errors.Is(err, unix.EBUSY) {
			if m.optional {
				continue
			}
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
		}
	}
	return nil
}

// OpenPort opens the virtio-serial port named name. Without udev there is no
// /dev/virtio-ports, so the name is looked up in sysfs.
func OpenPort(name string) (*os.File, error) {
	paths, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
	var seen []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		got := strings.TrimSpace(string(b))
		seen = append(seen, got)
		if got != name {
			continue
		}
		dev := "/dev/" + filepath.Base(filepath.Dir(p))
		return os.OpenFile(dev, os.O_RDWR, 0)
	}
	return nil, fmt.Errorf("no virtio-serial port named %q (ports seen: %q); is the kernel built with CONFIG_VIRTIO_CONSOLE=y?", name, seen)
}

// PowerOff syncs and powers the VM off. It does not return on success.
func PowerOff() error {
	unix.Sync()
	return unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
}

// KernelRelease returns uname -r.
func KernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// LinkKernelConfig makes the kernel configuration packed at packed
// available as /boot/config-<release>, where tools look for it when the
// kernel has no /proc/config.gz (Debian's kernels have none). Nothing
// happens when nothing was packed.
func LinkKernelConfig(packed string) error {
	if _, err := os.Stat(packed); err != nil {
		return nil
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return fmt.Errorf("uname: %w", err)
	}
	if err := os.MkdirAll("/boot", 0o755); err != nil {
		return err
	}
	link := "/boot/config-" + unix.ByteSliceToString(u.Release[:])
	if err := os.Symlink(packed, link); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("linking %s: %w", link, err)
	}
	return nil
}

// Kmsg writes line to the kernel log, which the host reads on the serial
// console even when the virtio-serial port no longer works.
func Kmsg(line string) {
	f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(line)
}
