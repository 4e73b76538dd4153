package ktstr

import (
	"fmt"
	"os"
	"sync"

	"github.com/ktstr-go/ktstr/internal/kernel"
)

// KernelEnv names the environment variable that picks the kernel: a kernel
// source tree, an image file, a cache key or a version prefix. Unset, the
// newest cached kernel is used.
const KernelEnv = "KTSTR_KERNEL"

// hostKernels caches resolved kernels by what named them.
var hostKernels = struct {
	sync.Mutex
	m map[string]*kernel.Kernel
}{m: map[string]*kernel.Kernel{}}

// hostKernel resolves the kernel named spec (a tree, an image, a cache key
// or version prefix; "" means $KTSTR_KERNEL, else the newest cached) once
// per process.
func hostKernel(spec string) (*kernel.Kernel, error) {
	hostKernels.Lock()
	defer hostKernels.Unlock()
	if k, ok := hostKernels.m[spec]; ok {
		return k, nil
	}
	what, from := spec, "--kernel"
	if what == "" {
		what, from = os.Getenv(KernelEnv), KernelEnv
	}
	k, err := kernel.Resolve(what, "")
	if err != nil {
		if what != "" {
			return nil, fmt.Errorf("%s=%q: %w", from, what, err)
		}
		return nil, err
	}
	hostKernels.m[spec] = k
	return k, nil
}
