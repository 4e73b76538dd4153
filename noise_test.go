package ktstr

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/host"
	"github.com/ktstr-go/ktstr/internal/hostnoise"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/work"
)

// TestNoise measures how much host noise moves the scheduling metrics under
// TCG: it runs one steady scenario KTSTR_NOISE times (default: skipped) in
// normal and in deterministic (-icount) mode, on a quiet host and on one
// loaded with a busy loop per host CPU, and prints each metric's minimum,
// median and maximum. It judges nothing: its figures set the TCG defaults
// of package check (see README, "Trustworthy numbers").
func TestNoise(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("KTSTR_NOISE"))
	if rounds <= 0 && !guest.Active() {
		t.Skip("set KTSTR_NOISE=N to measure host noise over N runs per mode")
	}
	spec := Spec{
		Topology: Topo(1, 2, 2, 1),
		Duration: 3 * time.Second,
		// Measure only: no check may fail the run.
		Assert: check.Assert{NotStarved: check.Off(), Isolation: check.Off(),
			MaxGap: check.Disable[time.Duration](), MaxSpreadPct: check.Disable[float64]()},
	}
	// Two cgroups of two spinners (spread and gap compare equal workers)
	// and one of bursty workers (wake-up latency).
	body := groupsBody(work.Group{Type: work.Spin(), Workers: 2}, work.Group{Type: work.Spin(), Workers: 2},
		work.Group{Type: work.Bursty(10*time.Millisecond, 10*time.Millisecond), Workers: 2})
	for _, load := range []bool{false, true} {
		for _, det := range []bool{false, true} {
			name := map[bool]string{false: "quiet", true: "loaded"}[load] + "/" + map[bool]string{false: "normal", true: "deterministic"}[det]
			t.Run(name, func(t *testing.T) {
				s := spec
				s.Deterministic = det
				if load && !guest.Active() {
					stop := loadHost()
					defer stop()
				}
				var m noiseMetrics
				t0 := time.Now()
				// The first run is vmTest's; the judge boots the others.
				vmTest(t, s, body, func(t *testing.T, r *host.Outcome) {
					for i := range rounds {
						if i > 0 {
							var err error
							if r, err = host.Boot(r.Job); err != nil {
								t.Fatal(err)
							}
						}
						if fs := r.Failures(); len(fs) > 0 || r.Result == nil || r.Result.Checks == nil {
							t.Fatalf("run failed: %+v", fs)
						}
						m.add(r.Result, r.HostNoise, s.duration())
					}
					t.Logf("%s, %d runs, %.0fs each:\n%s", name, rounds, time.Since(t0).Seconds()/float64(rounds), m)
				})
			})
		}
	}
}

// loadHost keeps every host CPU busy until stopped.
func loadHost() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	for range runtime.NumCPU() {
		go func() {
			x := 0
			for ctx.Err() == nil {
				for range 1 << 20 {
					x++
				}
			}
			runtime.KeepAlive(x)
		}()
	}
	return cancel
}

type noiseMetrics struct {
	spread, gap, p99, rate, held, netSpread, netGap []float64
}

// add records one run: the figures as the guest measured them, the time
// the host held the vCPUs off, and the worst spread and gap with that time
// taken out as the checks take it out (package hostnoise): the gap less
// the held-off time within it, the spread less the largest held-off share
// of a worker's run.
func (m *noiseMetrics) add(res *wire.Result, rec *hostnoise.Record, d time.Duration) {
	s := res.Checks.Stats
	m.gap = append(m.gap, float64(s.WorstGap)/float64(time.Millisecond))
	m.p99 = append(m.p99, float64(s.WorstP99WakeLatency)/float64(time.Microsecond))
	m.rate = append(m.rate, float64(s.WorkUnits)/d.Seconds())
	m.held = append(m.held, float64(rec.Total())/float64(time.Millisecond))
	var netGap time.Duration
	share := map[string]float64{}
	for _, w := range res.Workers {
		for _, g := range w.Gaps {
			end := w.Start + g.At
			netGap = max(netGap, g.Len-min(g.Len, rec.Held(g.CPU, end-g.Len, end)))
		}
		if w.WallTime > 0 {
			share[w.Cgroup] = max(share[w.Cgroup], 100*float64(rec.Held(-1, w.Start, w.Start+w.WallTime))/float64(w.WallTime))
		}
	}
	var spread, netSpread float64
	for _, c := range s.Cgroups {
		if c.Workers >= 2 && c.WakeSamples == 0 { // the spinners
			spread = max(spread, c.SpreadPct)
			netSpread = max(netSpread, c.SpreadPct-share[c.Name])
		}
	}
	m.spread = append(m.spread, spread)
	m.netGap = append(m.netGap, float64(netGap)/float64(time.Millisecond))
	m.netSpread = append(m.netSpread, netSpread)
}

func (m noiseMetrics) String() string {
	var b strings.Builder
	row := func(name string, xs []float64) {
		s := slices.Clone(xs)
		slices.Sort(s)
		mean, sd := 0.0, 0.0
		for _, x := range s {
			mean += x
		}
		mean /= float64(len(s))
		for _, x := range s {
			sd += (x - mean) * (x - mean)
		}
		sd = math.Sqrt(sd / float64(len(s)))
		fmt.Fprintf(&b, "  %-30s min %10.1f  median %10.1f  max %10.1f  sd %9.1f\n", name, s[0], s[len(s)/2], s[len(s)-1], sd)
	}
	row("worst spread % (spin)", m.spread)
	row("  less host held-off share", m.netSpread)
	row("worst gap ms", m.gap)
	row("  less host held-off time", m.netGap)
	row("worst p99 wake us", m.p99)
	row("work units/s", m.rate)
	row("host held vCPUs off, ms", m.held)
	return b.String()
}
