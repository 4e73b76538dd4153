package work_test

import (
	"fmt"
	"time"

	"github.com/ktstr-go/ktstr/work"
)

// A work type with the reference defaults, and how many workers share one
// instance of it.
func ExampleFutexFanOut() {
	t := work.FutexFanOut(4, 1024)
	fmt.Println(t)
	fmt.Println("group size:", t.GroupSize())
	fmt.Println(t.Validate(10))
	fmt.Println(t.Validate(4))
	// Output:
	// futex-fan-out(fan-out=4, spin-iters=1024)
	// group size: 5
	// <nil>
	// futex-fan-out needs a worker count divisible by 5, got 4
}

// A work group: eight workers in pairs, at a real-time priority, each on
// the CPUs of one LLC, with memory interleaved over two NUMA nodes.
func ExampleGroup() {
	g := work.Group{
		Type:      work.PipePingPong(1024),
		Workers:   8,
		Policy:    work.FIFO(10),
		Affinity:  work.LLCAligned,
		MemPolicy: work.Interleave(0, 1),
	}
	fmt.Println(g)
	fmt.Println(g.Validate())
	// Output:
	// 8 × pipe-ping-pong(burst-iters=1024), fifo(10), llc-aligned, mem interleave(0,1)
	// <nil>
}

// Phases run in order, over and over.
func ExampleSequence() {
	t := work.Sequence(
		work.SpinFor(20*time.Millisecond),
		work.SleepFor(5*time.Millisecond),
		work.Phase{Kind: work.PhaseYield, Duration: 5 * time.Millisecond},
	)
	fmt.Println(t)
	// Output: sequence(spin 20ms, sleep 5ms, yield 5ms)
}

// Listing the work kinds, and parsing one from a command line.
func ExampleParseType() {
	fmt.Println(len(work.AllKinds()), "kinds, the first", work.AllKinds()[0])
	t, err := work.ParseType("Bursty")
	fmt.Println(t, err)
	_, err = work.ParseType("sequence")
	fmt.Println(err)
	// Output:
	// 20 kinds, the first spin
	// bursty(burst=50ms, sleep=100ms) <nil>
	// sequence has no default: build it with work.Sequence(phases...)
}
