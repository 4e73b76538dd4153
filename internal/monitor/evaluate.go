package monitor

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ktstr-go/ktstr/check"
	"github.com/ktstr-go/ktstr/internal/cpuset"
)

// stallTicks is how far the guest's own time must go on between two
// samples for a runqueue clock that did not move to count as stopped: ten
// ticks, in which every CPU with work takes several timer interrupts.
const stallTicks = 10

// Finding is a monitor limit the run exceeded.
type Finding struct {
	Kind    check.Kind
	Message string
	// At is when the limit was first exceeded, from the body's start.
	At time.Duration
}

// Summary condenses a run's samples, over the judged window (the body,
// after the warm-up).
type Summary struct {
	// Samples counts all samples; Judged those in the window in which
	// the guest's time went on.
	Samples, Judged int
	// MaxImbalance is the largest ratio of a CPU's load to the least
	// loaded CPU its tasks may run on (see load).
	MaxImbalance float64
	// MaxLocalDSQ is the deepest sched_ext local DSQ; -1 without
	// sched_ext. MaxGlobalDSQ and MaxUserDSQ likewise (summed over
	// queues), -1 when unknown.
	MaxLocalDSQ, MaxGlobalDSQ, MaxUserDSQ int64
	// IdleWhileWaiting is the longest time, in guest time, a CPU stayed
	// idle while tasks allowed on it waited elsewhere.
	IdleWhileWaiting time.Duration
	// LongestClockStop is the longest time a CPU's runqueue clock stood
	// still while it had runnable tasks.
	LongestClockStop time.Duration
	// EventDeltas counts each sched_ext event over the window; EventRates
	// gives the highest rate per second between two samples. Nil without
	// sched_ext.
	EventDeltas map[string]int64
	EventRates  map[string]float64
}

// Evaluate judges a record under limits a (merged check configuration) and
// returns what exceeded them, most telling first (see telling), and the
// summary.
func Evaluate(rec *Record, a check.Assert) ([]Finding, Summary) {
	j := newJudge(a, rec.HZ, rec.Events)
	j.window(rec.BodyStart, rec.BodyEnd)
	for _, s := range rec.Samples {
		j.add(s)
	}
	return j.result(len(rec.Samples))
}

// limits are the monitor's settings from a check.Assert.
type limits struct {
	imbalance          float64
	dsq                int
	stall              bool
	fallback, keepLast float64
	idle               time.Duration
	sustained          int
	warmup             time.Duration
	imbOn, dsqOn       bool
	fbOn, klOn, idleOn bool
}

func limitsOf(a check.Assert) limits {
	var l limits
	l.imbalance, l.imbOn = a.MaxImbalanceRatio.Get()
	l.dsq, l.dsqOn = a.MaxLocalDSQDepth.Get()
	l.stall, _ = a.FailOnStall.Get()
	l.fallback, l.fbOn = a.MaxFallbackRate.Get()
	l.keepLast, l.klOn = a.MaxKeepLastRate.Get()
	l.idle, l.idleOn = a.MaxIdleWhileWaiting.Get()
	l.sustained, _ = a.SustainedSamples.Get()
	l.sustained = max(l.sustained, 1)
	l.warmup, _ = a.MonitorWarmup.Get()
	return l
}

// streak counts samples in a row over a limit.
type streak struct {
	n    int
	from time.Duration
}

func (s *streak) step(over bool, at time.Duration) int {
	if !over {
		s.n = 0
		return 0
	}
	if s.n == 0 {
		s.from = at
	}
	s.n++
	return s.n
}

// judge applies the limits to samples one at a time, so that the monitor
// can flag a failure while the run goes on and Evaluate can replay a run.
type judge struct {
	lim          limits
	hz           int
	fb, kl       int // indexes of the rate-limited events, -1 if absent
	start, end   time.Duration
	prev         *Sample
	imb, dsq     streak
	fbS, klS     streak
	stall        []streak
	stallJiffies []uint64        // guest time at each CPU's clock stop
	idleFrom     []uint64        // jiffies each CPU's idle-while-waiting began, 0 if not
	idleFromAt   []time.Duration // and when, on the monitor's clock
	idleMissed   []int           // samples in a row since, in which it was not
	held         HeldFunc        // the host's holding the vCPUs off, or nil
	findings     []*Finding
	byKind       map[check.Kind]*Finding
	wc           wcFinding
	firstEvents  []int64
	lastEvents   []int64
	events       []string
	sum          Summary
}

// wcFinding accumulates the work-conservation failure's figures.
type wcFinding struct {
	idle, waitedOn []int
	longest        time.Duration
	held           time.Duration // the host's share taken out of the longest stretches
	tasks          int
}

func newJudge(a check.Assert, hz int, events []string) *judge {
	return &judge{
		lim: limitsOf(a), hz: max(hz, 1), start: -1, end: -1, events: events,
		fb: slices.Index(events, "SELECT_CPU_FALLBACK"), kl: slices.Index(events, "DISPATCH_KEEP_LAST"),
		byKind: map[check.Kind]*Finding{},
		sum:    Summary{MaxLocalDSQ: -1, MaxGlobalDSQ: -1, MaxUserDSQ: -1},
	}
}

// window sets the judged span: from the body's start plus the warm-up to
// its end (negative: not yet).
func (j *judge) window(start, end time.Duration) { j.start, j.end = start, end }

func (j *judge) inWindow(at time.Duration) bool {
	return j.start >= 0 && at >= j.start+j.lim.warmup && (j.end < 0 || at <= j.end)
}

func (j *judge) guestTime(jiffies uint64) time.Duration {
	return time.Duration(jiffies) * time.Second / time.Duration(j.hz)
}

// add judges sample s and returns a failure found for the first time.
func (j *judge) add(s Sample) *Finding {
	if !j.inWindow(s.At) {
		j.prev = nil
		return nil
	}
	prev := j.prev
	if prev == nil || s.Jiffies < prev.Jiffies || len(s.CPUs) != len(prev.CPUs) {
		j.prev = &s
		j.reset(len(s.CPUs))
		return nil
	}
	dj := s.Jiffies - prev.Jiffies
	if dj == 0 {
		// The guest did not run between the two samples (the host held
		// it off): nothing to judge, and no streak broken.
		return nil
	}
	j.prev = &s
	j.sum.Judged++
	before := len(j.findings)
	at := s.At - j.start
	j.judgeImbalance(s, at)
	j.judgeDSQ(s, at)
	j.judgeStall(*prev, s, dj, at)
	j.judgeEvents(*prev, s, dj, at)
	j.judgeWork(s, at)
	if len(j.findings) > before {
		return j.findings[before]
	}
	return nil
}

func (j *judge) reset(cpus int) {
	j.imb, j.dsq, j.fbS, j.klS = streak{}, streak{}, streak{}, streak{}
	j.stall = make([]streak, cpus)
	j.stallJiffies = make([]uint64, cpus)
	j.idleFrom = make([]uint64, cpus)
	j.idleFromAt = make([]time.Duration, cpus)
	j.idleMissed = make([]int, cpus)
}

// fail records a finding of kind k, or updates its message when worse is
// set (the same failure, grown).
func (j *judge) fail(k check.Kind, at time.Duration, msg string, worse bool) {
	if f := j.byKind[k]; f != nil {
		if worse {
			f.Message = msg
		}
		return
	}
	f := &Finding{Kind: k, Message: msg, At: at}
	j.byKind[k] = f
	j.findings = append(j.findings, f)
}

// load is the work committed to a CPU. Under EEVDF that is its runqueue's
// runnable tasks. Under sched_ext a task counted on a CPU's runqueue may
// sit in a global or user DSQ that any CPU consumes, so only the running
// task and the local DSQ, which no other CPU takes from, count.
func load(s Sample, c CPU) uint32 {
	if s.SCX == nil {
		return c.NrRunning
	}
	if c.Idle {
		return c.LocalDSQ
	}
	return 1 + c.LocalDSQ
}

func (j *judge) judgeImbalance(s Sample, at time.Duration) {
	worst, busy, light := 1.0, -1, -1
	for i, c := range s.CPUs {
		if load(s, c) < 2 {
			continue
		}
		least := -1
		for k, o := range s.CPUs {
			if k == i || !mayShare(c, k) {
				continue
			}
			if least < 0 || load(s, o) < load(s, s.CPUs[least]) {
				least = k
			}
		}
		if least < 0 {
			continue
		}
		if r := float64(load(s, c)) / float64(max(load(s, s.CPUs[least]), 1)); r > worst {
			worst, busy, light = r, i, least
		}
	}
	if busy >= 0 {
		j.sum.MaxImbalance = max(j.sum.MaxImbalance, worst)
	}
	if !j.lim.imbOn {
		return
	}
	if n := j.imb.step(worst > j.lim.imbalance, at); n >= j.lim.sustained {
		what := "runnable tasks"
		if s.SCX != nil {
			what = "tasks running or in its local DSQ"
		}
		j.fail(check.Imbalance, j.imb.from, fmt.Sprintf(
			"runqueues out of balance: CPU %d had %d %s while CPU %d, where they may run, had %d (ratio %.1f, limit %s) for %d samples in a row from +%s",
			busy, load(s, s.CPUs[busy]), what, light, load(s, s.CPUs[light]), worst, num(j.lim.imbalance), n, secs(j.imb.from)), n == j.lim.sustained)
	}
}

// mayShare reports whether some task waiting on c may run on CPU k; with
// no task list (a kernel whose BTF lacks it), any CPU may.
func mayShare(c CPU, k int) bool {
	if len(c.Waiting) == 0 {
		return true
	}
	for _, w := range c.Waiting {
		if w.allows(k) {
			return true
		}
	}
	return false
}

func (j *judge) judgeDSQ(s Sample, at time.Duration) {
	if s.SCX == nil {
		return
	}
	deepest, cpu := int64(-1), -1
	for i, c := range s.CPUs {
		if int64(c.LocalDSQ) > deepest {
			deepest, cpu = int64(c.LocalDSQ), i
		}
	}
	j.sum.MaxLocalDSQ = max(j.sum.MaxLocalDSQ, deepest)
	j.sum.MaxGlobalDSQ = max(j.sum.MaxGlobalDSQ, s.SCX.GlobalDSQ)
	j.sum.MaxUserDSQ = max(j.sum.MaxUserDSQ, s.SCX.UserDSQ)
	if !j.lim.dsqOn {
		return
	}
	if n := j.dsq.step(deepest > int64(j.lim.dsq), at); n >= j.lim.sustained {
		j.fail(check.DSQDepth, j.dsq.from, fmt.Sprintf(
			"sched_ext local DSQ of CPU %d held %d tasks (limit %d) for %d samples in a row from +%s",
			cpu, deepest, j.lim.dsq, n, secs(j.dsq.from)), false)
	}
}

func (j *judge) judgeStall(prev, s Sample, dj uint64, at time.Duration) {
	if dj < stallTicks {
		return
	}
	for i, c := range s.CPUs {
		p := prev.CPUs[i]
		stopped := c.Clock != 0 && c.Clock == p.Clock && (c.NrRunning > 0 || p.NrRunning > 0)
		if stopped && j.stall[i].n == 0 {
			j.stallJiffies[i] = prev.Jiffies
		}
		n := j.stall[i].step(stopped, at)
		if !stopped {
			continue
		}
		d := j.guestTime(s.Jiffies - j.stallJiffies[i])
		j.sum.LongestClockStop = max(j.sum.LongestClockStop, d)
		if j.lim.stall && n >= j.lim.sustained {
			j.fail(check.RqStall, j.stall[i].from, fmt.Sprintf(
				"CPU %d's runqueue clock stopped for %s of guest time while it had %d runnable tasks (from +%s)",
				i, secs(d), c.NrRunning, secs(j.stall[i].from)), true)
		}
	}
}

func (j *judge) judgeEvents(prev, s Sample, dj uint64, at time.Duration) {
	if s.SCX == nil || len(j.events) == 0 {
		return
	}
	cur, old := eventSums(s, len(j.events)), eventSums(prev, len(j.events))
	if cur == nil || old == nil {
		return
	}
	if j.firstEvents == nil {
		j.firstEvents = old
		j.sum.EventRates = map[string]float64{}
	}
	j.lastEvents = cur
	dt := j.guestTime(dj).Seconds()
	for i, e := range j.events {
		if r := float64(max(cur[i]-old[i], 0)) / dt; r > j.sum.EventRates[e] {
			j.sum.EventRates[e] = r
		}
	}
	rate := func(i int) float64 { return float64(max(cur[i]-old[i], 0)) / dt }
	if j.fb >= 0 && j.lim.fbOn {
		r := rate(j.fb)
		if n := j.fbS.step(r > j.lim.fallback, at); n >= j.lim.sustained {
			j.fail(check.EventRate, j.fbS.from, fmt.Sprintf("sched_ext select_cpu_fallback events at %.0f/s (limit %s/s) for %d samples in a row from +%s",
				r, num(j.lim.fallback), n, secs(j.fbS.from)), false)
		}
	}
	if j.kl >= 0 && j.lim.klOn {
		r := rate(j.kl)
		if n := j.klS.step(r > j.lim.keepLast, at); n >= j.lim.sustained {
			j.fail(check.EventRate, j.klS.from, fmt.Sprintf("sched_ext dispatch_keep_last events at %.0f/s (limit %s/s) for %d samples in a row from +%s",
				r, num(j.lim.keepLast), n, secs(j.klS.from)), false)
		}
	}
}

// eventSums adds up the CPUs' event counters; nil when a CPU has none.
func eventSums(s Sample, n int) []int64 {
	out := make([]int64, n)
	for _, c := range s.CPUs {
		if len(c.Events) != n {
			return nil
		}
		for i, v := range c.Events {
			out[i] += v
		}
	}
	return out
}

// idleGrace is how many samples in a row a CPU may be busy (or no task
// wait for it) inside a stretch of idling beside waiting tasks.
const idleGrace = 1

// judgeWork is the work-conservation check: an idle CPU while tasks that
// may run on it wait on a queue, for longer than the limit in guest time.
func (j *judge) judgeWork(s Sample, at time.Duration) {
	var idle, waitedOn []int
	tasks := map[int32]bool{}
	longest := time.Duration(0)
	for i, c := range s.CPUs {
		waiting := false
		if c.Idle {
			for k, o := range s.CPUs {
				for _, w := range o.Waiting {
					if w.allows(i) {
						waiting = true
						tasks[w.PID] = true
						waitedOn = append(waitedOn, k)
					}
				}
			}
		}
		if !waiting {
			// A CPU that runs something for a moment (a kworker, the
			// test's own poll) while the tasks still wait has not
			// ended the stretch; two samples in a row have.
			if j.idleMissed[i]++; j.idleMissed[i] > idleGrace {
				j.idleFrom[i] = 0
			}
			continue
		}
		j.idleMissed[i] = 0
		if j.idleFrom[i] == 0 {
			j.idleFrom[i], j.idleFromAt[i] = s.Jiffies, s.At
			continue
		}
		d := j.guestTime(s.Jiffies - j.idleFrom[i])
		if j.held != nil {
			h := j.held(i, j.idleFromAt[i], s.At)
			d = max(d-h, 0)
			if d > j.lim.idle {
				j.wc.held = max(j.wc.held, h)
			}
		}
		j.sum.IdleWhileWaiting = max(j.sum.IdleWhileWaiting, d)
		if j.lim.idleOn && d > j.lim.idle {
			idle = append(idle, i)
			longest = max(longest, d)
		}
	}
	if len(idle) == 0 {
		return
	}
	wc := &j.wc
	wc.idle = union(wc.idle, idle)
	wc.waitedOn = union(wc.waitedOn, waitedOn)
	wc.longest = max(wc.longest, longest)
	wc.tasks = max(wc.tasks, len(tasks))
	cpus := "CPU " + cpuset.Format(wc.idle)
	if len(wc.idle) > 1 {
		cpus = "CPUs " + cpuset.Format(wc.idle)
	}
	on := "CPU " + cpuset.Format(wc.waitedOn)
	if len(wc.waitedOn) > 1 {
		on = "CPUs " + cpuset.Format(wc.waitedOn)
	}
	waiters := fmt.Sprintf("%d runnable tasks", wc.tasks)
	if wc.tasks == 1 {
		waiters = "1 runnable task"
	}
	heldNote := ""
	if wc.held >= 20*time.Millisecond {
		heldNote = fmt.Sprintf(" (%s more while the host held the VM or its timers off, not counted)", secs(wc.held))
	}
	j.fail(check.WorkConservation, at-longest, fmt.Sprintf(
		"work not conserved: %s idle for %s%s while %s allowed there waited on %s",
		cpus, secs(wc.longest), heldNote, waiters, on), true)
}

func union(a, b []int) []int {
	out := append(slices.Clone(a), b...)
	sort.Ints(out)
	return slices.Compact(out)
}

func (j *judge) result(samples int) ([]Finding, Summary) {
	j.sum.Samples = samples
	if j.sum.Judged > 0 {
		// No CPU held two tasks or more: balanced, ratio 1.
		j.sum.MaxImbalance = max(j.sum.MaxImbalance, 1)
	}
	if j.firstEvents != nil && j.lastEvents != nil {
		j.sum.EventDeltas = map[string]int64{}
		for i, e := range j.events {
			j.sum.EventDeltas[e] = max(j.lastEvents[i]-j.firstEvents[i], 0)
		}
	}
	out := make([]Finding, len(j.findings))
	for i, f := range j.findings {
		out[i] = *f
	}
	sort.SliceStable(out, func(a, b int) bool {
		pa, pb := slices.Index(telling, out[a].Kind), slices.Index(telling, out[b].Kind)
		if pa != pb {
			return pa < pb
		}
		return out[a].At < out[b].At
	})
	return out, j.sum
}

// telling orders the monitor's kinds, most telling first: a stopped clock
// or idle CPUs beside waiting tasks say what went wrong; a deep queue or
// an event burst says where; an imbalance comes with most of them. The
// order does not depend on which limit the samples crossed first (an
// imbalance needs 5 samples, idling 1 s), so the first failure of a run
// is the same every time.
var telling = []check.Kind{check.RqStall, check.WorkConservation, check.DSQDepth, check.EventRate, check.Imbalance}

// secs formats a duration in seconds with one decimal.
func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// num formats a limit without trailing zeros.
func num(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}
