package work

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Func is a custom work function. It runs in the worker process, on the
// worker's measured thread, until stop becomes true, and records what it
// did in r: at least WorkUnits, and whatever else it measures.
//
// The harness fills in CPUTime, WallTime, OffCPU, RunDelay, Timeslices and
// NUMAPages itself, and adds the CPUs the thread was on when the function
// started and returned to r.CPUs; Checkpoints, Migrations and the MaxGap
// fields are the function's own (the harness does not see inside it).
type Func func(stop *atomic.Bool, r *Report)

var registry struct {
	sync.Mutex
	m map[string]Func
}

// Register makes fn available as the custom work type name ([Custom]).
//
// A worker is a re-executed copy of the test binary, so the function must
// be registered in both: call Register from an init function (or a package
// variable's initialiser) of the test binary, never from a test body.
// Register panics if name is empty or taken or fn is nil.
func Register(name string, fn func(stop *atomic.Bool, r *Report)) {
	if name == "" {
		panic("work.Register: empty name")
	}
	if fn == nil {
		panic("work.Register: nil function for " + name)
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[name]; dup {
		panic("work.Register: " + name + " registered twice")
	}
	if registry.m == nil {
		registry.m = make(map[string]Func)
	}
	registry.m[name] = fn
}

// Lookup returns the custom work function registered under name, or an
// error naming the registered ones.
func Lookup(name string) (Func, error) {
	registry.Lock()
	fn, ok := registry.m[name]
	registry.Unlock()
	if ok {
		return fn, nil
	}
	have := "none"
	if r := Registered(); len(r) > 0 {
		have = strings.Join(r, ", ")
	}
	return nil, fmt.Errorf("custom work %q is not registered (registered: %s); call work.Register from an init function of the test binary", name, have)
}

// Registered returns the names of the registered custom work functions,
// sorted.
func Registered() []string {
	registry.Lock()
	defer registry.Unlock()
	names := make([]string, 0, len(registry.m))
	for n := range registry.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
