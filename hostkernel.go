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

// hostKernel resolves the kernel once per process.
var hostKernel = sync.OnceValues(func() (*kernel.Kernel, error) {
	spec := os.Getenv(KernelEnv)
	k, err := kernel.Resolve(spec, "")
	if err != nil {
		if spec != "" {
			return nil, fmt.Errorf("%s=%q: %w", KernelEnv, spec, err)
		}
		return nil, err
	}
	return k, nil
})
