package host

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/logtail"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/sidecar"
)

// Logger is where [Report] writes: a *testing.T, or what a program that is
// not a test binary prints with ([WriterLogger]).
type Logger interface {
	Helper()
	Log(args ...any)
	Logf(format string, args ...any)
	Error(args ...any)
}

// WriterLogger is a [Logger] that prints lines to W and remembers whether
// an error was reported.
type WriterLogger struct {
	W      io.Writer
	Failed bool
}

// Helper does nothing: there are no test frames to skip.
func (*WriterLogger) Helper() {}

// Log prints args as fmt.Sprintln does.
func (l *WriterLogger) Log(args ...any) { fmt.Fprintln(l.W, args...) }

// Logf prints a formatted line.
func (l *WriterLogger) Logf(format string, args ...any) {
	fmt.Fprintf(l.W, format+"\n", args...)
}

// Error prints args and marks the run failed.
func (l *WriterLogger) Error(args ...any) {
	l.Failed = true
	l.Log(args...)
}

// Report fails t with the run's failures and logs what helps: a summary
// line, and on failure (or with -v) the guest's output, the kernel console,
// the stats and the timeline.
func Report(t Logger, r *Outcome) {
	t.Helper()
	j := r.Job
	kver := r.Kernel.Version
	if kver == "" {
		kver = r.Kernel.BootImage()
	}
	summary := fmt.Sprintf("ktstr: %s, scheduler %s, kernel %s, %s (%s), boot %v, total %v",
		j.Topology, j.Scheduler.Name, kver, r.Accel, r.AccelWhy, r.BootTime.Round(time.Millisecond), r.Wall.Round(time.Millisecond))
	if r.Retried {
		summary += ", boot retried once (the first never reached init)"
	}
	if hn := r.noiseSummary(); hn != nil && hn.HeldMS >= 20 {
		summary += fmt.Sprintf(", the host held the vCPUs off %.0f ms in all (%d stretches of %v or more, longest %.0f ms)", hn.HeldMS, hn.Stalls, hostNoiseStall, hn.LongestMS)
	}
	if r.PowerOffKilled {
		summary += ", the guest did not power off after delivering its result (QEMU stopped; the result stands)"
	}
	if r.Result != nil {
		if s := r.Result.Scheduler; s != nil {
			summary += fmt.Sprintf(", %s attached after %v, ended %s", s.Name, s.AttachAfter.Round(time.Millisecond), s.Exit) + bpfSummary(s)
			if s.Watchdog != "" {
				summary += ", stall watchdog " + s.Watchdog
			}
			if s.Retried != "" {
				summary += ", started twice (the first start failed: " + s.Retried + ")"
			}
		}
		if len(r.Result.Leftovers) > 0 && verbose() {
			t.Logf("ktstr: removed what the body left: %s", strings.Join(r.Result.Leftovers, ", "))
		}
	}
	t.Log(summary)
	for _, n := range r.NoiseNotes {
		t.Log("ktstr: host noise taken out: " + n)
	}
	failures := r.Failures()
	failed := len(failures) > 0
	if (failed || verbose()) && len(r.Output) > 0 {
		t.Logf("--- guest output ---\n%s", strings.TrimRight(string(r.Output), "\n"))
	}
	switch {
	case len(r.Console) == 0:
	case verbose():
		t.Logf("--- kernel console ---\n%s", strings.TrimRight(string(r.Console), "\n"))
	case failed && !consoleInDetail(failures[0].Kind):
		t.Logf("--- kernel console (last 40 lines) ---\n%s", logtail.LastLines(r.Console, 40))
	}
	if res := r.Result; res != nil && (failed || verbose()) {
		if res.Checks != nil {
			t.Logf("--- stats ---\n%s", strings.TrimRight(res.Checks.Stats.Format(), "\n"))
		}
		if len(res.Timeline) > 0 {
			t.Logf("--- timeline ---\n%s", formatTimeline(res.Timeline))
		}
	}
	if sec := r.MonitorReport(); sec != "" && (failed || verbose()) {
		t.Logf("--- monitor ---\n%s", strings.TrimRight(sec, "\n"))
	}
	if res := r.Result; res != nil && res.SchedulerMaps != nil && (failed || verbose()) {
		t.Logf("--- scheduler maps (read %s) ---\n%s", res.SchedulerMaps.When, strings.TrimRight(res.SchedulerMaps.Text, "\n"))
	}
	if r.MonitorOff != "" {
		t.Log("ktstr: " + r.MonitorOff)
	}
	if verbose() {
		t.Logf("--- checks in force ---\n%s", strings.TrimRight(mergedAssert(j, r.Accel, r.Deterministic).Format(), "\n"))
	}
	fail := t.Error
	if j.Expect != nil {
		// The failures are what the test is about: shown, judged below.
		fail = t.Log
	}
	for _, f := range failures {
		msg := fmt.Sprintf("ktstr: %s: %s", f.Kind, f.Message)
		if f.Detail != "" {
			msg += "\n" + strings.TrimRight(f.Detail, "\n")
		}
		fail(msg)
	}
	if j.Expect != nil {
		if met, why := j.Expect.Met(failures); met {
			t.Logf("ktstr: failed as expected: %s: %s", failures[0].Kind, failures[0].Message)
		} else {
			t.Error("ktstr: not the expected failure: " + why)
		}
	}
	if failed && failures[0].Kind == check.KernelPanic {
		t.Log("ktstr: the guest kernel panicked: a kernel crash, which may or may not be the scheduler's doing")
	}
}

// consoleInDetail tells the failure kinds whose detail already quotes the
// kernel console.
func consoleInDetail(kind check.Kind) bool {
	switch kind {
	case check.KernelPanic, check.Boot, check.Timeout, check.NoResult:
		return true
	}
	return false
}

// formatTimeline renders the body's phases, one per line.
func formatTimeline(ps []wire.Phase) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%8.2fs  %-30s %6.2fs\n", p.At.Seconds(), p.Name, (p.End - p.At).Seconds())
	}
	return strings.TrimRight(b.String(), "\n")
}

// hostNoiseStall is the shortest held-off stretch the report counts.
const hostNoiseStall = 50 * time.Millisecond

// noiseSummary sums up the held-off time for the report and the result
// file; nil in deterministic mode, where there is none.
func (o *Outcome) noiseSummary() *sidecar.HostNoise {
	if o.HostNoise == nil || o.Deterministic {
		return nil
	}
	hn := &sidecar.HostNoise{HeldMS: ms(o.HostNoise.Total()), Notes: o.NoiseNotes}
	for _, s := range o.HostNoise.Stalls(hostNoiseStall) {
		hn.Stalls++
		hn.LongestMS = max(hn.LongestMS, ms(s.Held))
	}
	return hn
}
