package gauntlet

import (
	"slices"
	"strings"
	"testing"
)

var catalog = []Flag{
	{Name: "llc", Args: []string{"--llc"}},
	{Name: "borrow", Args: []string{"--borrow"}},
	{Name: "steal", Args: []string{"--steal", "2"}, Requires: []string{"llc"}},
	{Name: "rebal"},
	{Name: "reject-pin", Args: []string{"--reject-pin"}},
	{Name: "no-ctrl"},
}

func profileNames(ps []Profile) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name())
	}
	return out
}

func TestProfilesReferenceExample(t *testing.T) {
	// 2^6 = 64 subsets; steal without llc is 2^4 = 16 of them: 48 remain.
	ps, err := Profiles(catalog, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 48 {
		t.Fatalf("%d profiles, want 48", len(ps))
	}
	// Binary counting, first declared flag least significant; 4 (steal
	// alone) and 6 (borrow+steal) are skipped.
	if got, want := profileNames(ps[:7]), []string{"default", "llc", "borrow", "llc+borrow", "llc+steal", "llc+borrow+steal", "rebal"}; !slices.Equal(got, want) {
		t.Errorf("first profiles %v, want %v", got, want)
	}
	if last := ps[47].Name(); last != "llc+borrow+steal+rebal+reject-pin+no-ctrl" {
		t.Errorf("last profile %q", last)
	}
	seen := map[string]bool{}
	for _, p := range ps {
		if seen[p.Name()] {
			t.Errorf("duplicate %s", p.Name())
		}
		seen[p.Name()] = true
		if p.Has("steal") && !p.Has("llc") {
			t.Errorf("%s has steal without llc", p.Name())
		}
	}
	if got, want := ps[5].Args(), []string{"--llc", "--borrow", "--steal", "2"}; !slices.Equal(got, want) {
		t.Errorf("%s args %q, want %q", ps[5].Name(), got, want)
	}
	if args := ps[0].Args(); len(args) != 0 {
		t.Errorf("default args %q", args)
	}
	ps[5].Args()[0] = "mutated"
	if ps[5].Args()[0] != "--llc" {
		t.Error("Args exposes the profile's own slice")
	}
}

func TestProfilesRequiredExcluded(t *testing.T) {
	// llc required: any subset of the other five (steal's need is met): 32.
	ps, err := Profiles(catalog, []string{"llc"}, nil)
	if err != nil || len(ps) != 32 {
		t.Fatalf("required llc: %d profiles, %v; want 32", len(ps), err)
	}
	if ps[0].Name() != "llc" {
		t.Errorf("first profile %q, want llc", ps[0].Name())
	}
	for _, p := range ps {
		if !p.Has("llc") {
			t.Errorf("%s lacks required llc", p.Name())
		}
	}
	// llc excluded: steal can never be on; 2^4 subsets of the rest: 16.
	ps, err = Profiles(catalog, nil, []string{"llc"})
	if err != nil || len(ps) != 16 {
		t.Fatalf("excluded llc: %d profiles, %v; want 16", len(ps), err)
	}
	for _, p := range ps {
		if p.Has("llc") || p.Has("steal") {
			t.Errorf("%s has llc or steal", p.Name())
		}
	}
	// steal required pulls llc in: 2^4 subsets of borrow, rebal, reject-pin,
	// no-ctrl, all with llc+steal.
	ps, err = Profiles(catalog, []string{"steal"}, []string{"no-ctrl", "rebal"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := profileNames(ps), []string{"llc+steal", "llc+borrow+steal", "llc+steal+reject-pin", "llc+borrow+steal+reject-pin"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// Everything required: the single full profile.
	ps, err = Profiles(catalog, []string{"llc", "borrow", "steal", "rebal", "reject-pin", "no-ctrl"}, nil)
	if err != nil || len(ps) != 1 {
		t.Errorf("all required: %v, %v", profileNames(ps), err)
	}
}

func TestProfilesRequiresChain(t *testing.T) {
	chain := []Flag{{Name: "a"}, {Name: "b", Requires: []string{"a"}}, {Name: "c", Requires: []string{"b"}}, {Name: "d"}}
	// Closed subsets of a←b←c: {}, {a}, {a,b}, {a,b,c} (masks 0,1,3,7), each
	// with or without d (mask +8).
	ps, err := Profiles(chain, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"default", "a", "a+b", "a+b+c", "d", "a+d", "a+b+d", "a+b+c+d"}
	if got := profileNames(ps); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// c required: a and b come along only because the sets must be closed.
	ps, err = Profiles(chain, []string{"c"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := profileNames(ps), []string{"a+b+c", "a+b+c+d"}; !slices.Equal(got, want) {
		t.Errorf("c required: %v, want %v", got, want)
	}
	// c required but a excluded: nothing can satisfy it.
	if _, err := Profiles(chain, []string{"c"}, []string{"a"}); err == nil || !strings.Contains(err.Error(), "no flag profile") {
		t.Errorf("c required, a excluded: %v", err)
	}
	// Mutual requirement: only both or neither.
	mutual := []Flag{{Name: "x", Requires: []string{"y"}}, {Name: "y", Requires: []string{"x"}}}
	ps, _ = Profiles(mutual, nil, nil)
	if got, want := profileNames(ps), []string{"default", "x+y"}; !slices.Equal(got, want) {
		t.Errorf("mutual: %v, want %v", got, want)
	}
}

func TestProfilesNoFlags(t *testing.T) {
	ps, err := Profiles(nil, nil, nil)
	if err != nil || len(ps) != 1 || ps[0].Name() != "default" {
		t.Errorf("no flags: %v, %v", profileNames(ps), err)
	}
}

func TestProfilesErrors(t *testing.T) {
	many := func(n int) []Flag {
		var fs []Flag
		for i := range n {
			fs = append(fs, Flag{Name: "f" + string(rune('a'+i))})
		}
		return fs
	}
	for _, tc := range []struct {
		name               string
		flags              []Flag
		required, excluded []string
		want               string
	}{
		{"unknown required", catalog, []string{"llcc"}, nil, `required flag "llcc" is not a declared flag`},
		{"unknown excluded", catalog, nil, []string{"x"}, `excluded flag "x" is not a declared flag`},
		{"both", catalog, []string{"rebal"}, []string{"rebal"}, `"rebal" is both required and excluded`},
		{"17 optional", many(17), nil, nil, "17 optional flags"},
		{"duplicate", []Flag{{Name: "a"}, {Name: "a"}}, nil, nil, "declared twice"},
		{"plus", []Flag{{Name: "a+b"}}, nil, nil, "contains '+'"},
		{"slash", []Flag{{Name: "a/b"}}, nil, nil, "contains '+', '/'"},
		{"empty", []Flag{{}}, nil, nil, "empty name"},
		{"default", []Flag{{Name: "default"}}, nil, nil, "reserved"},
		{"requires unknown", []Flag{{Name: "a", Requires: []string{"z"}}}, nil, nil, `requires "z", which is not a declared flag`},
		{"required needs excluded", catalog, []string{"steal"}, []string{"llc"}, "no flag profile"},
	} {
		_, err := Profiles(tc.flags, tc.required, tc.excluded)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// 17 declared with one excluded is 16 optional: allowed, 2^16 profiles.
	ps, err := Profiles(many(17), nil, []string{"fa"})
	if err != nil || len(ps) != 1<<16 {
		t.Errorf("16 optional: %d profiles, %v", len(ps), err)
	}
}

func TestHandBuiltProfile(t *testing.T) {
	p := Profile{Flags: []string{"llc", "steal"}}
	if p.Name() != "llc+steal" || !p.Has("steal") || p.Has("borrow") || len(p.Args()) != 0 {
		t.Errorf("hand-built profile: %q %q", p.Name(), p.Args())
	}
	if (Profile{}).Name() != "default" {
		t.Error("empty profile not named default")
	}
}
