package ktstr

import (
	"fmt"
	"os"
	"sync"

	"github.com/ktstr-go/ktstr/internal/kernel/image"
)

// schedExt says whether a kernel has sched_ext, when it is known.
type schedExt int

const (
	schedExtUnknown schedExt = iota
	schedExtYes
	schedExtNo
)

// hostKernelInfo is the kernel tests boot.
type hostKernelInfo struct {
	Version  string
	Image    string // bzImage or vmlinux
	Vmlinux  string // ELF vmlinux, "" if none
	HasPVH   bool   // Vmlinux can be booted directly through PVH
	SchedExt schedExt
}

// bootImage returns the fastest image to boot: the uncompressed vmlinux
// through PVH skips decompression and real-mode setup (about 0.75 s under
// TCG), else the bzImage.
func (k *hostKernelInfo) bootImage() string {
	if k.Vmlinux != "" && k.HasPVH {
		return k.Vmlinux
	}
	return k.Image
}

var hostKernelOnce = sync.OnceValues(resolveHostKernel)

// hostKernel resolves the kernel once per process.
func hostKernel() (*hostKernelInfo, error) { return hostKernelOnce() }

func resolveHostKernel() (*hostKernelInfo, error) {
	p := os.Getenv("KTSTR_KERNEL")
	if p == "" {
		return nil, fmt.Errorf("no kernel: set KTSTR_KERNEL")
	}
	info, err := image.Inspect(p)
	if err != nil {
		return nil, err
	}
	k := &hostKernelInfo{Version: info.Version, Image: p}
	if info.Kind == image.KindELF {
		k.Vmlinux, k.HasPVH = p, info.HasPVH
	}
	return k, nil
}
