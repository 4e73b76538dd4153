package gauntlet

import (
	"slices"
	"strings"
	"testing"
)

// issuePresets is the preset list exactly as issue 5 gives it.
const issuePresets = `tiny-1llc 1n1l4c1t, tiny-2llc 1n2l2c1t, odd-3llc
1n3l3c1t, odd-5llc 1n5l3c1t, odd-7llc 1n7l2c1t, smt-2llc 1n2l2c2t, smt-3llc 1n3l2c2t, medium-4llc
1n4l4c2t, medium-8llc 1n8l4c2t, large-4llc 1n4l16c2t, large-8llc 1n8l8c2t, near-max-llc
1n15l8c2t, max-cpu 1n14l9c2t, medium-4llc-nosmt 1n4l8c1t, medium-8llc-nosmt 1n8l8c1t,
large-4llc-nosmt 1n4l32c1t, large-8llc-nosmt 1n8l16c1t, near-max-llc-nosmt 1n15l16c1t,
max-cpu-nosmt 1n14l18c1t, numa2-4llc 2n4l4c1t, numa2-8llc 2n8l8c2t, numa2-8llc-nosmt 2n8l16c1t,
numa4-8llc 4n8l4c1t, numa4-12llc 4n12l8c2t`

func TestPresetsMatchIssue(t *testing.T) {
	fields := strings.Fields(strings.ReplaceAll(issuePresets, ",", " "))
	ps := Presets()
	if len(ps) != 24 || len(fields) != 48 {
		t.Fatalf("%d presets, %d issue fields; want 24 and 48", len(ps), len(fields))
	}
	for i, p := range ps {
		if p.Name != fields[2*i] || p.Label() != fields[2*i+1] {
			t.Errorf("preset %d = %s %s, issue says %s %s", i, p.Name, p.Label(), fields[2*i], fields[2*i+1])
		}
		if p.LLCs%p.Nodes != 0 {
			t.Errorf("%s: %d LLCs not divisible over %d nodes", p.Name, p.LLCs, p.Nodes)
		}
		if q, ok := PresetByName(p.Name); !ok || q != p {
			t.Errorf("PresetByName(%q) = %v, %v", p.Name, q, ok)
		}
	}
	// CPU counts and SMT from the reference table (§3.4).
	wantCPUs := []int{4, 4, 9, 15, 14, 8, 12, 32, 64, 128, 128, 240, 252, 32, 64, 128, 128, 240, 252, 16, 128, 128, 32, 192}
	var smt int
	for i, p := range ps {
		if p.CPUs() != wantCPUs[i] {
			t.Errorf("%s: %d CPUs, want %d", p.Name, p.CPUs(), wantCPUs[i])
		}
		if p.SMT() {
			smt++
		}
	}
	if smt != 10 {
		t.Errorf("%d SMT presets, want 10", smt)
	}
	ps[0].Name = "changed"
	if Presets()[0].Name != "tiny-1llc" {
		t.Error("Presets returned the package's own slice")
	}
	if _, ok := PresetByName("nope"); ok {
		t.Error("PresetByName found an unknown preset")
	}
}

func names(ps []Preset) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestFilterDefaults(t *testing.T) {
	// Defaults (max 1 node, 12 LLCs, 192 CPUs) drop near-max-llc* (15 LLCs),
	// max-cpu* (14 LLCs) and the five numa* presets: 24 − 4 − 5 = 15 left.
	kept, dropped := Filter(Presets(), Constraints{}, HostLimit{})
	if len(kept) != 15 || len(dropped) != 9 {
		t.Fatalf("kept %v, dropped %v", names(kept), dropped)
	}
	want := map[string]string{
		"near-max-llc":  "15 LLCs, above the test's maximum of 12",
		"max-cpu-nosmt": "14 LLCs, above the test's maximum of 12",
		"numa2-4llc":    "2 NUMA nodes, above the test's maximum of 1",
		"numa4-12llc":   "4 NUMA nodes, above the test's maximum of 1",
	}
	for _, d := range dropped {
		if w, ok := want[d.Preset.Name]; ok && d.Reason != w {
			t.Errorf("%s dropped for %q, want %q", d.Preset.Name, d.Reason, w)
		}
	}
}

func TestFilterReferenceWorkedExample(t *testing.T) {
	// §3.4: min_llcs 2 + requires_smt keeps 6 of 24.
	kept, _ := Filter(Presets(), Constraints{MinLLCs: 2, RequiresSMT: true}, HostLimit{})
	want := []string{"smt-2llc", "smt-3llc", "medium-4llc", "medium-8llc", "large-4llc", "large-8llc"}
	if !slices.Equal(names(kept), want) {
		t.Errorf("kept %v, want %v", names(kept), want)
	}
}

func TestFilterNoLimit(t *testing.T) {
	c := Constraints{MaxNodes: NoLimit, MaxLLCs: NoLimit, MaxCPUs: -5}
	kept, dropped := Filter(Presets(), c, HostLimit{})
	if len(kept) != 24 || len(dropped) != 0 {
		t.Errorf("unbounded constraints kept %d, dropped %v", len(kept), dropped)
	}
	// Minimums: at least 2 nodes and 100 CPUs.
	kept, _ = Filter(Presets(), Constraints{MinNodes: 2, MaxNodes: NoLimit, MinCPUs: 100, MaxCPUs: NoLimit}, HostLimit{})
	if want := []string{"numa2-8llc", "numa2-8llc-nosmt", "numa4-12llc"}; !slices.Equal(names(kept), want) {
		t.Errorf("kept %v, want %v", names(kept), want)
	}
}

func TestAcceptsReasons(t *testing.T) {
	tiny, _ := PresetByName("tiny-1llc")
	for _, tc := range []struct {
		c    Constraints
		want string
	}{
		{Constraints{RequiresSMT: true}, "1 thread per core, and the test requires SMT"},
		{Constraints{MinCPUs: 8}, "4 CPUs, below the test's minimum of 8"},
		{Constraints{MaxCPUs: 2}, "4 CPUs, above the test's maximum of 2"},
		{Constraints{MinLLCs: 2}, "1 LLCs, below the test's minimum of 2"},
		{Constraints{MinNodes: 2, MaxNodes: 4}, "1 NUMA nodes, below the test's minimum of 2"},
	} {
		ok, why := tc.c.Accepts(tiny)
		if ok || why != tc.want {
			t.Errorf("%+v.Accepts(tiny-1llc) = %v, %q; want false, %q", tc.c, ok, why, tc.want)
		}
	}
	if ok, why := (Constraints{}).Accepts(tiny); !ok || why != "" {
		t.Errorf("default constraints reject tiny-1llc: %q", why)
	}
}

func TestConstraintsValidate(t *testing.T) {
	if err := (Constraints{MinLLCs: 13}).Validate(); err == nil {
		t.Error("min LLCs 13 above the default max 12 passed")
	}
	if err := (Constraints{MinCPUs: 8, MaxCPUs: 4}).Validate(); err == nil {
		t.Error("min CPUs above max passed")
	}
	for _, c := range []Constraints{{}, {MinLLCs: 13, MaxLLCs: NoLimit}, {MinNodes: 2, MaxNodes: 2}} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if e := (Constraints{MaxLLCs: -7}).Effective(); e.MaxLLCs != NoLimit || e.MinLLCs != 1 || e.MaxCPUs != 192 || e.MaxNodes != 1 {
		t.Errorf("Effective = %+v", e)
	}
}

func TestDefaultHostLimit(t *testing.T) {
	// TCG: 1.6 + 0.35·(n−2) ≤ 20 ⇔ n ≤ 2 + 52.57 ⇒ 54 (54: 19.8 s, 55: 20.15 s),
	// whatever the host's core count.
	for _, cpus := range []int{1, 2, 64} {
		if h := DefaultHostLimit(true, cpus); h.MaxCPUs != 54 {
			t.Errorf("TCG, %d host CPUs: limit %d, want 54", cpus, h.MaxCPUs)
		}
	}
	if h := DefaultHostLimit(false, 2); h.MaxCPUs != 2 || h.Basis != "KVM host with 2 CPUs" {
		t.Errorf("KVM, 2 CPUs: %+v", h)
	}
	if h := DefaultHostLimit(false, 0); h.MaxCPUs != 1 {
		t.Errorf("KVM, 0 CPUs: %+v", h)
	}
	// The reference KVM cost, 10 + ⌊(n−16)/10⌋, stays ≤ 12 up to n = 45.
	if h := HostLimitForBoot(ReferenceBootCost, 12); h.MaxCPUs != 45 {
		t.Errorf("HostLimitForBoot(reference, 12) = %d, want 45", h.MaxCPUs)
	}
	if h := HostLimitForBoot(TCGBootCost, 0); h.MaxCPUs != 1 {
		t.Errorf("HostLimitForBoot with a ceiling nothing meets = %d, want 1", h.MaxCPUs)
	}
}

func TestFilterTCGHost(t *testing.T) {
	// Default constraints on TCG: the 15 default presets minus those over 54
	// vCPUs.
	kept, dropped := Filter(Presets(), Constraints{}, DefaultHostLimit(true, 2))
	want := []string{"tiny-1llc", "tiny-2llc", "odd-3llc", "odd-5llc", "odd-7llc", "smt-2llc", "smt-3llc", "medium-4llc", "medium-4llc-nosmt"}
	if !slices.Equal(names(kept), want) {
		t.Errorf("kept %v, want %v", names(kept), want)
	}
	var found bool
	for _, d := range dropped {
		if d.Preset.Name == "medium-8llc" {
			found = true
			if want := "64 vCPUs, above the host limit of 54 (TCG: estimated boot above 20s); set KTSTR_MAX_VCPUS to change it"; d.Reason != want {
				t.Errorf("reason %q, want %q", d.Reason, want)
			}
		}
		if d.Preset.Name == "near-max-llc" && !strings.Contains(d.Reason, "LLCs") {
			t.Errorf("near-max-llc: constraint reason should come first, got %q", d.Reason)
		}
	}
	if !found {
		t.Error("medium-8llc not dropped")
	}
}

func TestResolveHostLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{{"", 54}, {"16", 16}, {" 300 ", 300}, {"unlimited", 0}, {"UNLIMITED", 0}} {
		h, err := ResolveHostLimit(true, 2, tc.in)
		if err != nil || h.MaxCPUs != tc.want {
			t.Errorf("ResolveHostLimit(%q) = %+v, %v; want %d", tc.in, h, err, tc.want)
		}
	}
	for _, bad := range []string{"0", "-1", "abc", "1.5"} {
		if _, err := ResolveHostLimit(true, 2, bad); err == nil {
			t.Errorf("ResolveHostLimit(%q) accepted", bad)
		}
	}
	h, _ := ResolveHostLimit(true, 2, "unlimited")
	if kept, _ := Filter(Presets(), Constraints{MaxNodes: NoLimit, MaxLLCs: NoLimit, MaxCPUs: NoLimit}, h); len(kept) != 24 {
		t.Errorf("unlimited host kept %d", len(kept))
	}
	h, _ = ResolveHostLimit(true, 2, "8")
	kept, _ := Filter(Presets(), Constraints{}, h)
	if want := []string{"tiny-1llc", "tiny-2llc", "smt-2llc"}; !slices.Equal(names(kept), want) {
		t.Errorf("8-vCPU override kept %v, want %v", names(kept), want)
	}
}
