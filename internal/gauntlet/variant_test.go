package gauntlet

import (
	"slices"
	"testing"
	"time"
)

func mustPreset(t *testing.T, name string) Preset {
	t.Helper()
	p, ok := PresetByName(name)
	if !ok {
		t.Fatalf("no preset %q", name)
	}
	return p
}

func TestVariantNames(t *testing.T) {
	tiny := mustPreset(t, "tiny-1llc")
	for _, tc := range []struct {
		v    Variant
		want string
	}{
		{Variant{Test: "TestX", Preset: Preset{Nodes: 1, LLCs: 2, Cores: 2, Threads: 1}}, "TestX"},
		{Variant{Test: "TestX", Kernel: "7.3.4+deb13-amd64"}, "TestX/7.3.4_deb13-amd64"},
		{Variant{Test: "TestX", Gauntlet: true, Preset: tiny}, "TestX/gauntlet/tiny-1llc/default"},
		{Variant{Test: "TestX", Gauntlet: true, Preset: tiny, Profile: Profile{Flags: []string{"llc", "steal"}}, Kernel: "6.14.2"},
			"TestX/gauntlet/tiny-1llc/llc+steal/6.14.2"},
		// A base variant ignores any profile it carries.
		{Variant{Test: "TestX", Profile: Profile{Flags: []string{"llc"}}}, "TestX"},
	} {
		if got := tc.v.Name(); got != tc.want {
			t.Errorf("Name() = %q, want %q", got, tc.want)
		}
	}
}

func TestKernelLabel(t *testing.T) {
	for in, want := range map[string]string{
		"6.14.2":                         "6.14.2",
		"7.3.4+deb13-amd64":              "7.3.4_deb13-amd64",
		"/boot/vmlinuz-6.12":             "boot_vmlinuz-6.12",
		"git+https://x/y.git#main":       "git_https_x_y.git_main",
		"kernel_6_15_rc3":                "kernel_6_15_rc3",
		"a  b//c":                        "a_b_c",
		"":                               "kernel",
		"///":                            "kernel",
		"ünïcode 7":                      "n_code_7",
		"path with\ttab and \x00control": "path_with_tab_and_control",
	} {
		if got := KernelLabel(in); got != want {
			t.Errorf("KernelLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExpand(t *testing.T) {
	base := Variant{Test: "TestX", Scheduler: "scx_simple", Duration: 3 * time.Second, Workers: 4, RequiredFlags: []string{"llc"}}
	presets := []Preset{mustPreset(t, "tiny-1llc"), mustPreset(t, "smt-2llc")}
	profiles, err := Profiles([]Flag{{Name: "llc"}, {Name: "steal", Requires: []string{"llc"}}, {Name: "borrow"}}, []string{"llc"}, []string{"borrow"})
	if err != nil {
		t.Fatal(err) // llc, llc+steal
	}
	vs, err := Expand(base, presets, profiles, []string{"6.14", "7.3.4+deb13"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.Name())
		if !v.Gauntlet || v.Scheduler != "scx_simple" || v.Workers != 4 || v.Duration != 3*time.Second {
			t.Errorf("%s lost base fields: %+v", v.Name(), v)
		}
	}
	want := []string{
		"TestX/gauntlet/tiny-1llc/llc/6.14", "TestX/gauntlet/tiny-1llc/llc/7.3.4_deb13",
		"TestX/gauntlet/tiny-1llc/llc+steal/6.14", "TestX/gauntlet/tiny-1llc/llc+steal/7.3.4_deb13",
		"TestX/gauntlet/smt-2llc/llc/6.14", "TestX/gauntlet/smt-2llc/llc/7.3.4_deb13",
		"TestX/gauntlet/smt-2llc/llc+steal/6.14", "TestX/gauntlet/smt-2llc/llc+steal/7.3.4_deb13",
	}
	if !slices.Equal(got, want) {
		t.Errorf("names\n%q\nwant\n%q", got, want)
	}
	// Variants do not share slices with each other or with base.
	vs[0].RequiredFlags[0] = "mutated"
	vs[0].Profile.Flags[0] = "mutated"
	if base.RequiredFlags[0] != "llc" || vs[1].RequiredFlags[0] != "llc" || vs[1].Profile.Flags[0] != "llc" || profiles[0].Flags[0] != "llc" {
		t.Error("Expand aliases slices")
	}
	if got := vs[3].Profile.Args(); len(got) != 0 {
		t.Errorf("args %q", got)
	}

	// Without kernels: presets × profiles, kernel from base.
	vs, _ = Expand(Variant{Test: "T"}, presets, profiles, nil)
	if len(vs) != 4 || vs[0].Name() != "T/gauntlet/tiny-1llc/llc" {
		t.Errorf("no kernels: %d variants, first %q", len(vs), vs[0].Name())
	}
	if vs, _ := Expand(Variant{Test: "T"}, nil, profiles, nil); len(vs) != 0 {
		t.Errorf("no presets gave %d variants", len(vs))
	}
}

func TestExpandErrors(t *testing.T) {
	tiny := mustPreset(t, "tiny-1llc")
	def := []Profile{{}}
	for name, f := range map[string]func() error{
		"kernels label alike": func() error {
			_, err := Expand(Variant{Test: "T"}, []Preset{tiny}, def, []string{"a+b", "a_b"})
			return err
		},
		"duplicate preset": func() error { _, err := Expand(Variant{Test: "T"}, []Preset{tiny, tiny}, def, nil); return err },
		"unnamed preset": func() error {
			_, err := Expand(Variant{Test: "T"}, []Preset{{Nodes: 1, LLCs: 1, Cores: 1, Threads: 1}}, def, nil)
			return err
		},
		"slash in preset":   func() error { _, err := Expand(Variant{Test: "T"}, []Preset{{Name: "a/b"}}, def, nil); return err },
		"duplicate profile": func() error { _, err := Expand(Variant{Test: "T"}, []Preset{tiny}, []Profile{{}, {}}, nil); return err },
		"per-kernel alike":  func() error { _, err := PerKernel(Variant{Test: "T"}, []string{"x/y", "x y"}); return err },
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPerKernel(t *testing.T) {
	vs, err := PerKernel(Variant{Test: "TestX"}, []string{"6.14", "7.3"})
	if err != nil || len(vs) != 2 || vs[0].Name() != "TestX/6.14" || vs[1].Name() != "TestX/7.3" || vs[0].Gauntlet {
		t.Errorf("PerKernel = %+v, %v", vs, err)
	}
	vs, _ = PerKernel(Variant{Test: "TestX"}, nil)
	if len(vs) != 1 || vs[0].Name() != "TestX" {
		t.Errorf("PerKernel without kernels = %+v", vs)
	}
}

func TestEffectiveDefaults(t *testing.T) {
	var v Variant
	if v.EffectiveDuration() != 2*time.Second || v.EffectiveWorkers() != 2 {
		t.Errorf("defaults %v %d", v.EffectiveDuration(), v.EffectiveWorkers())
	}
	v = Variant{Duration: time.Second, Workers: 5}
	if v.EffectiveDuration() != time.Second || v.EffectiveWorkers() != 5 {
		t.Errorf("set values %v %d", v.EffectiveDuration(), v.EffectiveWorkers())
	}
}
