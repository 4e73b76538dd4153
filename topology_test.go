package ktstr

// Pure host-side tests: no VM, no kernel. They run under ktstr_test.go's
// TestMain like every test of the package; select them with
//
//	go test -run 'Test(Topology|Parse|Spec|Memory|Timeouts|ExactRun|Scheduler|Constraints|Gauntlet)' .

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/vm"
)

func TestTopologyValidate(t *testing.T) {
	tests := []struct {
		topo Topology
		want []string // in the error; nil for a valid topology
	}{
		{Topo(1, 1, 1, 1), nil},
		{Topo(1, 1, 2, 1), nil},
		{Topo(1, 2, 2, 2), nil},
		{Topo(2, 2, 2, 1), nil},
		{Topo(4, 8, 4, 1), nil},
		{Topo(3, 6, 1, 1), nil},
		{Topo(1, 9, 16, 2), nil}, // 288 CPUs: the most q35 takes

		{Topology{}, []string{"topology 0n0l0c0t", "NUMA nodes is 0", "every field must be at least 1", "Topo(1, 2, 2, 1)"}},
		{Topo(1, 0, 2, 1), []string{"LLCs is 0", "at least 1"}},
		{Topo(1, 1, 0, 1), []string{"cores per LLC is 0"}},
		{Topo(1, 1, 2, 0), []string{"threads per core is 0"}},
		{Topo(-1, 1, 2, 1), []string{"NUMA nodes is -1"}},
		// The error says what to change, not only what is wrong.
		{Topo(2, 3, 2, 1), []string{"topology 2n3l2c1t", "3 LLCs cannot be spread evenly over 2 NUMA nodes", "make LLCs a multiple of the node count"}},
		{Topo(4, 2, 2, 1), []string{"2 LLCs cannot be spread evenly over 4 NUMA nodes"}},
		{Topo(1, 1, 2, 3), []string{"3 threads per core", "1 or 2"}},
		{Topo(1, 1, 1, 4), []string{"4 threads per core"}},
		{Topo(1, 10, 15, 2), []string{"300 CPUs, more than the 288"}},
		{Topo(2, 2, 145, 1), []string{"290 CPUs"}},
	}
	for _, tt := range tests {
		err := tt.topo.Validate()
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.topo, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error, want one about %q", tt.topo, tt.want)
			continue
		}
		for _, s := range tt.want {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q lacks %q", tt.topo, err, s)
			}
		}
	}
}

func TestTopologyString(t *testing.T) {
	tests := []struct {
		topo  Topology
		label string
		cpus  int
	}{
		{Topo(1, 1, 2, 1), "1n1l2c1t", 2},
		{Topo(1, 2, 2, 2), "1n2l2c2t", 8},
		{Topo(2, 2, 2, 1), "2n2l2c1t", 4},
		{Topo(4, 8, 4, 1), "4n8l4c1t", 32},
		{Topo(1, 9, 16, 2), "1n9l16c2t", 288},
		{Topology{NUMANodes: 2, LLCs: 4, CoresPerLLC: 3, ThreadsPerCore: 2}, "2n4l3c2t", 24},
	}
	for _, tt := range tests {
		if got := tt.topo.String(); got != tt.label {
			t.Errorf("%+v.String() = %q, want %q", tt.topo, got, tt.label)
		}
		if got := tt.topo.CPUs(); got != tt.cpus {
			t.Errorf("%s.CPUs() = %d, want %d", tt.label, got, tt.cpus)
		}
	}
}

// TestParseTopology checks that labels parse back to the topology whose
// String they are.
func TestParseTopology(t *testing.T) {
	for _, label := range []string{"1n1l1c1t", "1n1l2c1t", "1n2l2c2t", "2n2l2c1t", "2n4l2c1t", "4n8l4c1t", "1n9l16c2t", "3n12l10c2t"} {
		topo, err := ParseTopology(label)
		if err != nil {
			t.Errorf("ParseTopology(%q): %v", label, err)
			continue
		}
		if got := topo.String(); got != label {
			t.Errorf("ParseTopology(%q).String() = %q", label, got)
		}
	}
	if got, err := ParseTopology("2n4l3c2t"); err != nil || got != Topo(2, 4, 3, 2) {
		t.Errorf("ParseTopology(2n4l3c2t) = %+v, %v; want %+v", got, err, Topo(2, 4, 3, 2))
	}
}

func TestParseTopologyErrors(t *testing.T) {
	const format = "want {nodes}n{llcs}l{cores}c{threads}t"
	tests := []struct {
		label string
		want  string // in the error
	}{
		{"", format},
		{"1n2l2c", format},
		{"1n2l2c1", format},
		{"n2l2c1t", format},
		{"1n2l2c1tt", format},
		{" 1n2l2c1t", format},
		{"1n2l2c1t\n", format},
		{"1N2L2C1T", format},
		{"1n-2l2c1t", format},
		{"1x2l2c1t", format},
		{"1n2l2c1t/2n2l2c1t", format},
		{"TestX/1n2l2c1t", format},
		// Well-formed labels of invalid topologies fail validation.
		{"0n1l1c1t", "at least 1"},
		{"2n3l1c1t", "make LLCs a multiple of the node count"},
		{"1n1l1c3t", "1 or 2"},
		{"1n10l15c2t", "more than the 288"},
	}
	for _, tt := range tests {
		_, err := ParseTopology(tt.label)
		if err == nil {
			t.Errorf("ParseTopology(%q): no error", tt.label)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseTopology(%q) error %q lacks %q", tt.label, err, tt.want)
		}
	}
}

func TestSpecTopologies(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want []Topology
	}{
		{"default", Spec{}, []Topology{Topo(1, 1, 2, 1)}},
		{"Topology", Spec{Topology: Topo(2, 2, 2, 1)}, []Topology{Topo(2, 2, 2, 1)}},
		{"Topologies", Spec{Topologies: []Topology{Topo(1, 1, 2, 1), Topo(1, 2, 2, 2)}}, []Topology{Topo(1, 1, 2, 1), Topo(1, 2, 2, 2)}},
		{"Topologies win over Topology", Spec{Topology: Topo(4, 8, 4, 1), Topologies: []Topology{Topo(2, 2, 2, 1)}}, []Topology{Topo(2, 2, 2, 1)}},
		// A partly set Topology is kept, so that Validate reports it
		// rather than it silently becoming the default.
		{"partial Topology", Spec{Topology: Topology{LLCs: 2}}, []Topology{{LLCs: 2}}},
		{"the scheduler's default", Spec{Scheduler: Scheduler{Path: "x", Topology: Topo(1, 2, 1, 2)}}, []Topology{Topo(1, 2, 1, 2)}},
		{"Topology wins over the scheduler's", Spec{Topology: Topo(1, 1, 4, 1), Scheduler: Scheduler{Path: "x", Topology: Topo(1, 2, 1, 2)}}, []Topology{Topo(1, 1, 4, 1)}},
		{"Topologies win over the scheduler's", Spec{Topologies: []Topology{Topo(2, 2, 1, 1)}, Scheduler: Scheduler{Path: "x", Topology: Topo(1, 2, 1, 2)}}, []Topology{Topo(2, 2, 1, 1)}},
	}
	for _, tt := range tests {
		if got := tt.spec.topologies(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: topologies() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSpecDuration(t *testing.T) {
	for _, tt := range []struct{ in, want time.Duration }{
		{0, 2 * time.Second},
		{-time.Second, 2 * time.Second},
		{time.Millisecond, time.Millisecond},
		{10 * time.Second, 10 * time.Second},
	} {
		if got := (Spec{Duration: tt.in}).duration(); got != tt.want {
			t.Errorf("Spec{Duration: %v}.duration() = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string // in the error; "" for a valid spec
	}{
		{"zero", Spec{}, ""},
		{"full", Spec{Topologies: []Topology{Topo(1, 2, 2, 2), Topo(2, 2, 2, 1)}, Scheduler: SchedExt("/bin/scx_simple"), Duration: time.Second, Timeout: time.Minute, MemoryMB: 1024}, ""},
		{"bad Topology", Spec{Topology: Topo(2, 3, 1, 1)}, "make LLCs a multiple"},
		{"one bad of Topologies", Spec{Topologies: []Topology{Topo(1, 1, 2, 1), Topo(1, 1, 2, 3)}}, "3 threads per core"},
		{"negative Duration", Spec{Duration: -time.Second}, "negative Duration"},
		{"negative Timeout", Spec{Timeout: -time.Second}, "negative"},
		{"negative MemoryMB", Spec{MemoryMB: -1}, "negative"},
		{"bad Scheduler", Spec{Scheduler: Scheduler{Args: []string{"-v"}}}, "no Path"},
		{"within the scheduler's constraints", Spec{Topology: Topo(1, 2, 1, 2), Scheduler: Scheduler{Path: "x", Constraints: Constraints{MinLLCs: 2, RequiresSMT: true}}}, ""},
		{"below the scheduler's minimum", Spec{Topology: Topo(1, 1, 2, 2), Scheduler: Scheduler{Path: "x", Constraints: Constraints{MinLLCs: 2}}},
			"topology 1n1l2c2t is outside what scheduler x can run on: 1 LLCs, below the scheduler's minimum of 2"},
		{"no SMT for a scheduler that needs it", Spec{Topologies: []Topology{Topo(1, 1, 2, 2), Topo(1, 2, 2, 1)}, Scheduler: Scheduler{Path: "x", Constraints: Constraints{RequiresSMT: true}}},
			"topology 1n2l2c1t is outside what scheduler x can run on: 1 thread per core, and the scheduler requires SMT"},
		{"above the scheduler's CPUs", Spec{Topology: Topo(1, 2, 4, 2), Scheduler: Scheduler{Path: "x", Constraints: Constraints{MaxCPUs: 8}}}, "16 CPUs, above the scheduler's maximum of 8"},
		{"the scheduler's default topology is checked too", Spec{Scheduler: Scheduler{Path: "x", Topology: Topo(2, 2, 1, 1), Constraints: Constraints{MaxNodes: 1}}}, "2 NUMA nodes, above the scheduler's maximum of 1"},
		// The gauntlet's default of one NUMA node is not a constraint of
		// the scheduler's: a test may name a 2-node topology.
		{"gauntlet defaults do not bind explicit topologies", Spec{Topology: Topo(2, 2, 1, 1), Scheduler: Scheduler{Path: "x", Constraints: Constraints{MinLLCs: 2}}}, ""},
	}
	for _, tt := range tests {
		err := tt.spec.validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && err == nil:
			t.Errorf("%s: no error, want one with %q", tt.name, tt.want)
		case tt.want != "" && !strings.Contains(err.Error(), tt.want):
			t.Errorf("%s: error %q lacks %q", tt.name, err, tt.want)
		}
	}
}

func TestSchedulerString(t *testing.T) {
	tests := []struct {
		s    Scheduler
		want string
	}{
		{EEVDF, "eevdf"},
		{Scheduler{}, "eevdf"},
		{SchedExt("/usr/bin/scx_simple"), "scx_simple"},
		{SchedExt("scx_lavd", "--performance"), "scx_lavd"},
		{Scheduler{Name: "simple-v2", Path: "/opt/scx/scx_simple"}, "simple-v2"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.s, got, tt.want)
		}
		if got, want := tt.s.IsEEVDF(), tt.want == "eevdf"; got != want {
			t.Errorf("%+v.IsEEVDF() = %v, want %v", tt.s, got, want)
		}
	}
}

func TestSchedulerValidate(t *testing.T) {
	tests := []struct {
		name string
		s    Scheduler
		want []string // in the error; nil when valid
	}{
		{"EEVDF", EEVDF, nil},
		{"sched_ext", SchedExt("/usr/bin/scx_simple", "-v"), nil},
		{"sched_ext with ops and timeout", Scheduler{Path: "/usr/bin/scx_simple", Ops: "simple", AttachTimeout: time.Minute}, nil},
		{"args without path", Scheduler{Args: []string{"--slice-us", "100"}}, []string{"scheduler eevdf", "no Path", "set Path"}},
		{"ops without path", Scheduler{Name: "mine", Ops: "simple"}, []string{"scheduler mine", "no Path"}},
		{"negative attach timeout", Scheduler{Path: "/usr/bin/scx_simple", AttachTimeout: -time.Second}, []string{"scheduler scx_simple", "negative AttachTimeout -1s"}},
		{"files without path", Scheduler{Files: map[string]string{"/etc/a": "a"}}, []string{"no Path"}},
		{"everything", Scheduler{Path: "/usr/bin/scx_central", Files: map[string]string{"/etc/central.toml": "testdata/c.toml", "/opt/data": "testdata"},
			CgroupParent: "/workload/sub", Topology: Topo(1, 2, 2, 1), Constraints: Constraints{MinLLCs: 2, MaxCPUs: 16}}, nil},
		{"relative guest path", Scheduler{Path: "x", Files: map[string]string{"etc/a": "a"}}, []string{"scheduler x: Files: guest path \"etc/a\": want a clean absolute path"}},
		{"unclean guest path", Scheduler{Path: "x", Files: map[string]string{"/etc/../a": "a"}}, []string{"\"/etc/../a\"", "clean absolute"}},
		{"file over init", Scheduler{Path: "x", Files: map[string]string{"/init": "a"}}, []string{"\"/init\"", "the test binary"}},
		{"file in tmp", Scheduler{Path: "x", Files: map[string]string{"/tmp/a.toml": "a"}}, []string{"\"/tmp/a.toml\"", "/tmp is reserved", "use a path under /etc"}},
		{"file in ktstr", Scheduler{Path: "x", Files: map[string]string{"/ktstr": "a"}}, []string{"/ktstr is reserved"}},
		{"relative cgroup parent", Scheduler{Path: "x", CgroupParent: "workload"}, []string{"CgroupParent \"workload\"", "clean absolute cgroup path"}},
		{"root cgroup parent", Scheduler{Path: "x", CgroupParent: "/"}, []string{"CgroupParent \"/\""}},
		{"unclean cgroup parent", Scheduler{Path: "x", CgroupParent: "/a/"}, []string{"CgroupParent \"/a/\""}},
		{"bad default topology", Scheduler{Path: "x", Topology: Topo(1, 3, 1, 1).withNodes(2)}, []string{"scheduler x: Topology: topology 2n3l1c1t"}},
		{"contradictory constraints", Scheduler{Path: "x", Constraints: Constraints{MinLLCs: 4, MaxLLCs: 2}}, []string{"scheduler x: constraints: minimum LLCs 4 is above the maximum 2"}},
	}
	for _, tt := range tests {
		err := tt.s.validate()
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.name, err, w)
			}
		}
	}
}

// withNodes is t with n NUMA nodes, for building invalid topologies.
func (t Topology) withNodes(n int) Topology { t.NUMANodes = n; return t }

// TestConstraintsUnder checks that a test's constraints override its
// scheduler's field by field, and that SMT required by either stays
// required.
func TestConstraintsUnder(t *testing.T) {
	sched := Constraints{MinLLCs: 2, MaxCPUs: 16, RequiresSMT: true}
	test := Constraints{MaxCPUs: 8, MaxNodes: NoLimit}
	want := Constraints{MinLLCs: 2, MaxCPUs: 8, MaxNodes: NoLimit, RequiresSMT: true}
	if got := test.under(sched); got != want {
		t.Errorf("under = %+v, want %+v", got, want)
	}
	if got := (Constraints{}).under(sched); got != sched {
		t.Errorf("zero under = %+v, want the scheduler's %+v", got, sched)
	}
}

// TestGauntletHonoursSchedulerConstraints checks that the gauntlet keeps
// only presets within the scheduler's constraints, and the test's on top.
func TestGauntletHonoursSchedulerConstraints(t *testing.T) {
	t.Setenv(MaxVCPUsEnv, "1024")
	spec := Spec{Scheduler: Scheduler{Path: "x", Constraints: Constraints{MinLLCs: 2, RequiresSMT: true}}}
	kept, _, err := spec.gauntletPresets(vm.TCG)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range kept {
		names = append(names, p.Name)
	}
	// The reference's worked example: min 2 LLCs with SMT keeps six.
	want := []string{"smt-2llc", "smt-3llc", "medium-4llc", "medium-8llc", "large-4llc", "large-8llc"}
	if !slices.Equal(names, want) {
		t.Errorf("presets %v, want %v", names, want)
	}
	spec.Constraints = Constraints{MaxLLCs: 3}
	kept, _, _ = spec.gauntletPresets(vm.TCG)
	names = names[:0]
	for _, p := range kept {
		names = append(names, p.Name)
	}
	if want := []string{"smt-2llc", "smt-3llc"}; !slices.Equal(names, want) {
		t.Errorf("with the test's MaxLLCs 3: presets %v, want %v", names, want)
	}
}

// TestSchedulerArgsOrder checks the order of a variant's scheduler
// arguments (the scheduler's, the test's, the flag profile's) and that
// variants never share the slice: appending for one must not show in
// another.
func TestSchedulerArgsOrder(t *testing.T) {
	base := make([]string, 1, 8) // spare capacity, as an append would leave
	base[0] = "--base"
	spec := Spec{
		Scheduler:     Scheduler{Path: "x", Args: base, Flags: []Flag{{Name: "llc", Args: []string{"--llc"}}, {Name: "steal", Args: []string{"--steal"}, Requires: []string{"llc"}}}},
		SchedulerArgs: []string{"--test"},
	}
	profiles, err := spec.profiles()
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, p := range profiles {
		got = append(got, spec.schedulerArgs(p))
	}
	want := [][]string{{"--base", "--test"}, {"--base", "--test", "--llc"}, {"--base", "--test", "--llc", "--steal"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("args per profile %q, want %q", got, want)
	}
	if err := (Spec{SchedulerArgs: []string{"-v"}}).validate(); err == nil || !strings.Contains(err.Error(), "the scheduler is EEVDF") {
		t.Errorf("SchedulerArgs under EEVDF: error %v", err)
	}
}
