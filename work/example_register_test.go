package work_test

import (
	"fmt"
	"sync/atomic"

	"github.com/ktstr-go/ktstr/work"
)

// A custom work function is registered in an init function of the test
// binary: workers are re-executed copies of it, and they must find the
// function under its name too. A test body would register it too late.
func init() {
	work.Register("example-hash", func(stop *atomic.Bool, r *work.Report) {
		h := uint64(14695981039346656037)
		for !stop.Load() {
			for i := range 4096 {
				h = (h ^ uint64(i)) * 1099511628211
			}
			r.WorkUnits++ // one unit: 4096 rounds of FNV-1a
		}
		if h == 0 {
			r.Exit = "hash collapsed"
		}
	})
}

// A group of workers running a registered custom function.
func ExampleCustom() {
	g := work.Group{Type: work.Custom("example-hash"), Workers: 4}
	fmt.Println(g, g.Validate())
	fmt.Println(work.Custom("example-missing").Validate(1) != nil)
	// Output:
	// 4 × custom(example-hash) <nil>
	// true
}
