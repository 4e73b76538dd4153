package ktstr

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/host"
)

// largeResultPhases is how many phases the large-result body marks: with
// their names, about 2.5 MB of result, beside 1 MB of output.
const largeResultPhases = 20000

// soakBodies are the bodies BenchmarkResultDelivery boots, by name: one
// that does nothing, and one whose result and output are megabytes.
var soakBodies = map[string]Body{
	"trivial": func(*Ctx) error { return nil },
	"large": func(ctx *Ctx) error {
		line := strings.Repeat("x", 1000)
		for range 1000 {
			fmt.Println(line)
		}
		for i := range largeResultPhases {
			ctx.Phase(fmt.Sprintf("phase %06d of a result large enough that the port's buffers fill up many times over", i))
		}
		return nil
	},
}

// TestSoakBodies runs, in the guest, the body BenchmarkResultDelivery asked
// for; on the host it does nothing.
func TestSoakBodies(t *testing.T) {
	for name, body := range soakBodies {
		t.Run(name, func(t *testing.T) {
			if !guest.Active() {
				t.Skip("booted by BenchmarkResultDelivery")
			}
			vmTest(t, Spec{NoGauntlet: true}, body, nil)
		})
	}
}

// BenchmarkResultDelivery is the soak of the result's way from the guest to
// the host: KTSTR_SOAK_RUNS (default 100) trivial and as many large-result
// VM runs, two at a time, while busy loops keep every host CPU loaded. It
// prints the results lost (the guest sent one, the host has none, or a large
// one arrived short) and the wall time. Run it with
//
//	go test -run '^$' -bench ResultDelivery -benchtime 1x .
func BenchmarkResultDelivery(b *testing.B) {
	if guest.Active() {
		return
	}
	n := 100
	if v := os.Getenv("KTSTR_SOAK_RUNS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("KTSTR_SOAK_RUNS=%q: want a positive number", v)
		}
	}
	v := firstVariant(b, Spec{})
	for range b.N {
		stop := loadHost()
		jobs := make(chan string)
		var lost, failed, done atomic.Int64
		var mu sync.Mutex
		var reasons []string
		var wg sync.WaitGroup
		t0 := time.Now()
		for range 2 {
			wg.Go(func() {
				for kind := range jobs {
					name := "TestSoakBodies/" + kind + "/" + v.topo.String()
					r, err := host.Boot(Spec{}.job(v, name, name))
					done.Add(1)
					why := ""
					switch {
					case err != nil:
						why = err.Error()
					case r.Result == nil:
						why = fmt.Sprintf("%s: %s", r.Failure.Kind, r.Failure.Message)
						lost.Add(1)
					case kind == "large" && len(r.Result.Timeline) != largeResultPhases:
						why = fmt.Sprintf("large result arrived with %d of %d phases", len(r.Result.Timeline), largeResultPhases)
						lost.Add(1)
					case len(r.Failures()) > 0:
						why = fmt.Sprintf("%s: %s", r.Failures()[0].Kind, r.Failures()[0].Message)
					}
					if why != "" {
						failed.Add(1)
						mu.Lock()
						reasons = append(reasons, kind+": "+why)
						mu.Unlock()
					}
				}
			})
		}
		for i := range 2 * n {
			jobs <- []string{"trivial", "large"}[i%2]
		}
		close(jobs)
		wg.Wait()
		stop()
		took := time.Since(t0)
		b.ReportMetric(float64(lost.Load()), "lost")
		b.ReportMetric(took.Seconds()/float64(done.Load()), "s/run")
		b.Logf("%d runs (%d trivial, %d large results, 2 at a time, host CPUs loaded): %d results lost, %d runs failed otherwise, wall %v",
			done.Load(), n, n, lost.Load(), failed.Load()-lost.Load(), took.Round(time.Second))
		for _, r := range reasons {
			b.Log(r)
		}
	}
}
