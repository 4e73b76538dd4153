package stats

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/ktstr-go/ktstr/sidecar"
)

// Dim is a dimension sidecars are selected and paired by.
type Dim string

// The dimensions.
const (
	DimKernel       Dim = "kernel"        // kernel version
	DimCommit       Dim = "commit"        // project commit
	DimKernelCommit Dim = "kernel_commit" // kernel source commit
	DimScheduler    Dim = "scheduler"
	DimTopology     Dim = "topology"
	DimWorkType     Dim = "work_type"
	DimFlags        Dim = "flags" // the flag set, sorted, comma-separated
	DimSource       Dim = "source"
)

// Dims lists the dimensions in display order.
var Dims = []Dim{DimKernel, DimCommit, DimKernelCommit, DimScheduler, DimTopology, DimWorkType, DimFlags, DimSource}

// None is how an empty (unknown) value is shown and matched.
const None = "-"

// Value returns r's value of d, None when empty. Flags are sorted and
// joined with ','.
func Value(r *sidecar.Result, d Dim) string {
	var v string
	switch d {
	case DimKernel:
		v = r.KernelVersion
	case DimCommit:
		v = r.ProjectCommit
	case DimKernelCommit:
		v = r.KernelCommit
	case DimScheduler:
		v = r.Scheduler
	case DimTopology:
		v = r.Topology
	case DimWorkType:
		v = r.WorkType
	case DimFlags:
		v = normFlags(strings.Join(r.Flags, ","))
	case DimSource:
		v = r.RunSource
	}
	if v == "" {
		return None
	}
	return v
}

// normFlags sorts a comma-separated flag set, dropping empty entries; ""
// and "none" are the empty set.
func normFlags(s string) string {
	if s == None || s == "none" {
		return ""
	}
	var fs []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			fs = append(fs, f)
		}
	}
	sort.Strings(fs)
	return strings.Join(slices.Compact(fs), ",")
}

// Filter selects sidecars: for each dimension given, the value must match
// one of the listed ones. Values match exactly, except:
//   - kernel: a version prefix matches at a component boundary ("6.12"
//     matches "6.12.3" and "6.12-rc1", not "6.120");
//   - commit, kernel_commit: a prefix of at least 4 characters matches
//     ("abc1234" matches "abc1234-dirty"), and a longer hash matches the
//     7-digit label it starts with;
//   - flags: the value is a flag set, order free ("b,a" = "a,b"), "none"
//     the empty one;
//   - "-" matches an empty (unknown) value.
type Filter map[Dim][]string

// Match reports whether r passes f.
func (f Filter) Match(r *sidecar.Result) bool {
	for d, want := range f {
		if len(want) == 0 {
			continue
		}
		v := Value(r, d)
		if !slices.ContainsFunc(want, func(w string) bool { return matchValue(d, w, v) }) {
			return false
		}
	}
	return true
}

// matchValue reports whether the filter value w matches the value v of d.
func matchValue(d Dim, w, v string) bool {
	w = strings.TrimSpace(w)
	if w == v {
		return true
	}
	switch d {
	case DimFlags:
		nw, nv := normFlags(w), normFlags(v)
		return nw == nv
	case DimKernel:
		if v == None || !strings.HasPrefix(v, w) {
			return false
		}
		next := v[len(w)]
		return next < '0' || next > '9'
	case DimCommit, DimKernelCommit:
		if v == None || w == None {
			return false
		}
		if len(w) >= 4 && strings.HasPrefix(v, w) {
			return true
		}
		hex, _, _ := strings.Cut(v, "-")
		return len(hex) >= 7 && len(w) > len(hex) && strings.HasPrefix(w, hex)
	}
	return false
}

// key returns the filter's values of d in a canonical form, for telling
// whether two filters select the same along d.
func (f Filter) key(d Dim) string {
	vs := make([]string, 0, len(f[d]))
	for _, v := range f[d] {
		v = strings.TrimSpace(v)
		if d == DimFlags {
			v = normFlags(v)
		}
		vs = append(vs, v)
	}
	sort.Strings(vs)
	return strings.Join(slices.Compact(vs), "\x00")
}

// String shows the filter as "kernel=6.14|6.15 scheduler=scx_simple".
func (f Filter) String() string {
	var parts []string
	for _, d := range Dims {
		if len(f[d]) > 0 {
			parts = append(parts, fmt.Sprintf("%s=%s", d, strings.Join(f[d], "|")))
		}
	}
	if len(parts) == 0 {
		return "(all)"
	}
	return strings.Join(parts, " ")
}

// Values returns the distinct values of every dimension over results,
// sorted, None for empty ones.
func Values(results []sidecar.Result) map[Dim][]string {
	out := make(map[Dim][]string, len(Dims))
	for _, d := range Dims {
		seen := map[string]bool{}
		vs := []string{}
		for i := range results {
			v := Value(&results[i], d)
			if !seen[v] {
				seen[v] = true
				vs = append(vs, v)
			}
		}
		sort.Strings(vs)
		out[d] = vs
	}
	return out
}
