package host

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/ktstr-go/ktstr/internal/env"

	"github.com/ktstr-go/ktstr/internal/kernel"
)

// kernels caches resolved kernels by what named them.
var kernels = struct {
	sync.Mutex
	m map[string]*kernel.Kernel
}{m: map[string]*kernel.Kernel{}}

// ResolveKernel resolves the kernel named spec (a tree, an image, a cache key
// or version prefix; "" means $KTSTR_KERNEL, else the newest cached) once
// per process.
func ResolveKernel(spec string) (*kernel.Kernel, error) {
	kernels.Lock()
	defer kernels.Unlock()
	if k, ok := kernels.m[spec]; ok {
		return k, nil
	}
	what, from := spec, "--kernel"
	if what == "" {
		what, from = os.Getenv(env.Kernel), env.Kernel
	}
	// A damaged kernel is reported (a *kernel.DamagedError saying how to
	// repair it), not booted or passed over. It is not fetched again here:
	// a test binary links nothing for the network, so that it starts fast
	// as a VM's init; `ktstr test` repairs before the tests start.
	k, err := kernel.Resolve(what, "")
	if err != nil {
		if what != "" {
			return nil, fmt.Errorf("%s=%q: %w", from, what, err)
		}
		return nil, err
	}
	for _, n := range k.Notes {
		fmt.Fprintf(os.Stderr, "ktstr: %s\n", n)
	}
	kernels.m[spec] = k
	return k, nil
}

// KernelLabels lists the kernels variants run on, from $KTSTR_KERNELS;
// none means the one kernel $KTSTR_KERNEL or the cache picks.
func KernelLabels() []string {
	var out []string
	for _, k := range strings.Split(os.Getenv(env.Kernels), ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}
