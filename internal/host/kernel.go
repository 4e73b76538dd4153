package host

import (
	"fmt"
	"io"
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
	// A damaged kernel from the archive is fetched again rather than
	// booted or passed over.
	k, err := kernel.ResolveOrRepair(state.ctx, what, "", kernel.FetchOptions{Log: prefixed{os.Stderr, "ktstr: "}})
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

// prefixed writes each line with a prefix.
type prefixed struct {
	w      io.Writer
	prefix string
}

func (p prefixed) Write(b []byte) (int, error) {
	_, err := io.WriteString(p.w, p.prefix+string(b))
	return len(b), err
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
