package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/ktstr-go/ktstr/sidecar"
)

// Options configure Compare.
type Options struct {
	// A and B select the two sides. The dimensions whose filters differ
	// between them slice; every one of those must be given on both
	// sides.
	A, B Filter
	// Test, when set, keeps only tests whose name contains it.
	Test string
	// Thresholds decide what change counts.
	Thresholds Thresholds
}

// Verdict judges one metric change.
type Verdict string

// Verdicts.
const (
	// Unchanged: below a threshold (or both sides zero).
	Unchanged Verdict = "unchanged"
	// Regression: past both thresholds in the metric's bad direction.
	Regression Verdict = "regression"
	// Improvement: past both thresholds in the good direction.
	Improvement Verdict = "improvement"
	// Changed: past both thresholds, for a metric without a polarity.
	Changed Verdict = "changed"
)

// Key identifies a row: the test and its values of the pairing dimensions.
type Key struct {
	// Test is the test name.
	Test string `json:"test"`
	// Dims are the values of the pairing dimensions.
	Dims map[Dim]string `json:"dims"`
}

// String shows the key as "TestX [topology=1n2l2c1t scheduler=eevdf]".
func (k Key) String() string {
	var parts []string
	for _, d := range Dims {
		if v, ok := k.Dims[d]; ok {
			parts = append(parts, string(d)+"="+v)
		}
	}
	return k.Test + " [" + strings.Join(parts, " ") + "]"
}

// Side counts one side's sidecars of a row.
type Side struct {
	// Runs counts the sidecars.
	Runs int `json:"runs"`
	// Passed counts the passing ones, whose metrics are averaged.
	Passed int `json:"passed"`
	// Failed and Skipped count the others, left out of the averages.
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// Mixed reports that the sidecars' project commits disagree on
	// "-dirty".
	Mixed bool `json:"mixed,omitempty"`
}

// Change is one metric of a row on both sides.
type Change struct {
	// Metric is the metric's name.
	Metric string `json:"metric"`
	// Unit is its unit.
	Unit string `json:"unit,omitempty"`
	// Polarity is its better direction.
	Polarity Polarity `json:"polarity"`
	// A and B are the sides' means over passing runs.
	A float64 `json:"a"`
	B float64 `json:"b"`
	// Delta is B − A.
	Delta float64 `json:"delta"`
	// Rel is |Delta| / |A|; absent when A is zero (any change from zero
	// passes the relative threshold).
	Rel *float64 `json:"rel,omitempty"`
	// Abs and RelThreshold are the thresholds applied.
	AbsThreshold float64 `json:"abs_threshold"`
	RelThreshold float64 `json:"rel_threshold"`
	// Verdict judges the change.
	Verdict Verdict `json:"verdict"`
}

// Row is a pair of A and B sidecars with the same key.
type Row struct {
	// Key identifies the row.
	Key Key `json:"key"`
	// A and B count each side's sidecars.
	A Side `json:"a"`
	B Side `json:"b"`
	// Changes are the compared metrics, registry order first. Unchanged
	// ones are included.
	Changes []Change `json:"changes,omitempty"`
}

// HostDelta is a host context field that differs between the sides.
type HostDelta struct {
	// Field is the name, as sidecar.Host.Fields names it.
	Field string `json:"field"`
	// A and B are the values, "(unknown)" when empty and "(absent)" when
	// one side does not have the field.
	A string `json:"a"`
	B string `json:"b"`
}

// SideInfo summarises one side.
type SideInfo struct {
	// Filter selected the side.
	Filter Filter `json:"filter"`
	// Runs counts the side's sidecars; Passed, Failed and Skipped split
	// them.
	Side
}

// Report is the result of Compare.
type Report struct {
	// Slicing are the dimensions that differ between A and B; Pairing
	// the others, which together with the test name pair rows.
	Slicing []Dim `json:"slicing"`
	Pairing []Dim `json:"pairing"`
	// A and B summarise the sides.
	A SideInfo `json:"a"`
	B SideInfo `json:"b"`
	// Rows are the compared pairs, sorted by key.
	Rows []Row `json:"rows"`
	// NotCompared are pairs where a side had no passing run.
	NotCompared []Row `json:"not_compared,omitempty"`
	// NewInB are keys only B has; RemovedFromA keys only A has.
	NewInB       []Key `json:"new_in_b,omitempty"`
	RemovedFromA []Key `json:"removed_from_a,omitempty"`
	// HostDiff lists the host context fields that differ between the
	// newest sidecar with a host of each side.
	HostDiff []HostDelta `json:"host_diff,omitempty"`
	// Counts of the changes of all rows by verdict.
	Regressions  int `json:"regressions"`
	Improvements int `json:"improvements"`
	Changed      int `json:"changed"`
	Unchanged    int `json:"unchanged"`
}

// ErrRegression is matched (errors.Is) by the error of a comparison that
// found regressions.
var ErrRegression = errors.New("regression")

// RegressionError reports regressions; its text is "N regressions".
type RegressionError struct {
	// N counts the regressions.
	N int
}

// Error implements error.
func (e *RegressionError) Error() string {
	if e.N == 1 {
		return "1 regression"
	}
	return fmt.Sprintf("%d regressions", e.N)
}

// Is matches ErrRegression.
func (e *RegressionError) Is(target error) bool { return target == ErrRegression }

// Err is the comparison's verdict as an error: a *RegressionError when any
// metric regressed, else nil.
func (r *Report) Err() error {
	if r.Regressions > 0 {
		return &RegressionError{N: r.Regressions}
	}
	return nil
}

// ExitCode is 1 when any metric regressed, else 0.
func (r *Report) ExitCode() int {
	if r.Regressions > 0 {
		return 1
	}
	return 0
}

// eps is what counts as zero.
const eps = 1e-12

// Compare selects sides A and B of results, pairs their rows by test name
// and pairing dimensions, averages each side per row over its passing
// sidecars, and judges every metric (statistics under their names, payload
// metrics as PayloadPrefix + name) present on both sides: a change counts
// when |B − A| passes the metric's absolute threshold and |B − A| / |A| its
// relative one, as a regression in the metric's bad direction and an
// improvement in the good one.
func Compare(results []sidecar.Result, opt Options) (*Report, error) {
	rep := &Report{A: SideInfo{Filter: opt.A}, B: SideInfo{Filter: opt.B}}
	for _, d := range Dims {
		if opt.A.key(d) == opt.B.key(d) {
			rep.Pairing = append(rep.Pairing, d)
			continue
		}
		if len(opt.A[d]) == 0 || len(opt.B[d]) == 0 {
			return nil, fmt.Errorf("%s differs between the sides but only one side selects it: give both --a-%s and --b-%s",
				d, flagName(d), flagName(d))
		}
		rep.Slicing = append(rep.Slicing, d)
	}
	if len(rep.Slicing) == 0 {
		return nil, errors.New("sides A and B select the same sidecars: give some dimension a different value per side, e.g. --a-kernel X --b-kernel Y")
	}

	type group struct {
		key  Key
		side Side
		sums map[string]float64
		ns   map[string]int
		// dirty counts commits with and without "-dirty".
		dirty, clean int
	}
	newest := func(hs **sidecar.Result, r *sidecar.Result) {
		if r.Host != nil && (*hs == nil || r.Timestamp.After((*hs).Timestamp)) {
			*hs = r
		}
	}
	collect := func(f Filter, info *SideInfo, host **sidecar.Result) map[string]*group {
		groups := map[string]*group{}
		for i := range results {
			r := &results[i]
			if !f.Match(r) || (opt.Test != "" && !strings.Contains(r.TestName, opt.Test)) {
				continue
			}
			name := pairName(r, rep.Slicing)
			k := Key{Test: name, Dims: map[Dim]string{}}
			var ks strings.Builder
			ks.WriteString(name)
			for _, d := range rep.Pairing {
				v := Value(r, d)
				k.Dims[d] = v
				ks.WriteString("\x00" + v)
			}
			g := groups[ks.String()]
			if g == nil {
				g = &group{key: k, sums: map[string]float64{}, ns: map[string]int{}}
				groups[ks.String()] = g
			}
			g.side.Runs++
			info.Runs++
			newest(host, r)
			if strings.HasSuffix(r.ProjectCommit, "-dirty") {
				g.dirty++
			} else {
				g.clean++
			}
			switch {
			case r.Skipped:
				g.side.Skipped++
				info.Skipped++
				continue
			case !r.Passed:
				g.side.Failed++
				info.Failed++
				continue
			}
			g.side.Passed++
			info.Passed++
			add := func(name string, v float64) {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return
				}
				g.sums[name] += v
				g.ns[name]++
			}
			for name, v := range r.Stats.Overall {
				add(name, v)
			}
			for name, v := range r.PayloadMetrics {
				add(PayloadPrefix+name, v)
			}
		}
		for _, g := range groups {
			g.side.Mixed = g.dirty > 0 && g.clean > 0
		}
		return groups
	}
	var hostA, hostB *sidecar.Result
	ga := collect(opt.A, &rep.A, &hostA)
	gb := collect(opt.B, &rep.B, &hostB)

	for ks, a := range ga {
		b, ok := gb[ks]
		if !ok {
			rep.RemovedFromA = append(rep.RemovedFromA, a.key)
			continue
		}
		row := Row{Key: a.key, A: a.side, B: b.side}
		if a.side.Passed == 0 || b.side.Passed == 0 {
			rep.NotCompared = append(rep.NotCompared, row)
			continue
		}
		var names []string
		for name := range a.ns {
			if b.ns[name] > 0 {
				names = append(names, name)
			}
		}
		sort.Slice(names, func(i, j int) bool { return metricLess(names[i], names[j]) })
		for _, name := range names {
			c, ok := judge(opt.Thresholds.For(name), a.sums[name]/float64(a.ns[name]), b.sums[name]/float64(b.ns[name]))
			if !ok {
				continue
			}
			switch c.Verdict {
			case Regression:
				rep.Regressions++
			case Improvement:
				rep.Improvements++
			case Changed:
				rep.Changed++
			default:
				rep.Unchanged++
			}
			row.Changes = append(row.Changes, c)
		}
		rep.Rows = append(rep.Rows, row)
	}
	for ks, b := range gb {
		if _, ok := ga[ks]; !ok {
			rep.NewInB = append(rep.NewInB, b.key)
		}
	}
	sortRows(rep.Rows)
	sortRows(rep.NotCompared)
	sortKeys(rep.NewInB)
	sortKeys(rep.RemovedFromA)

	var ha, hb *sidecar.Host
	if hostA != nil {
		ha = hostA.Host
	}
	if hostB != nil {
		hb = hostB.Host
	}
	rep.HostDiff = HostDiff(ha, hb)
	return rep, nil
}

// judge compares one metric; false when both sides are zero.
func judge(m Metric, a, b float64) (Change, bool) {
	if math.Abs(a) < eps && math.Abs(b) < eps {
		return Change{}, false
	}
	c := Change{
		Metric: m.Name, Unit: m.Unit, Polarity: m.Polarity,
		A: a, B: b, Delta: b - a,
		AbsThreshold: m.Abs, RelThreshold: m.Rel,
		Verdict: Unchanged,
	}
	rel := math.Inf(1)
	if math.Abs(a) >= eps {
		rel = math.Abs(c.Delta) / math.Abs(a)
		c.Rel = &rel
	}
	// A relative tolerance keeps float noise from deciding a change
	// exactly at a threshold.
	const tol = 1e-9
	significant := math.Abs(c.Delta) >= eps &&
		math.Abs(c.Delta) >= m.Abs*(1-tol) &&
		rel >= m.Rel*(1-tol)
	if !significant {
		return c, true
	}
	switch {
	case m.Polarity == Unknown:
		c.Verdict = Changed
	case (m.Polarity == LowerBetter) == (c.Delta > 0):
		c.Verdict = Regression
	default:
		c.Verdict = Improvement
	}
	return c, true
}

// HostDiff lists the fields of two host contexts that differ, in a's
// field order followed by fields only b has. A nil host differs from a
// recorded one in a single "host" field.
func HostDiff(a, b *sidecar.Host) []HostDelta {
	if a == nil && b == nil {
		return nil
	}
	if a == nil || b == nil {
		d := HostDelta{Field: "host", A: "(absent)", B: "(absent)"}
		if a != nil {
			d.A = "recorded"
		} else {
			d.B = "recorded"
		}
		return []HostDelta{d}
	}
	show := func(v string) string {
		if v == "" {
			return "(unknown)"
		}
		return v
	}
	fa, fb := a.Fields(), b.Fields()
	bv := make(map[string]string, len(fb))
	for _, f := range fb {
		bv[f.Name] = f.Value
	}
	seen := map[string]bool{}
	var out []HostDelta
	for _, f := range fa {
		seen[f.Name] = true
		v, ok := bv[f.Name]
		switch {
		case !ok:
			out = append(out, HostDelta{f.Name, show(f.Value), "(absent)"})
		case v != f.Value:
			out = append(out, HostDelta{f.Name, show(f.Value), show(v)})
		}
	}
	for _, f := range fb {
		if !seen[f.Name] {
			out = append(out, HostDelta{f.Name, "(absent)", show(f.Value)})
		}
	}
	return out
}

func sortRows(rows []Row) {
	sort.Slice(rows, func(i, j int) bool { return rows[i].Key.String() < rows[j].Key.String() })
}

func sortKeys(keys []Key) {
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
}

// flagName is the command-line spelling of a dimension.
func flagName(d Dim) string { return strings.ReplaceAll(string(d), "_", "-") }

// FlagName returns the command-line spelling of a dimension ("work-type"
// for DimWorkType); the per-side flags are --a-<name> and --b-<name>.
func FlagName(d Dim) string { return flagName(d) }

// pairName is the test name rows pair by. A gauntlet variant's name ends
// in its flag profile ("TestX/gauntlet/tiny-1llc/short-slice"); when the
// sides are sliced by flags that segment becomes "{flags}", so each
// profile pairs with the other side's on the same preset.
func pairName(r *sidecar.Result, slicing []Dim) string {
	name := r.TestName
	// A run across kernels names each variant by its kernel too; sliced
	// by kernel, that element is what the sides differ in.
	if r.KernelLabel != "" && slices.Contains(slicing, DimKernel) {
		if base, ok := strings.CutSuffix(name, "/"+r.KernelLabel); ok {
			name = base + "/{kernel}"
		}
	}
	if !slices.Contains(slicing, DimFlags) {
		return name
	}
	profile := "default"
	if len(r.Flags) > 0 {
		profile = strings.Join(r.Flags, "+")
	}
	if base, ok := strings.CutSuffix(name, "/"+profile); ok && strings.Contains(base, "/gauntlet/") {
		return base + "/{flags}"
	}
	if base, ok := strings.CutSuffix(name, "/"+profile+"/{kernel}"); ok && strings.Contains(base, "/gauntlet/") {
		return base + "/{flags}/{kernel}"
	}
	return name
}
