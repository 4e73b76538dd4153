package gauntlet

import (
	"math"
	"math/bits"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDjb2(t *testing.T) {
	// h0 = 5381; "a": 5381·33 + 97 = 177670; "ab": 177670·33 + 98 = 5863208;
	// "s": 177573 + 115 = 177688; "T": 177573 + 84 = 177657.
	for s, want := range map[string]int{"": 5381, "a": 177670, "ab": 5863208, "s": 177688, "T": 177657} {
		if got := djb2(s); got != want {
			t.Errorf("djb2(%q) = %d, want %d", s, got, want)
		}
	}
	// Wrapping uint32: a long input stays in range.
	if h := djb2(strings.Repeat("z", 100)); h < 0 || h > math.MaxUint32 {
		t.Errorf("djb2 out of uint32 range: %d", h)
	}
}

func bitset(bs ...int) uint64 {
	var m uint64
	for _, b := range bs {
		m |= 1 << b
	}
	return m
}

func TestFeaturesHandWorked(t *testing.T) {
	// Base variant "T", scheduler "s", 1n1l2c1t, defaults (2 s, 2 workers):
	//   scheduler djb2("s") = 177688, %4 = 0       → bit 0
	//   2 CPUs ≤ 8                                → bit 22
	//   1 LLC ≤ 1                                 → bit 27
	//   2 s ≤ 2 s                                 → bit 36
	//   name djb2("T") = 177657, %4 = 1           → bit 42
	//   1 node                                    → bit 45
	v := Variant{Test: "T", Scheduler: "s", Preset: Preset{Nodes: 1, LLCs: 1, Cores: 2, Threads: 1}}
	if got, want := Features(v), bitset(0, 22, 27, 36, 42, 45); got != want {
		t.Errorf("base features %b, want %b", got, want)
	}

	// Gauntlet variant of TestA on smt-2llc with llc+steal, required llc,
	// excluded no-ctrl, 15 s, 3 workers, scheduler "" (= "eevdf"):
	//   djb2("eevdf") = 257691791, %4 = 3         → bit 3
	//   required llc (catalog index 0)            → bit 4
	//   excluded no-ctrl (index 5)                → bit 15
	//   active llc (0), steal (2)                 → bits 16, 18
	//   8 CPUs ≤ 8                                → bit 22
	//   2 LLCs                                    → bit 28
	//   SMT                                       → bit 32
	//   15 s > 10 s                               → bit 38
	//   3 workers > 2                             → bit 39
	//   gauntlet                                  → bit 40
	//   djb2("TestA/gauntlet/smt-2llc/llc+steal") = 2907346308, %4 = 0 → bit 41
	//   1 node                                    → bit 45
	g := Variant{Test: "TestA", Gauntlet: true, Preset: mustPreset(t, "smt-2llc"), Profile: Profile{Flags: []string{"llc", "steal"}},
		RequiredFlags: []string{"llc"}, ExcludedFlags: []string{"no-ctrl"}, Duration: 15 * time.Second, Workers: 3}
	if got, want := Features(g), bitset(3, 4, 15, 16, 18, 22, 28, 32, 38, 39, 40, 41, 45); got != want {
		t.Errorf("gauntlet features\n%049b\nwant\n%049b", got, want)
	}
	// The same profile on a base variant sets no active-flag bits.
	g.Gauntlet = false
	if Features(g)&bitset(16, 17, 18, 19, 20, 21, 40) != 0 {
		t.Error("base variant has active-flag or gauntlet bits")
	}
}

func TestFeaturesBuckets(t *testing.T) {
	field := func(v Variant, lo, n int) int {
		f := (Features(v) >> lo) & (1<<n - 1)
		if bits.OnesCount64(f) != 1 {
			t.Fatalf("field at %d not one-hot: %b", lo, f)
		}
		return bits.TrailingZeros64(f)
	}
	for _, tc := range []struct {
		preset              string
		cpu, llc, numa, smt int
	}{
		{"tiny-1llc", 0, 0, 0, 0},    // 4 CPUs, 1 LLC
		{"odd-3llc", 1, 2, 0, 0},     // 9, 3
		{"odd-5llc", 1, 3, 0, 0},     // 15, 5
		{"medium-4llc", 2, 2, 0, 1},  // 32, 4
		{"medium-8llc", 2, 3, 0, 1},  // 64, 8
		{"large-8llc", 3, 3, 0, 1},   // 128, 8
		{"near-max-llc", 4, 4, 0, 1}, // 240, 15
		{"numa2-4llc", 1, 2, 1, 0},   // 16, 4, 2 nodes
		{"numa4-12llc", 4, 4, 2, 1},  // 192, 12, 4 nodes
	} {
		v := Variant{Test: "T", Preset: mustPreset(t, tc.preset)}
		if c, l, n := field(v, bitCPUs, 5), field(v, bitLLCs, 5), field(v, bitNUMA, 4); c != tc.cpu || l != tc.llc || n != tc.numa {
			t.Errorf("%s: buckets cpu %d llc %d numa %d; want %d %d %d", tc.preset, c, l, n, tc.cpu, tc.llc, tc.numa)
		}
		if got := int(Features(v) >> bitSMT & 1); got != tc.smt {
			t.Errorf("%s: SMT bit %d", tc.preset, got)
		}
	}
	v := Variant{Test: "T", Preset: Preset{Name: "p", Nodes: 8, LLCs: 8, Cores: 1, Threads: 1}}
	if n := field(v, bitNUMA, 4); n != 3 {
		t.Errorf("8 nodes in NUMA bucket %d, want 3", n)
	}
	for d, want := range map[time.Duration]int{0: 0, time.Second: 0, 2 * time.Second: 0, 2500 * time.Millisecond: 1, 10 * time.Second: 1, 11 * time.Second: 2} {
		if got := field(Variant{Test: "T", Duration: d}, bitDuration, 3); got != want {
			t.Errorf("duration %v in bucket %d, want %d", d, got, want)
		}
	}
	// Declared flags number the bits; the seventh folds onto index 0; an
	// undeclared name is ignored.
	v = Variant{Test: "T", Gauntlet: true, DeclaredFlags: []string{"a", "b", "c", "d", "e", "f", "g"},
		Profile: Profile{Flags: []string{"b", "g", "zzz"}}}
	if got := Features(v) >> bitActive & (1<<flagBits - 1); got != 0b000011 {
		t.Errorf("active flag bits %06b, want 000011", got)
	}
	// No active bits and no flag bits for unknown names under the catalog.
	v = Variant{Test: "T", Gauntlet: true, RequiredFlags: []string{"mine"}, Profile: Profile{Flags: []string{"mine"}}}
	if Features(v)&bitset(4, 5, 6, 7, 8, 9, 16, 17, 18, 19, 20, 21) != 0 {
		t.Error("undeclared flag set a bit")
	}
}

func TestCostModels(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for cpus, want := range map[int]float64{1: 1.6, 2: 1.6, 8: 3.7, 16: 6.5, 32: 12.1} {
		if got := TCGBootCost(cpus); !near(got, want) {
			t.Errorf("TCGBootCost(%d) = %v, want %v", cpus, got, want)
		}
	}
	for cpus, want := range map[int]float64{4: 10, 16: 10, 25: 10, 26: 11, 252: 33} {
		if got := ReferenceBootCost(cpus); got != want {
			t.Errorf("ReferenceBootCost(%d) = %v, want %v", cpus, got, want)
		}
	}
	// Default model: 4 vCPUs, 2 s: 2.3 + 2 + 2 = 6.3 s.
	v := Variant{Test: "T", Preset: mustPreset(t, "tiny-1llc")}
	if got := DefaultCostModel.Estimate(v); !near(got, 6.3) {
		t.Errorf("default estimate %v, want 6.3", got)
	}
	// Reference model: a default 4-CPU test is 10 + 2 + 2 = 14 s (§7.8).
	if got := (CostModel{Boot: ReferenceBootCost, Overhead: 2}).Estimate(v); got != 14 {
		t.Errorf("reference estimate %v, want 14", got)
	}
	// Zero CostModel: TCG boot, no overhead; negative totals clamp to 0.
	if got := (CostModel{}).Estimate(v); !near(got, 4.3) {
		t.Errorf("zero model estimate %v, want 4.3", got)
	}
	if got := (CostModel{Overhead: -100}).Estimate(v); got != 0 {
		t.Errorf("negative estimate not clamped: %v", got)
	}
}

func TestSummaryFormat(t *testing.T) {
	s := Selection{Chosen: make([]Variant, 42), Candidates: 1200, UsedSeconds: 295.4, Budget: 300, Covered: 38, Total: 38}
	if got, want := s.Summary(), "ktstr budget: 42/1200 tests, 295/300s used, 38/38 configurations covered"; got != want {
		t.Errorf("Summary() = %q\nwant          %q", got, want)
	}
}

func cands(cs ...candidate) []candidate { return cs }

func pickedNames(cs []candidate, picked []int) []string {
	var out []string
	for _, i := range picked {
		out = append(out, cs[i].name)
	}
	return out
}

func TestGreedyHandWorked(t *testing.T) {
	// A {0,1,2} 3 s, B {2,3} 1 s, C {0,1,2,3} 8 s; budget 5.
	// Round 1: A 3/3 = 1, B 2/1 = 2, C 4/8 = 0.5 → B; covered {2,3}, 4 s left.
	// Round 2: A new {0,1} 2/3 ≈ 0.67, C new {0,1} 2/8 = 0.25 → A; 1 s left.
	// Round 3: C adds nothing (and does not fit) → stop.
	// Picked in input order: A, B; 4 s; 4 of 4 bits.
	cs := cands(candidate{"A", bitset(0, 1, 2), 3}, candidate{"B", bitset(2, 3), 1}, candidate{"C", bitset(0, 1, 2, 3), 8})
	picked, used, covered, all := greedy(cs, 5)
	if got := pickedNames(cs, picked); !slices.Equal(got, []string{"A", "B"}) || used != 4 || covered != bitset(0, 1, 2, 3) || all != covered {
		t.Errorf("picked %v, used %v, covered %b, all %b", got, used, covered, all)
	}
	// With 9 s: B (2/1), then A (2/3) over C (2/8), then nothing new: C never
	// runs although it fits: coverage, not time, is what is maximised.
	picked, used, _, _ = greedy(cs, 9)
	if got := pickedNames(cs, picked); !slices.Equal(got, []string{"A", "B"}) || used != 4 {
		t.Errorf("budget 9: picked %v, used %v", got, used)
	}
}

func TestGreedyTieByName(t *testing.T) {
	// "b" (first in input) and "a" are identical: ratio 2/1 each; the tie
	// goes to the smaller name "a", after which "b" adds nothing.
	cs := cands(candidate{"b", bitset(0, 1), 1}, candidate{"a", bitset(0, 1), 1})
	picked, _, _, _ := greedy(cs, 10)
	if got := pickedNames(cs, picked); !slices.Equal(got, []string{"a"}) {
		t.Errorf("identical candidates: picked %v, want [a]", got)
	}
	// Different bits, same ratio (2/2 = 1): "alpha" wins the tie, and then
	// "zeta" (2 s) no longer fits the 1 s left of 3.
	cs = cands(candidate{"zeta", bitset(0, 1), 2}, candidate{"alpha", bitset(2, 3), 2})
	picked, used, covered, all := greedy(cs, 3)
	if got := pickedNames(cs, picked); !slices.Equal(got, []string{"alpha"}) || used != 2 || bits.OnesCount64(covered) != 2 || bits.OnesCount64(all) != 4 {
		t.Errorf("same ratio: picked %v used %v covered %b", got, used, covered)
	}
	// A better ratio beats a smaller name: "z" 3 bits/1 s over "a" 2 bits/1 s.
	cs = cands(candidate{"a", bitset(0, 1), 1}, candidate{"z", bitset(2, 3, 4), 1})
	picked, _, _, _ = greedy(cs, 1)
	if got := pickedNames(cs, picked); !slices.Equal(got, []string{"z"}) {
		t.Errorf("ratio vs name: picked %v, want [z]", got)
	}
}

func TestGreedyTooExpensiveAndZeroBudget(t *testing.T) {
	// "huge" has the most bits but costs 100 s: with 50 s it never fits; its
	// bits count in the total, not in the covered.
	cs := cands(candidate{"huge", bitset(0, 1, 2, 3, 4, 5), 100}, candidate{"small", bitset(0), 10})
	picked, used, covered, all := greedy(cs, 50)
	if got := pickedNames(cs, picked); !slices.Equal(got, []string{"small"}) || used != 10 || bits.OnesCount64(covered) != 1 || bits.OnesCount64(all) != 6 {
		t.Errorf("picked %v used %v covered %b all %b", got, used, covered, all)
	}
	// Zero budget: nothing with a positive cost fits.
	picked, used, covered, _ = greedy(cs, 0)
	if len(picked) != 0 || used != 0 || covered != 0 {
		t.Errorf("zero budget picked %v", picked)
	}
	// A zero-cost candidate scores gain·10⁶ and fits even a zero budget.
	cs = cands(candidate{"free", bitset(7), 0}, candidate{"paid", bitset(0, 1, 2), 1})
	picked, _, _, _ = greedy(cs, 0)
	if got := pickedNames(cs, picked); !slices.Equal(got, []string{"free"}) {
		t.Errorf("zero-cost candidate: picked %v", got)
	}
	// Estimates summing to the budget despite rounding: 0.1 + 0.2 in 0.3.
	cs = cands(candidate{"x", bitset(0), 0.1}, candidate{"y", bitset(1), 0.2})
	if picked, _, _, _ = greedy(cs, 0.3); len(picked) != 2 {
		t.Errorf("0.1 + 0.2 in 0.3: picked %v", pickedNames(cs, picked))
	}
	if picked, _, _, _ = greedy(nil, 100); len(picked) != 0 {
		t.Error("picked from nothing")
	}
}

// handVariants are five variants of TestA (scheduler "s", defaults 2 s and
// 2 workers) whose features are worked out in TestSelectHandWorked.
func handVariants(t *testing.T) []Variant {
	base := Variant{Test: "TestA", Scheduler: "s"}
	g := func(preset string, flags ...string) Variant {
		v := base
		v.Gauntlet, v.Preset, v.Profile = true, mustPreset(t, preset), Profile{Flags: flags}
		return v
	}
	v1 := base
	v1.Preset = Preset{Nodes: 1, LLCs: 1, Cores: 2, Threads: 1}
	return []Variant{v1, g("tiny-1llc"), g("tiny-2llc", "llc"), g("smt-2llc", "llc", "steal"), g("medium-4llc")}
}

func TestSelectHandWorked(t *testing.T) {
	// Cost: boot = cpus/2, + 2 s duration, no overhead.
	m := CostModel{Boot: func(cpus int) float64 { return float64(cpus) / 2 }}
	// Every variant has C = {0 (djb2("s")%4 = 0), 36 (2 s), 45 (1 node)}.
	//
	//	   name (djb2 % 4)                               cpus est  bits beyond C (total)
	//	V1 TestA (237528358 % 4 = 2 → 43)                 2    3   22 27 43             (6 bits)
	//	V2 …/tiny-1llc/default (2024340761 % 4 = 1 → 42)  4    4   22 27 40 42          (7)
	//	V3 …/tiny-2llc/llc (2074745488 % 4 = 0 → 41)      4    4   16 22 28 40 41       (8)
	//	V4 …/smt-2llc/llc+steal (2907346308 % 4 = 0 → 41) 8    6   16 18 22 28 32 40 41 (10)
	//	V5 …/medium-4llc/default (2498567321 % 4 = 1)    32   18   24 29 32 40 42       (8)
	//
	// All bits: C + {16 18 22 24 27 28 29 32 40 41 42 43} = 15.
	// Budget 15:
	//  1. V1 6/3 = 2, V2 7/4 = 1.75, V3 8/4 = 2, V4 10/6 ≈ 1.67, V5 does not
	//     fit. V1 and V3 tie at 2; "TestA" < "TestA/gauntlet/…" → V1. 12 s left.
	//  2. New bits: V2 {40 42} 2/4 = 0.5; V3 {16 28 40 41} 4/4 = 1;
	//     V4 {16 18 28 32 40 41} 6/6 = 1. V3 and V4 tie at 1 and V3 comes
	//     first, but ".../smt-2llc/…" < ".../tiny-2llc/…" → V4. 6 s left.
	//  3. V2 {42} 1/4; V3 adds nothing; V5 does not fit → V2. 2 s left.
	//  4. Nothing qualifies. Used 3 + 6 + 4 = 13 s; covered C + {16 18 22
	//     27 28 32 40 41 42 43} = 13 of 15 (V5's 24 and 29 missing).
	vs := handVariants(t)
	wantBits := []int{6, 7, 8, 10, 8}
	for i, v := range vs {
		if n := bits.OnesCount64(Features(v)); n != wantBits[i] {
			t.Errorf("V%d %s: %d bits, want %d", i+1, v.Name(), n, wantBits[i])
		}
	}
	s := m.Select(vs, 15)
	var got []string
	for _, v := range s.Chosen {
		got = append(got, v.Name())
	}
	want := []string{"TestA", "TestA/gauntlet/tiny-1llc/default", "TestA/gauntlet/smt-2llc/llc+steal"}
	if !slices.Equal(got, want) {
		t.Errorf("chosen %q, want %q", got, want)
	}
	if got, want := s.Summary(), "ktstr budget: 3/5 tests, 13/15s used, 13/15 configurations covered"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	// Budget 40: everything fits, and V3 still adds nothing once V4 is in:
	// V1, V4, V2 as above (27 s left), then V5 {24 29} 2/18 → 4 of 5, 31 s,
	// all 15 bits.
	if got, want := m.Select(vs, 40).Summary(), "ktstr budget: 4/5 tests, 31/40s used, 15/15 configurations covered"; got != want {
		t.Errorf("budget 40: %q, want %q", got, want)
	}
	// Zero and negative budgets choose nothing.
	for _, b := range []float64{0, -5, math.NaN()} {
		if got, want := m.Select(vs, b).Summary(), "ktstr budget: 0/5 tests, 0/0s used, 0/15 configurations covered"; got != want {
			t.Errorf("budget %v: %q, want %q", b, got, want)
		}
	}
	// Budget 17.9 < V5's 18: V5 can never run, even with the budget to itself.
	if s := m.Select(vs[4:], 17.9); len(s.Chosen) != 0 || s.Total != 8 {
		t.Errorf("too expensive: %s", s.Summary())
	}
}

func TestSelectGauntletDeterministic(t *testing.T) {
	kept, _ := Filter(Presets(), Constraints{}, DefaultHostLimit(true, 2))
	profiles, err := Profiles(catalog, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := Expand(Variant{Test: "TestBig", Scheduler: "scx_simple"}, kept, profiles, []string{"6.14", "7.3"})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := PerKernel(Variant{Test: "TestBig", Scheduler: "scx_simple", Preset: Preset{Nodes: 1, LLCs: 1, Cores: 2, Threads: 1}}, []string{"6.14", "7.3"})
	vs = append(base, vs...) // 2 + 9·48·2 = 866
	if len(vs) != 866 {
		t.Fatalf("%d variants", len(vs))
	}
	a, b := Select(vs, 300), Select(vs, 300)
	if a.Summary() != b.Summary() || len(a.Chosen) != len(b.Chosen) {
		t.Fatal("selection not deterministic")
	}
	if a.UsedSeconds > 300 || a.Covered > a.Total || len(a.Chosen) == 0 {
		t.Errorf("bad selection: %s", a.Summary())
	}
	idx := map[string]int{}
	for i, v := range vs {
		idx[v.Name()] = i
	}
	for i := 1; i < len(a.Chosen); i++ {
		if idx[a.Chosen[i-1].Name()] >= idx[a.Chosen[i].Name()] {
			t.Errorf("chosen out of input order at %d", i)
		}
	}
	// A budget for everything covers every bit.
	if all := Select(vs, 1e9); all.Covered != all.Total {
		t.Errorf("unlimited budget: %s", all.Summary())
	}
	t.Log(a.Summary())
}

func TestParseBudget(t *testing.T) {
	for in, want := range map[string]float64{"300": 300, " 90.5 ": 90.5, "1e3": 1000} {
		if got, err := ParseBudget(in); err != nil || got != want {
			t.Errorf("ParseBudget(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0", "-1", "abc", "NaN", "Inf", "300s"} {
		if _, err := ParseBudget(bad); err == nil {
			t.Errorf("ParseBudget(%q) accepted", bad)
		}
	}
}
