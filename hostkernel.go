package ktstr

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/ktstr-go/ktstr/internal/env"

	"github.com/ktstr-go/ktstr/internal/kernel"
)

// KernelEnv names the environment variable that picks the kernel: a kernel
// source tree, an image file, a cache key or a version prefix. Unset, the
// newest cached kernel is used.
const KernelEnv = env.Kernel

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
	// A damaged kernel from the archive is fetched again rather than
	// booted or passed over.
	k, err := kernel.ResolveOrRepair(hostState.ctx, what, "", kernel.FetchOptions{Log: prefixed{os.Stderr, "ktstr: "}})
	if err != nil {
		if what != "" {
			return nil, fmt.Errorf("%s=%q: %w", from, what, err)
		}
		return nil, err
	}
	hostKernels.m[spec] = k
	return k, nil
}

// prefixed writes each line with a prefix.
type prefixed struct {
	w      io.Writer
	prefix string
}

func (p prefixed) Write(b []byte) (int, error) {
	_, err := io.WriteString(p.w, p.prefix+string(b))
	return len(b), err
}
