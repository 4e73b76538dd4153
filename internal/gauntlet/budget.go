package gauntlet

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/ktstr-go/ktstr/internal/env"
)

// EnvBudgetSecs is the environment variable (and, by convention, the
// --budget flag) holding the budget in seconds; see [ParseBudget].
const EnvBudgetSecs = env.BudgetSecs

// CatalogFlags is the reference's built-in flag catalog, in the order that
// numbers flag bits when a Variant has no DeclaredFlags.
var CatalogFlags = []string{"llc", "borrow", "steal", "rebal", "reject-pin", "no-ctrl"}

// Feature bit layout; see Features. Bits 33 (performance mode), 34 (host
// only) and 35 (expect error) of the reference stay unused: ktstr variants
// have none of those properties.
const (
	bitScheduler  = 0  // 4 bits, one-hot djb2(scheduler) % 4
	bitRequired   = 4  // 6 bits, required flags
	bitExcluded   = 10 // 6 bits, excluded flags
	bitActive     = 16 // 6 bits, active profile flags (gauntlet only)
	bitCPUs       = 22 // 5 buckets
	bitLLCs       = 27 // 5 buckets
	bitSMT        = 32
	bitDuration   = 36 // 3 buckets
	bitManyWorker = 39
	bitGauntlet   = 40
	bitName       = 41 // 4 bits, one-hot djb2(name) % 4
	bitNUMA       = 45 // 4 buckets
	flagBits      = 6
)

// Features encodes the properties budget selection tries to cover as a
// bitset, following the reference layout (src/budget.rs); every
// multi-valued property is one-hot:
//
//	bits 0–3    scheduler: 1 << (djb2(Scheduler) % 4); "" counts as "eevdf"
//	bits 4–9    required flags
//	bits 10–15  excluded flags
//	bits 16–21  active profile flags (gauntlet variants only)
//	bits 22–26  CPUs: ≤8, 9–16, 17–64, 65–128, >128
//	bits 27–31  LLCs: ≤1, 2, 3–4, 5–8, >8
//	bit  32     SMT (more than one thread per core)
//	bits 33–35  unused (reference: performance mode, host only, expect error)
//	bits 36–38  duration: ≤2 s, ≤10 s, >10 s (effective duration)
//	bit  39     more than 2 workers per cgroup (effective)
//	bit  40     gauntlet variant (a base variant leaves it clear)
//	bits 41–44  name: 1 << (djb2(Name()) % 4)
//	bits 45–48  NUMA nodes: ≤1, 2, 3–4, ≥5
//
// A flag's bit within its group is its index in DeclaredFlags
// (CatalogFlags when that is empty, giving exactly the reference's
// numbering); names not declared set no bit. djb2 is h = 5381, then h = h·33 + byte for every byte, on a wrapping
// uint32. Where the reference is silent: flags past the sixth declared fold
// onto bit index%6 rather than vanish, and durations are bucketed on the
// exact duration (2.5 s is in the second bucket; the reference has whole
// seconds).
func Features(v Variant) uint64 {
	var f uint64
	sched := v.Scheduler
	if sched == "" {
		sched = "eevdf"
	}
	f |= 1 << (bitScheduler + djb2(sched)%4)
	order := v.DeclaredFlags
	if len(order) == 0 {
		order = CatalogFlags
	}
	flagMask := func(names []string, base int) uint64 {
		var m uint64
		for _, n := range names {
			if i := slices.Index(order, n); i >= 0 {
				m |= 1 << (base + i%flagBits)
			}
		}
		return m
	}
	f |= flagMask(v.RequiredFlags, bitRequired)
	f |= flagMask(v.ExcludedFlags, bitExcluded)
	if v.Gauntlet {
		f |= flagMask(v.Profile.Flags, bitActive)
	}
	f |= 1 << (bitCPUs + bucket(v.Preset.CPUs(), 8, 16, 64, 128))
	f |= 1 << (bitLLCs + bucket(v.Preset.LLCs, 1, 2, 4, 8))
	if v.Preset.SMT() {
		f |= 1 << bitSMT
	}
	secs := v.EffectiveDuration().Seconds()
	switch {
	case secs <= 2:
		f |= 1 << bitDuration
	case secs <= 10:
		f |= 1 << (bitDuration + 1)
	default:
		f |= 1 << (bitDuration + 2)
	}
	if v.EffectiveWorkers() > 2 {
		f |= 1 << bitManyWorker
	}
	if v.Gauntlet {
		f |= 1 << bitGauntlet
	}
	f |= 1 << (bitName + djb2(v.Name())%4)
	f |= 1 << (bitNUMA + bucket(v.Preset.Nodes, 1, 2, 4))
	return f
}

// bucket returns the index of the first upper bound n is at most, or
// len(bounds) when it exceeds them all.
func bucket(n int, bounds ...int) int {
	for i, b := range bounds {
		if n <= b {
			return i
		}
	}
	return len(bounds)
}

func djb2(s string) int {
	h := uint32(5381)
	for i := 0; i < len(s); i++ {
		h = h*33 + uint32(s[i])
	}
	return int(h)
}

// BootCost estimates the seconds to boot a VM with cpus vCPUs to the test.
type BootCost func(cpus int) float64

// TCGBootCost is the boot term calibrated under single-threaded TCG on the
// project's 2-core host (FIELD-NOTES: q35 + qboot + PVH vmlinux, Go init):
// about 1.6 s for 2 vCPUs (median 1.57 s) and 3.7 s for 8, so 1.6 s plus
// 0.35 s per vCPU beyond 2. All vCPUs of a thread=single VM share one host
// thread, so the term does not shrink with more host cores; for a faster or
// slower host pass a different BootCost.
func TCGBootCost(cpus int) float64 {
	return 1.6 + 0.35*float64(max(0, cpus-2))
}

// ReferenceBootCost is the reference's KVM assumption: 10 s for a VM of up
// to 16 vCPUs plus 1 s per whole 10 vCPUs above 16.
func ReferenceBootCost(cpus int) float64 {
	return 10 + float64(max(0, cpus-16)/10)
}

// DefaultOverhead is the fixed seconds per variant on top of boot and
// duration (scheduler attach, settling, collecting, teardown), as in the
// reference.
const DefaultOverhead = 2.0

// CostModel estimates a variant's seconds: Boot(CPUs) + effective duration
// + Overhead.
type CostModel struct {
	// Boot is the boot term; nil means TCGBootCost.
	Boot BootCost
	// Overhead is added to every variant.
	Overhead float64
}

// DefaultCostModel is TCGBootCost with DefaultOverhead: a 4-vCPU variant
// with the default 2 s duration costs 2.3 + 2 + 2 = 6.3 s.
var DefaultCostModel = CostModel{Boot: TCGBootCost, Overhead: DefaultOverhead}

// Estimate is v's estimated seconds, never negative.
func (m CostModel) Estimate(v Variant) float64 {
	boot := m.Boot
	if boot == nil {
		boot = TCGBootCost
	}
	return max(0, boot(v.Preset.CPUs())+v.EffectiveDuration().Seconds()+m.Overhead)
}

// Selection is the result of budget selection.
type Selection struct {
	// Chosen is the selected variants in their input order.
	Chosen []Variant
	// UsedSeconds is the sum of the chosen variants' estimates.
	UsedSeconds float64
	// Budget is the budget in seconds (negative or NaN budgets count as 0).
	Budget float64
	// Candidates is the number of variants selection chose from.
	Candidates int
	// Covered is the number of feature bits the chosen variants set, and
	// Total the number all candidates set together: the reference's
	// "configurations".
	Covered, Total int
}

// Summary is the one line ktstr prints on stderr after selecting, e.g.
// "ktstr budget: 42/1200 tests, 295/300s used, 38/38 configurations
// covered". Seconds are rounded to whole numbers (half to even).
func (s Selection) Summary() string {
	return fmt.Sprintf("ktstr budget: %d/%d tests, %.0f/%.0fs used, %d/%d configurations covered",
		len(s.Chosen), s.Candidates, s.UsedSeconds, s.Budget, s.Covered, s.Total)
}

// Select is DefaultCostModel.Select.
func Select(vs []Variant, budgetSeconds float64) Selection {
	return DefaultCostModel.Select(vs, budgetSeconds)
}

// Select picks the variants that cover the most features within budget
// seconds, by the reference's cost-effective greedy: starting with nothing
// covered, repeatedly take, among the variants not yet taken whose estimate
// fits the remaining budget and that set at least one feature bit not yet
// covered, the one with the most new bits per estimated second (a zero
// estimate counts as new bits × 10⁶); ties go to the lexicographically
// smaller name, then the earlier variant. Stop when none qualifies.
func (m CostModel) Select(vs []Variant, budgetSeconds float64) Selection {
	if !(budgetSeconds > 0) { // also NaN
		budgetSeconds = 0
	}
	cs := make([]candidate, len(vs))
	for i, v := range vs {
		cs[i] = candidate{name: v.Name(), features: Features(v), seconds: m.Estimate(v)}
	}
	picked, used, covered, all := greedy(cs, budgetSeconds)
	s := Selection{
		UsedSeconds: used,
		Budget:      budgetSeconds,
		Candidates:  len(vs),
		Covered:     bits.OnesCount64(covered),
		Total:       bits.OnesCount64(all),
	}
	for _, i := range picked {
		s.Chosen = append(s.Chosen, vs[i])
	}
	return s
}

type candidate struct {
	name     string
	features uint64
	seconds  float64
}

// fitSlack absorbs floating-point error when estimates sum to the budget.
const fitSlack = 1e-9

// greedy returns the picked indices in ascending order, the seconds they
// use, the bits they cover and the bits all candidates set.
func greedy(cs []candidate, budget float64) (picked []int, used float64, covered, all uint64) {
	for _, c := range cs {
		all |= c.features
	}
	taken := make([]bool, len(cs))
	remaining := budget
	for {
		best, bestRatio := -1, 0.0
		for i, c := range cs {
			if taken[i] || c.seconds > remaining+fitSlack {
				continue
			}
			gain := bits.OnesCount64(c.features &^ covered)
			if gain == 0 {
				continue
			}
			ratio := float64(gain) * 1e6
			if c.seconds > 0 {
				ratio = float64(gain) / c.seconds
			}
			if best < 0 || ratio > bestRatio || ratio == bestRatio && c.name < cs[best].name {
				best, bestRatio = i, ratio
			}
		}
		if best < 0 {
			break
		}
		taken[best] = true
		picked = append(picked, best)
		covered |= cs[best].features
		remaining -= cs[best].seconds
		used += cs[best].seconds
	}
	slices.Sort(picked)
	return picked, used, covered, all
}

// ParseBudget parses a budget in seconds (KTSTR_BUDGET_SECS or --budget): a
// positive, finite number such as "300" or "90.5".
func ParseBudget(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !finite(f) || f <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive number of seconds, e.g. 300", EnvBudgetSecs, s)
	}
	return f, nil
}

// finite reports whether f is neither NaN nor infinite.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
