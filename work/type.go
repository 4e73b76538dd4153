package work

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Type is a work type with its parameters: what every worker of a group
// does in its loop. It is plain data (it serialises to JSON), because a
// worker is a separate process that receives its Type from the harness.
//
// Build a Type with the constructor of its kind ([Spin], [Bursty],
// [PipePingPong], ...), which fills in the parameters the kind uses; the
// other fields stay zero. The zero Type is [Spin].
type Type struct {
	// Kind is the work type.
	Kind Kind `json:"kind"`

	// Burst is how long a bursty worker spins per cycle.
	Burst time.Duration `json:"burst,omitempty"`
	// Sleep is how long a bursty worker sleeps per cycle, or how long a
	// fan-out-compute worker sleeps after each wake-up before computing.
	Sleep time.Duration `json:"sleep,omitempty"`
	// BurstIters is the spin (pipe-ping-pong) or strided-access
	// (cache-pipe) iterations between two pipe exchanges.
	BurstIters int `json:"burst_iters,omitempty"`
	// SpinIters is the spin iterations per cycle of futex-ping-pong,
	// futex-fan-out, affinity-churn, policy-churn and page-fault-churn.
	SpinIters int `json:"spin_iters,omitempty"`
	// SizeKB is the buffer size of the cache-* kinds, the matrix
	// footprint of fan-out-compute and the region size of page-fault-churn,
	// in KiB.
	SizeKB int `json:"size_kb,omitempty"`
	// Stride is the distance in bytes between two accesses of the cache-*
	// kinds.
	Stride int `json:"stride,omitempty"`
	// FanOut is the number of receivers woken by one messenger
	// (futex-fan-out, fan-out-compute).
	FanOut int `json:"fan_out,omitempty"`
	// Operations is the matrix multiplications a fan-out-compute worker
	// does per wake-up.
	Operations int `json:"operations,omitempty"`
	// Touches is the pages a page-fault-churn worker faults in per cycle.
	Touches int `json:"touches,omitempty"`
	// Contenders is the number of workers sharing one lock
	// (mutex-contention).
	Contenders int `json:"contenders,omitempty"`
	// HoldIters is the spin iterations a mutex-contention worker does
	// while holding the lock, WorkIters those it does outside it.
	HoldIters int `json:"hold_iters,omitempty"`
	WorkIters int `json:"work_iters,omitempty"`
	// Phases is what a sequence worker does, in order, over and over.
	Phases []Phase `json:"phases,omitempty"`
	// Name is the registered name of a custom work function.
	Name string `json:"name,omitempty"`
}

// PhaseKind names what a phase of a [Sequence] does.
type PhaseKind string

// The phase kinds of a [Sequence].
const (
	PhaseSpin  PhaseKind = "spin"  // spin the CPU
	PhaseSleep PhaseKind = "sleep" // one sleep of the phase's duration
	PhaseYield PhaseKind = "yield" // sched_yield over and over
	PhaseIO    PhaseKind = "io"    // io-sync cycles (64 KiB write, 100 µs sleep)
)

// Phase is one step of a [Sequence]: what to do, and for how long.
type Phase struct {
	// Kind is what the phase does.
	Kind PhaseKind `json:"kind"`
	// Duration is how long it does it.
	Duration time.Duration `json:"duration"`
}

// SpinFor is a phase that spins for d.
func SpinFor(d time.Duration) Phase { return Phase{Kind: PhaseSpin, Duration: d} }

// SleepFor is a phase that sleeps for d.
func SleepFor(d time.Duration) Phase { return Phase{Kind: PhaseSleep, Duration: d} }

// YieldFor is a phase that calls sched_yield over and over for d.
func YieldFor(d time.Duration) Phase { return Phase{Kind: PhaseYield, Duration: d} }

// IOFor is a phase that does io-sync cycles for d.
func IOFor(d time.Duration) Phase { return Phase{Kind: PhaseIO, Duration: d} }

// String formats the phase as "sleep 5ms".
func (p Phase) String() string { return fmt.Sprintf("%s %v", p.Kind, p.Duration) }

// Spin is a tight CPU loop.
func Spin() Type { return Type{Kind: SpinKind} }

// YieldHeavy calls sched_yield in a loop.
func YieldHeavy() Type { return Type{Kind: YieldHeavyKind} }

// Mixed spins 1024 iterations, then yields, in a loop.
func Mixed() Type { return Type{Kind: MixedKind} }

// IOSync writes 64 KiB to a tmpfs file, then sleeps 100 µs, in a loop.
func IOSync() Type { return Type{Kind: IOSyncKind} }

// Bursty spins for burst, then sleeps for sleep, in a loop. The reference
// defaults are Bursty(50*time.Millisecond, 100*time.Millisecond).
func Bursty(burst, sleep time.Duration) Type {
	return Type{Kind: BurstyKind, Burst: burst, Sleep: sleep}
}

// PipePingPong pairs workers (0-1, 2-3, ...) that spin burstIters
// iterations, then hand a message to the partner over a pipe and wait for
// its answer. The reference default is PipePingPong(1024).
func PipePingPong(burstIters int) Type {
	return Type{Kind: PipePingPongKind, BurstIters: burstIters}
}

// FutexPingPong pairs workers that spin spinIters iterations, then wake the
// partner through a shared futex word and wait on it. The reference default
// is FutexPingPong(1024).
func FutexPingPong(spinIters int) Type {
	return Type{Kind: FutexPingPongKind, SpinIters: spinIters}
}

// CachePressure does strided read-modify-write passes over a private buffer
// of sizeKB KiB, stride bytes apart. The reference default is
// CachePressure(32, 64) (an L1-sized buffer, one access per cache line).
func CachePressure(sizeKB, stride int) Type {
	return Type{Kind: CachePressureKind, SizeKB: sizeKB, Stride: stride}
}

// CacheYield is [CachePressure] with a sched_yield after every pass. The
// reference default is CacheYield(32, 64).
func CacheYield(sizeKB, stride int) Type {
	return Type{Kind: CacheYieldKind, SizeKB: sizeKB, Stride: stride}
}

// CachePipe pairs workers that do burstIters cache-line read-modify-writes
// over a private buffer of sizeKB KiB, then exchange a message over a pipe
// as [PipePingPong] does. The reference default is CachePipe(32, 1024).
func CachePipe(sizeKB, burstIters int) Type {
	return Type{Kind: CachePipeKind, SizeKB: sizeKB, Stride: 64, BurstIters: burstIters}
}

// FutexFanOut groups one messenger with fanOut receivers. Each round the
// messenger spins spinIters iterations, then wakes every receiver through a
// shared futex word and waits until all have woken. The reference default
// is FutexFanOut(4, 1024).
func FutexFanOut(fanOut, spinIters int) Type {
	return Type{Kind: FutexFanOutKind, FanOut: fanOut, SpinIters: spinIters}
}

// FanOutCompute groups one messenger with fanOut workers. Each round the
// messenger stamps the time and wakes every worker; a worker measures its
// wake-up latency against the stamp, sleeps for sleep, then does operations
// naive matrix multiplications over three square uint64 matrices filling
// footprintKB KiB. The reference default is
// FanOutCompute(4, 256, 5, 100*time.Microsecond).
func FanOutCompute(fanOut, footprintKB, operations int, sleep time.Duration) Type {
	return Type{Kind: FanOutComputeKind, FanOut: fanOut, SizeKB: footprintKB, Operations: operations, Sleep: sleep}
}

// ForkExit forks a child that exits at once and reaps it, in a loop.
func ForkExit() Type { return Type{Kind: ForkExitKind} }

// NiceSweep spins 512 iterations, moves to the next nice level (-20 to 19;
// 0 to 19 without CAP_SYS_NICE) and yields, in a loop.
func NiceSweep() Type { return Type{Kind: NiceSweepKind} }

// AffinityChurn spins spinIters iterations, pins itself to a random CPU of
// the CPUs it may use and yields, in a loop. The reference default is
// AffinityChurn(1024).
func AffinityChurn(spinIters int) Type {
	return Type{Kind: AffinityChurnKind, SpinIters: spinIters}
}

// PolicyChurn spins spinIters iterations, moves to the next scheduling
// policy (normal, batch, idle, and with CAP_SYS_NICE fifo and rr at
// priority 1) and yields, in a loop. The reference default is
// PolicyChurn(1024).
func PolicyChurn(spinIters int) Type {
	return Type{Kind: PolicyChurnKind, SpinIters: spinIters}
}

// PageFaultChurn write-faults touches random pages of a regionKB KiB
// private mapping (no huge pages), drops the mapping's pages
// (MADV_DONTNEED) and spins spinIters iterations, in a loop. The reference
// default is PageFaultChurn(4096, 256, 64).
func PageFaultChurn(regionKB, touches, spinIters int) Type {
	return Type{Kind: PageFaultChurnKind, SizeKB: regionKB, Touches: touches, SpinIters: spinIters}
}

// MutexContention groups contenders workers around one futex-based lock:
// each spins workIters iterations, takes the lock (sleeping on the futex
// when it is taken), spins holdIters iterations holding it, and releases
// it. The reference default is MutexContention(4, 256, 1024).
func MutexContention(contenders, holdIters, workIters int) Type {
	return Type{Kind: MutexContentionKind, Contenders: contenders, HoldIters: holdIters, WorkIters: workIters}
}

// Sequence runs phases in order, over and over.
func Sequence(phases ...Phase) Type {
	return Type{Kind: SequenceKind, Phases: slices.Clone(phases)}
}

// Custom runs the Go function registered under name with [Register].
func Custom(name string) Type { return Type{Kind: CustomKind, Name: name} }

// kindOrder lists every kind, in the order [AllKinds] returns them.
var kindOrder = []Kind{
	SpinKind, YieldHeavyKind, MixedKind, IOSyncKind, BurstyKind,
	PipePingPongKind, FutexPingPongKind, CachePressureKind, CacheYieldKind, CachePipeKind,
	FutexFanOutKind, FanOutComputeKind, ForkExitKind, NiceSweepKind, AffinityChurnKind,
	PolicyChurnKind, PageFaultChurnKind, MutexContentionKind, SequenceKind, CustomKind,
}

// AllKinds returns every work kind, for listing on a command line.
func AllKinds() []Kind { return slices.Clone(kindOrder) }

// kindAliases maps the reference tool's names that do not follow from ours
// by dropping dashes.
var kindAliases = map[string]Kind{"cpuspin": SpinKind, "pipeio": PipePingPongKind}

// normName lower-cases a kind name and drops '-' and '_', so that
// "pipe-ping-pong", "pipe_ping_pong" and "PipePingPong" compare equal.
func normName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
}

// ParseKind parses a kind name: "pipe-ping-pong", case and '-' or '_'
// not mattering, so "PipePingPong" works too (and the reference tool's
// "CpuSpin" and "PipeIo").
func ParseKind(s string) (Kind, error) {
	n := normName(s)
	for _, k := range kindOrder {
		if normName(string(k)) == n {
			return k, nil
		}
	}
	if k, ok := kindAliases[n]; ok {
		return k, nil
	}
	names := make([]string, len(kindOrder))
	for i, k := range kindOrder {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown work kind %q (have: %s)", s, strings.Join(names, ", "))
}

// ParseType parses a kind name as [ParseKind] does and returns the kind's
// Type with the reference defaults. Sequence and custom have no defaults
// (they need phases or a name); use [Sequence] or [Custom].
func ParseType(s string) (Type, error) {
	k, err := ParseKind(s)
	if err != nil {
		return Type{}, err
	}
	return k.Default()
}

// Default returns the kind's Type with the reference defaults, or an error
// for sequence and custom, which have none.
func (k Kind) Default() (Type, error) {
	switch k {
	case SpinKind, "":
		return Spin(), nil
	case YieldHeavyKind:
		return YieldHeavy(), nil
	case MixedKind:
		return Mixed(), nil
	case IOSyncKind:
		return IOSync(), nil
	case BurstyKind:
		return Bursty(50*time.Millisecond, 100*time.Millisecond), nil
	case PipePingPongKind:
		return PipePingPong(1024), nil
	case FutexPingPongKind:
		return FutexPingPong(1024), nil
	case CachePressureKind:
		return CachePressure(32, 64), nil
	case CacheYieldKind:
		return CacheYield(32, 64), nil
	case CachePipeKind:
		return CachePipe(32, 1024), nil
	case FutexFanOutKind:
		return FutexFanOut(4, 1024), nil
	case FanOutComputeKind:
		return FanOutCompute(4, 256, 5, 100*time.Microsecond), nil
	case ForkExitKind:
		return ForkExit(), nil
	case NiceSweepKind:
		return NiceSweep(), nil
	case AffinityChurnKind:
		return AffinityChurn(1024), nil
	case PolicyChurnKind:
		return PolicyChurn(1024), nil
	case PageFaultChurnKind:
		return PageFaultChurn(4096, 256, 64), nil
	case MutexContentionKind:
		return MutexContention(4, 256, 1024), nil
	case SequenceKind:
		return Type{}, errors.New("sequence has no default: build it with work.Sequence(phases...)")
	case CustomKind:
		return Type{}, errors.New("custom has no default: build it with work.Custom(name)")
	}
	return Type{}, fmt.Errorf("unknown work kind %q", string(k))
}

// kind returns t's kind, the zero Type being spin.
func (t Type) kind() Kind {
	if t.Kind == "" {
		return SpinKind
	}
	return t.Kind
}

// GroupSize returns how many workers share one instance of the work: 2 for
// the pair kinds (pipe-ping-pong, futex-ping-pong, cache-pipe), FanOut+1
// for futex-fan-out and fan-out-compute, Contenders for mutex-contention,
// else 1. A group's worker count must be a multiple of it.
func (t Type) GroupSize() int {
	switch t.kind() {
	case PipePingPongKind, FutexPingPongKind, CachePipeKind:
		return 2
	case FutexFanOutKind, FanOutComputeKind:
		return max(t.FanOut, 0) + 1
	case MutexContentionKind:
		return max(t.Contenders, 1)
	}
	return 1
}

// IsMessenger reports whether the worker at index in a group of this type
// is a fan-out messenger (index 0 of every fan-out instance).
func (t Type) IsMessenger(index int) bool {
	switch t.kind() {
	case FutexFanOutKind, FanOutComputeKind:
		return index%t.GroupSize() == 0
	}
	return false
}

// maxSizeKB bounds buffer sizes (1 GiB): a typo should not exhaust the
// guest's memory.
const maxSizeKB = 1 << 20

// Validate reports what is wrong with t for a group of workers workers:
// unknown kinds, out-of-range parameters, a worker count that is not a
// multiple of [Type.GroupSize], an unregistered custom function.
func (t Type) Validate(workers int) error {
	k := t.kind()
	if workers < 1 {
		return fmt.Errorf("%s needs at least 1 worker, got %d", k, workers)
	}
	if !slices.Contains(kindOrder, k) {
		_, err := ParseKind(string(k))
		return err
	}
	var errs []error
	need := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: "+format, append([]any{k}, args...)...))
		}
	}
	nonNeg := func(name string, v int) { need(v >= 0, "%s must not be negative, got %d", name, v) }
	size := func(name string, v int) {
		need(v >= 1 && v <= maxSizeKB, "%s must be 1 to %d KiB, got %d", name, maxSizeKB, v)
	}
	switch k {
	case BurstyKind:
		need(t.Burst >= 0 && t.Sleep >= 0, "burst and sleep must not be negative, got %v and %v", t.Burst, t.Sleep)
		need(t.Burst > 0 || t.Sleep > 0, "burst and sleep are both zero")
	case PipePingPongKind:
		nonNeg("burst iterations", t.BurstIters)
	case FutexPingPongKind, AffinityChurnKind, PolicyChurnKind:
		nonNeg("spin iterations", t.SpinIters)
	case CachePressureKind, CacheYieldKind, CachePipeKind:
		size("buffer size", t.SizeKB)
		need(t.Stride >= 1 && t.Stride <= t.SizeKB*1024, "stride must be 1 to the buffer size (%d bytes), got %d", t.SizeKB*1024, t.Stride)
		if k == CachePipeKind {
			nonNeg("burst iterations", t.BurstIters)
		}
	case FutexFanOutKind:
		need(t.FanOut >= 1, "fan-out must be at least 1, got %d", t.FanOut)
		nonNeg("spin iterations", t.SpinIters)
	case FanOutComputeKind:
		need(t.FanOut >= 1, "fan-out must be at least 1, got %d", t.FanOut)
		size("footprint", t.SizeKB)
		nonNeg("operations", t.Operations)
		need(t.Sleep >= 0, "sleep must not be negative, got %v", t.Sleep)
	case PageFaultChurnKind:
		size("region size", t.SizeKB)
		need(t.Touches >= 1, "touches must be at least 1, got %d", t.Touches)
		nonNeg("spin iterations", t.SpinIters)
	case MutexContentionKind:
		need(t.Contenders >= 2, "contenders must be at least 2, got %d", t.Contenders)
		nonNeg("hold iterations", t.HoldIters)
		nonNeg("work iterations", t.WorkIters)
	case SequenceKind:
		need(len(t.Phases) > 0, "no phases")
		for i, p := range t.Phases {
			need(slices.Contains([]PhaseKind{PhaseSpin, PhaseSleep, PhaseYield, PhaseIO}, p.Kind),
				"phase %d: unknown phase kind %q (have: spin, sleep, yield, io)", i, p.Kind)
			need(p.Duration > 0, "phase %d: duration must be positive, got %v", i, p.Duration)
		}
	case CustomKind:
		if _, err := Lookup(t.Name); err != nil {
			errs = append(errs, err)
		}
	}
	if n := t.GroupSize(); n > 1 && workers%n != 0 {
		errs = append(errs, fmt.Errorf("%s needs a worker count divisible by %d, got %d", k, n, workers))
	}
	return errors.Join(errs...)
}

// String formats t as its kind followed by its parameters, for example
// "bursty(burst=50ms, sleep=100ms)" or "spin".
func (t Type) String() string {
	k := t.kind()
	var p []string
	add := func(name string, v any) { p = append(p, fmt.Sprintf("%s=%v", name, v)) }
	switch k {
	case BurstyKind:
		add("burst", t.Burst)
		add("sleep", t.Sleep)
	case PipePingPongKind:
		add("burst-iters", t.BurstIters)
	case FutexPingPongKind, AffinityChurnKind, PolicyChurnKind:
		add("spin-iters", t.SpinIters)
	case CachePressureKind, CacheYieldKind:
		add("size", fmt.Sprintf("%dKiB", t.SizeKB))
		add("stride", t.Stride)
	case CachePipeKind:
		add("size", fmt.Sprintf("%dKiB", t.SizeKB))
		add("burst-iters", t.BurstIters)
	case FutexFanOutKind:
		add("fan-out", t.FanOut)
		add("spin-iters", t.SpinIters)
	case FanOutComputeKind:
		add("fan-out", t.FanOut)
		add("footprint", fmt.Sprintf("%dKiB", t.SizeKB))
		add("operations", t.Operations)
		add("sleep", t.Sleep)
	case PageFaultChurnKind:
		add("region", fmt.Sprintf("%dKiB", t.SizeKB))
		add("touches", t.Touches)
		add("spin-iters", t.SpinIters)
	case MutexContentionKind:
		add("contenders", t.Contenders)
		add("hold-iters", t.HoldIters)
		add("work-iters", t.WorkIters)
	case SequenceKind:
		for _, ph := range t.Phases {
			p = append(p, ph.String())
		}
	case CustomKind:
		p = append(p, t.Name)
	}
	if len(p) == 0 {
		return string(k)
	}
	return string(k) + "(" + strings.Join(p, ", ") + ")"
}
