package hostnoise

import (
	"fmt"
	"slices"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/work"
)

// minNoted is the least held-off time worth naming beside a figure.
const minNoted = 20 * time.Millisecond

// Adjust takes the host's holding the VM off out of res's verdicts under
// the checks a, where it can be taken out, and names it beside the ones it
// cannot:
//
//   - A gap failure (check.Stuck) is judged again with, from each of the
//     worker's longest gaps, the time the host held that vCPU off during
//     it. When no gap is over the limit any more (and the worker's list of
//     gaps is complete enough to tell), the failure is dropped and a note
//     says so; otherwise its message says how much was the host's.
//   - A spread failure (check.Unfair): time the host held a vCPU off adds
//     to the off-CPU time of the workers waiting on it and to the CPU time
//     of the one that was current, so it can raise a worker's off-CPU
//     percentage by at most the held-off share of its run, and the spread
//     by at most the largest such share. When the spread less that is
//     within the limit, the failure cannot be told from host noise: it is
//     dropped with a note. Otherwise its message says how much it may be.
//   - A throughput or wake-latency failure: its message says how long the
//     host held the VM off while the cgroup ran.
//
// It returns the notes for the run's report. A nil record, or one that
// cannot be placed on the guest's clock, changes nothing.
func Adjust(res *wire.Result, rec *Record, a check.Assert) []string {
	if res == nil || res.Checks == nil || rec == nil || !rec.OffsetKnown {
		return nil
	}
	byPID := map[int]*work.Report{}
	for i := range res.Workers {
		byPID[res.Workers[i].PID] = &res.Workers[i]
	}
	var notes []string
	var keep []check.Failure
	for _, f := range res.Checks.Failures {
		old := f.Message
		drop, note := false, ""
		switch f.Kind {
		case check.Stuck:
			limit, ok := a.MaxGap.Get()
			if w := byPID[f.PID]; w != nil && ok {
				drop, note = judgeGaps(w, rec, limit)
			}
		case check.Unfair:
			limit, ok := a.MaxSpreadPct.Get()
			if cs := cgroupStats(res.Checks.Stats, f.Cgroup); cs != nil && ok {
				drop, note = judgeSpread(cs, res.Workers, rec, limit)
			}
		case check.Throughput, check.WakeLatency:
			if held := heldWhileRunning(res.Workers, f.Cgroup, rec); held >= minNoted {
				note = fmt.Sprintf("meanwhile the host held the VM off for %v, which counts in this figure; deterministic mode takes host time out", held.Round(time.Millisecond))
			}
		}
		switch {
		case drop:
			notes = append(notes, "cgroup "+cgroupName(f.Cgroup)+": "+note)
		case note != "":
			f.Message += " (" + note + ")"
		}
		replaceFailure(res, f.Kind, old, f.Message, drop)
		if !drop {
			keep = append(keep, f)
		}
	}
	res.Checks.Failures = keep
	res.Checks.Passed = len(keep) == 0
	res.Passed = len(res.Failures) == 0
	return notes
}

// judgeSpread bounds how much of cs's spread the host's holding the VM off
// can have made; see Adjust.
func judgeSpread(cs *check.CgroupStats, workers []work.Report, rec *Record, limit float64) (drop bool, note string) {
	var share float64 // largest held-off share of a worker's run, %
	for _, w := range workers {
		if w.Cgroup != cs.Name || w.Start == 0 || w.WallTime <= 0 {
			continue
		}
		share = max(share, 100*float64(rec.Held(-1, w.Start, w.Start+w.WallTime))/float64(w.WallTime))
	}
	if share < 0.5 {
		return false, ""
	}
	if cs.SpreadPct-share <= limit {
		return true, fmt.Sprintf("spread %.1f%% is over the limit %.0f%%, but the host held the VM off for up to %.1f%% of a worker's run (QEMU's vCPU threads waiting for a host CPU), which alone can widen the spread that much; it cannot be told from host noise, so it is not a failure",
			cs.SpreadPct, limit, share)
	}
	return false, fmt.Sprintf("the host held the VM off for up to %.1f%% of a worker's run, which may account for that much of it", share)
}

func cgroupStats(st check.Stats, name string) *check.CgroupStats {
	for i := range st.Cgroups {
		if st.Cgroups[i].Name == name {
			return &st.Cgroups[i]
		}
	}
	return nil
}

// judgeGaps takes the held-off time out of each of w's longest gaps. drop
// tells that none is over limit any more; note says what was found.
func judgeGaps(w *work.Report, rec *Record, limit time.Duration) (drop bool, note string) {
	gaps := w.Gaps
	if len(gaps) == 0 {
		gaps = []work.Gap{{Len: w.MaxGap, At: w.MaxGapAt, CPU: w.MaxGapCPU}}
	}
	held := func(g work.Gap) time.Duration {
		end := w.Start + g.At
		return min(g.Len, rec.Held(g.CPU, end-g.Len, end))
	}
	var worstNet time.Duration
	for _, g := range gaps {
		worstNet = max(worstNet, g.Len-held(g))
	}
	longest := gaps[0]
	heldLongest := held(longest)
	// A gap left off the list is no longer than the shortest listed; if
	// that one was over the limit, an unlisted one might be too.
	complete := len(w.Gaps) < work.MaxGaps || w.Gaps[len(w.Gaps)-1].Len <= limit
	if worstNet <= limit && complete {
		return true, fmt.Sprintf("worker %d's longest gap, %v on cpu%d at +%.1f s, was %v the host holding the VM off (QEMU's vCPU thread waiting for a host CPU); without that no gap is over the limit %v (the longest is then %v), so it is not a failure",
			w.PID, longest.Len.Round(time.Millisecond), longest.CPU, longest.At.Seconds(), heldLongest.Round(time.Millisecond), limit, worstNet.Round(time.Millisecond))
	}
	if heldLongest < minNoted {
		return false, ""
	}
	return false, fmt.Sprintf("the host held the VM off for %v of it, %v without", heldLongest.Round(time.Millisecond), (longest.Len - heldLongest).Round(time.Millisecond))
}

// heldWhileRunning is the held-off time while cgroup's workers ran.
func heldWhileRunning(workers []work.Report, cgroup string, rec *Record) time.Duration {
	var from, to time.Duration = -1, -1
	for _, w := range workers {
		if w.Cgroup != cgroup || w.Start == 0 {
			continue
		}
		if from < 0 || w.Start < from {
			from = w.Start
		}
		to = max(to, w.Start+w.WallTime)
	}
	if from < 0 {
		return 0
	}
	return rec.Held(-1, from, to)
}

// replaceFailure rewrites (or, with drop, removes) the run failure that
// mirrors a check failure: same kind, same message.
func replaceFailure(res *wire.Result, kind check.Kind, old, msg string, drop bool) {
	i := slices.IndexFunc(res.Failures, func(f wire.Failure) bool { return f.Kind == kind && f.Message == old })
	if i < 0 {
		return
	}
	if drop {
		res.Failures = slices.Delete(res.Failures, i, i+1)
		return
	}
	res.Failures[i].Message = msg
}

func cgroupName(name string) string {
	if name == "" {
		return "(parent)"
	}
	return name
}
