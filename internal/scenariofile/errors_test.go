package scenariofile

import (
	"errors"
	"strings"
	"testing"
)

// doc joins lines into a file: line N is the Nth argument, so that a
// case's expected line numbers can be read off it.
func doc(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

// at is an expected error: its line and a fragment of its message.
type at struct {
	line int
	frag string
}

// expectErrors checks that err holds exactly the errors want, in order,
// each an *Error of file "t.toml".
func expectErrors(t *testing.T, err error, want []at) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", want)
	}
	got := unjoin(err)
	for i, e := range got {
		var fe *Error
		if !errors.As(e, &fe) {
			t.Errorf("error %d is a %T, not an *Error: %v", i+1, e, e)
			continue
		}
		if fe.File != "t.toml" {
			t.Errorf("error %d names file %q", i+1, fe.File)
		}
		if i >= len(want) {
			t.Errorf("unexpected error %d: %v", i+1, e)
			continue
		}
		if fe.Line != want[i].line || !strings.Contains(fe.Msg, want[i].frag) {
			t.Errorf("error %d:\n  %v\nwant line %d containing:\n  %s", i+1, e, want[i].line, want[i].frag)
		}
	}
	if len(got) < len(want) {
		t.Errorf("%d errors, want %d:\n%v", len(got), len(want), err)
	}
}

// header is the start of most cases: a topology and a step that holds.
var header = []string{`topology = "1n2l2c1t"`, `[[step]]`, `hold = "100%"`}

// withHeader returns header's lines, then lines (from line 4).
func withHeader(lines ...string) []byte {
	return doc(append(append([]string{}, header...), lines...)...)
}

// TestParseErrors covers what Parse rejects: every case is a file and the
// errors it must give, with their lines.
func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want []at
	}{
		{"unknown top-level key", doc(`topology = "1n2l2c1t"`, `durration = "4s"`, `[[step]]`, `hold = "1s"`),
			[]at{{2, `unknown key "durration" at the top level (did you mean duration?)`}}},
		{"unknown keys everywhere, all reported", withHeader(
			`hld = "1s"`,
			`[[step.cgroup]]`,
			`name = "cg0"`,
			`work = [{ type = "spin", wrkers = 2 }]`,
			`[[step.op]]`,
			`op = "add-cgroup"`,
			`cgroups = "x"`),
			[]at{
				{4, `unknown key "hld" in a [[step]] (did you mean hold?)`},
				{7, `unknown key "wrkers" in a work group (did you mean workers?)`},
				{10, `unknown key "cgroups" in an op (did you mean cgroup?)`},
			}},
		{"top-level key after a table", withHeader(`duration = "4s"`),
			[]at{{4, `unknown key "duration" in a [[step]] (duration is a top-level key: move it above the first [table] header)`}}},
		{"unknown key far from any", withHeader(`colour = "blue"`),
			[]at{{4, `unknown key "colour" in a [[step]] (keys: name, hold, every, cgroup, op)`}}},
		{"unknown table", doc(`topology = "1n2l2c1t"`, `[[steps]]`, `hold = "1s"`),
			[]at{{2, `unknown key "steps" at the top level (did you mean step?)`}}},
		{"wrong type: number for a duration", doc(`topology = "1n2l2c1t"`, `duration = 4`),
			[]at{{2, `duration: want a duration such as "4s", got an integer`}}},
		{"wrong type: string for a count", withHeader(`[[step.cgroup]]`, `name = "cg0"`, `work = [{ type = "spin", workers = "4" }]`),
			[]at{{6, `step 1: cgroup 1: work 1: workers: want an integer, got a string`}}},
		{"wrong type: table for a list", withHeader(`[[step.cgroup]]`, `name = "cg0"`, `work = { type = "spin" }`),
			[]at{{6, `work: want an array of work groups such as [{ type = "spin", workers = 2 }], got a table`}}},
		{"wrong type: table for array of tables", doc(`topology = "1n2l2c1t"`, `[step]`, `hold = "1s"`),
			[]at{{2, `[step] is one table; write [[step]], a header per element`}}},
		{"syntax error", doc(`topology = "1n2l2c1t"`, `duration = "4s`),
			[]at{{2, `basic strings cannot have new lines`}}},
		{"key defined twice", doc(`topology = "1n2l2c1t"`, `duration = "4s"`, `duration = "5s"`),
			[]at{{3, `key duration is already defined`}}},
		{"cgroup names", withHeader(
			`[[step.cgroup]]`, `name = "a/../b"`,
			`[[step.cgroup]]`, `name = "/abs"`,
			`[[step.cgroup]]`, `name = ""`,
			`[[step.cgroup]]`, `cpuset = "llc:0"`,
			`[[step.op]]`, `op = "add-cgroup"`, `cgroup = "x/.."`),
			[]at{
				{5, `step 1: cgroup "a/../b": cgroup name "a/../b": empty, "." or ".." component`},
				{7, `step 1: cgroup "/abs": cgroup name "/abs": want a relative name`},
				{9, `step 1: cgroup "": empty cgroup name`},
				{10, `step 1: cgroup 4: no name: add name = "cg3"`},
				{14, `step 1: op 1 (add-cgroup): cgroup name "x/..": empty, "." or ".." component`},
			}},
		{"bad cpusets", withHeader(
			`[[step.cgroup]]`, `name = "a"`, `cpuset = "llc:x"`,
			`[[step.cgroup]]`, `name = "b"`, `cpuset = "half"`,
			`[[step.cgroup]]`, `name = "c"`, `cpuset = "overlap:0/3"`,
			`[[step.cgroup]]`, `name = "d"`, `cpuset = "cpus:"`),
			[]at{
				{6, `cgroup "a": cpuset "llc:x": want llc:N with N the LLC's index from 0`},
				{9, `cgroup "b": cpuset "half": want llc:N, node:N, range:FROM-TO`},
				{12, `cgroup "c": cpuset "overlap:0/3": want overlap:I/N/FRAC`},
				{15, `cgroup "d": cpuset "cpus:": want cpus:LIST`},
			}},
		{"unknown work type", withHeader(`[[step.cgroup]]`, `name = "cg0"`, `work = [{ type = "spinn" }]`),
			[]at{{6, `step 1: cgroup "cg0": unknown work type "spinn" (did you mean spin?)`}}},
		{"bad work parameters", withHeader(
			`[[step.cgroup]]`,
			`name = "cg0"`,
			`work = [`,
			`  { type = "spin", burst = "5ms" },`,
			`  { type = "bursty", burst = "fast" },`,
			`  { type = "pipe-ping-pong", workers = 3 },`,
			`  { type = "sequence" },`,
			`  { type = "spin", workers = 0, policy = "fifo" },`,
			`]`),
			[]at{
				{7, `cgroup "cg0": work group 1: spin takes no burst (it takes no parameters)`},
				{8, `work group 2: burst "fast": want a duration such as "50ms"`},
				{9, `work group 3: pipe-ping-pong needs a worker count divisible by 2, got 3`},
				{10, `work group 4: sequence needs phases`},
				{11, `work group 5: workers = 0: want at least 1; leave it out for 2`},
				{11, `work group 5: policy "fifo": policy fifo needs a priority from 1 to 99, got 0`},
			}},
		{"unknown op", withHeader(`[[step.op]]`, `op = "set-cpuest"`, `cgroup = "x"`),
			[]at{{5, `step 1: op 1: unknown op "set-cpuest" (did you mean set-cpuset?)`}}},
		{"do has no file form", withHeader(`[[step.op]]`, `op = "do"`),
			[]at{{5, `unknown op "do": it runs Go code, which a file cannot hold`}}},
		{"missing and extra op keys", withHeader(
			`[[step.op]]`, `op = "set-cpuset"`, `cgroup = "x"`,
			`[[step.op]]`, `op = "add-cgroup"`, `cgroup = "x"`, `cpuset = "llc:0"`,
			`[[step.op]]`, `cgroup = "x"`),
			[]at{
				{4, `step 1: op 1 (set-cpuset): missing cpuset: add cpuset = "llc:0"`},
				{10, `step 1: op 2 (add-cgroup): add-cgroup takes no cpuset (it takes cgroup)`},
				{11, `step 1: op 3: no op: add op = "set-cpuset" or another`},
			}},
		{"missing hold", doc(`topology = "1n2l2c1t"`, `[[step]]`, `name = "idle"`, `[[step]]`, `hold = "1s"`),
			[]at{{2, `step "idle": no hold: add hold = "50%" (a share of the duration) or hold = "2s"`}}},
		{"bad holds", doc(`topology = "1n2l2c1t"`,
			`[[step]]`, `hold = "150%"`,
			`[[step]]`, `hold = "soon"`,
			`[[step]]`, `hold = "1s"`, `every = "-1s"`,
			`[[step]]`, `hold = "0s"`),
			[]at{
				{3, `step 1: hold "150%": a share of the duration must be more than 0% and at most 100%`},
				{5, `step 2: hold "soon": want a share of the duration such as "50%", or a duration such as "2s"`},
				{8, `step 3: every "-1s": must be positive`},
				{10, `step 4: hold "0s": must be positive`},
			}},
		{"bad duration", doc(`topology = "1n2l2c1t"`, `duration = "4"`, `[[step]]`, `hold = "1s"`),
			[]at{{2, `duration "4": not a duration; write e.g. "4s", "250ms" or "1m30s"`}}},
		{"unknown catalogue scenario", doc(`topology = "1n2l2c1t"`, `catalogue = [`, `  "basic/steady",`, `  "cpuset/swp",`, `  "cpuset/nothing",`, `]`),
			[]at{
				{4, `unknown catalogue scenario "cpuset/swp" (nearest: cpuset/swap)`},
				{5, `unknown catalogue scenario "cpuset/nothing" (nearest: cpuset/apply-midrun, cpuset/clear-midrun, cpuset/overlap, cpuset/resize, cpuset/swap); ` + "`ktstr scenarios`"},
			}},
		{"unknown check", doc(`topology = "1n2l2c1t"`, `catalogue = ["basic/steady"]`, `[checks]`, `spread_pct = 30`, `max_gap = 2`, `isolation = "yes"`),
			[]at{
				{4, `unknown check "spread_pct" (did you mean max_spread_pct?)`},
				{5, `checks: max_gap: want a duration such as "2s", or "off", got the integer 2`},
				{6, `checks: isolation: want true or false, got the string "yes"`},
			}},
		{"no topology", doc(`duration = "4s"`, `[[step]]`, `hold = "1s"`),
			[]at{{0, `no topology: add topology = "1n2l2c1t"`}}},
		{"topology and topologies", doc(`topology = "1n2l2c1t"`, `topologies = ["1n2l2c1t"]`, `catalogue = ["basic/steady"]`),
			[]at{{2, `set topology or topologies, not both`}}},
		{"malformed topology labels", doc(`topologies = [`, `  "1n2l2c",`, `  "1n3l1c1t",`, `  "2n3l1c1t",`, `  "1n3l1c1t",`, `]`, `catalogue = ["basic/steady"]`),
			[]at{
				{2, `topology "1n2l2c": want {nodes}n{llcs}l{cores}c{threads}t, e.g. 1n2l4c2t`},
				{4, `topology 2n3l1c1t: 3 LLCs cannot be spread evenly over 2 NUMA nodes`},
				{5, `topology 1n3l1c1t is listed twice`},
			}},
		{"nothing to run", doc(`topology = "1n2l2c1t"`, `duration = "4s"`),
			[]at{{0, `nothing to run: add [[step]] tables, or catalogue = ["basic/steady"]`}}},
		{"a backdrop without steps", doc(`topology = "1n2l2c1t"`, `catalogue = ["basic/steady"]`, `[[backdrop.cgroup]]`, `name = "bg"`),
			[]at{{3, `a [backdrop] without [[step]] tables never runs`}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse("t.toml", c.data)
			if f != nil {
				t.Errorf("Parse returned a File with the error")
			}
			expectErrors(t, err, c.want)
		})
	}
}

// TestValidateErrors covers what Validate finds on the topologies: the
// files parse, and fail against their topologies.
func TestValidateErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want []at
	}{
		{"impossible cpuset", doc(
			`topology = "1n2l2c1t"`,
			`[[step]]`,
			`name = "split"`,
			`hold = "50%"`,
			`[[step.cgroup]]`,
			`name = "cg0"`,
			`cpuset = "llc:0"`,
			`[[step.cgroup]]`,
			`name = "cg1"`,
			`cpuset = "llc:3"`),
			[]at{{10, `on 1n2l2c1t: step "split": cgroup "cg1": cpuset llc 3: the guest has 2 LLCs (0-1)`}}},
		{"cpuset on one of two topologies", doc(
			`topologies = ["1n2l2c1t", "1n2l1c1t"]`,
			`[[step]]`,
			`hold = "50%"`,
			`[[step.op]]`,
			`op = "spawn-host"`,
			`work = [{ type = "spin" }, { type = "spin", affinity = "exact:3" }]`,
			`[[step.cgroup]]`,
			`name = "cg0"`,
			`cpuset = "disjoint:0/3"`,
			`[[step.cgroup]]`,
			`name = "cg1"`,
			`cpuset = "range:0.5-0.2"`),
			[]at{
				{6, `on 1n2l1c1t: step 1: op 1 (spawn-host): work group 2: affinity exact(3): CPU 3 is not in the guest (CPUs 0-1)`},
				{9, `on 1n2l1c1t: step 1: cgroup "cg0": cpuset disjoint 0 of 3: not enough usable CPUs (2) for 3 partitions`},
				{12, `step 1: cgroup "cg1": cpuset range 0.50-0.20: fractions must satisfy 0 <= from < to <= 1`},
			}},
		{"ops on cgroups that do not exist then", doc(
			`topology = "1n2l2c1t"`,
			`[[backdrop.cgroup]]`,
			`name = "bg"`,
			`[[step]]`,
			`hold = "50%"`,
			`[[step.cgroup]]`,
			`name = "mine"`,
			`[[step.op]]`,
			`op = "clear-cpuset"`,
			`cgroup = "mine"`,
			`[[step.op]]`,
			`op = "remove-cgroup"`,
			`cgroup = "bg"`,
			`[[step]]`,
			`hold = "50%"`,
			`every = "2s"`,
			`op = [{ op = "add-cgroup", cgroup = "x" }]`),
			[]at{
				{8, `step 1: op 1 (clear-cpuset): cgroup mine is one of this step's cgroups, which are set up after its ops run; put it in the [backdrop] or create it with an add-cgroup op`},
				{11, `step 1: op 2 (remove-cgroup): cgroup bg is a backdrop cgroup, which lives until the end`},
				{15, `on 1n2l2c1t: step 2: hold every 2s 0.5 of the duration: the interval is not shorter than the hold (1s), so the operations would never repeat`},
				{17, `step 2: op 1 (add-cgroup), run again by every: cgroup x exists already`},
			}},
		{"work outside the topology", doc(
			`topology = "1n2l2c1t"`,
			`[[step]]`,
			`hold = "50%"`,
			`[[step.cgroup]]`,
			`name = "cg0"`,
			`cpuset = "llc:1"`,
			`work = [{ type = "spin" }, { type = "spin", mem_policy = "bind:1" }]`,
			`[[step.op]]`,
			`op = "spawn"`,
			`cgroup = "bg"`,
			`work = [{ affinity = "exact:0" }]`),
			[]at{
				{7, `step 1: cgroup "cg0": work group 2 (2 × spin, mem bind(1)): memory policy bind(1): the guest has 1 NUMA nodes (0-0)`},
				{8, `step 1: op 1 (spawn): unknown cgroup bg (none exist here)`},
			}},
		{"catalogue scenario that does not fit", doc(
			`topologies = ["1n1l1c1t", "1n2l2c1t"]`,
			`catalogue = ["basic/steady", "cpuset/swap"]`),
			[]at{{2, `on 1n1l1c1t: catalogue scenario "cpuset/swap" does not fit: backdrop: cgroup cg0: cpuset disjoint 0 of 2: not enough usable CPUs (1) for 2 partitions; backdrop: cgroup cg1: `}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse("t.toml", c.data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			expectErrors(t, f.Validate(), c.want)
		})
	}
}

func TestErrorString(t *testing.T) {
	for _, c := range []struct {
		e    Error
		want string
	}{
		{Error{File: "a.toml", Line: 3, Msg: "bad"}, "a.toml:3: bad"},
		{Error{File: "a.toml", Msg: "no topology"}, "a.toml: no topology"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}

func TestNearest(t *testing.T) {
	names := []string{"max_gap", "max_spread_pct", "isolation", "not_starved"}
	for _, c := range []struct {
		name string
		want string
	}{
		{"max_gp", " (did you mean max_gap?)"},
		{"spread_pct", " (did you mean max_spread_pct?)"},
		{"ISOLATION", " (did you mean isolation?)"},
		{"colour", ""},
	} {
		if got := didYouMean(c.name, names); got != c.want {
			t.Errorf("didYouMean(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestTestdata checks the errors of whole files: one with a typo on most
// lines, which Parse reports together, and one that parses but does not
// fit its topologies.
func TestTestdata(t *testing.T) {
	_, err := Load("testdata/typos.toml")
	for _, e := range unjoin(err) {
		e.(*Error).File = "t.toml"
	}
	expectErrors(t, err, []at{
		{2, `topology "2n2l": want {nodes}n{llcs}l{cores}c{threads}t`},
		{3, `duration "4 seconds": not a duration`},
		{4, `unknown catalogue scenario "cpuset/swapp" (nearest: cpuset/swap)`},
		{7, `unknown check "spread_pct" (did you mean max_spread_pct?)`},
		{10, `backdrop: cgroup "../bg": cgroup name "../bg": empty, "." or ".." component`},
		{11, `backdrop: cgroup "../bg": unknown work type "spinner" (did you mean spin?)`},
		{13, `step "split": no hold`},
		{17, `step "split": cgroup "cg0": cpuset "llc0": want llc:N, node:N`},
		{18, `step "split": op 1 (set-cpuset): missing cpuset: add cpuset = "llc:0"`},
	})

	f, err := Load("testdata/llc.toml")
	if err != nil {
		t.Fatal(err)
	}
	f.Name = "t.toml"
	expectErrors(t, f.Validate(), []at{
		{8, `on 1n2l2c1t: backdrop: cgroup "bg": memory policy bind(1): the guest has 1 NUMA nodes (0-0)`},
		{18, `step "split": cgroup "cg1": cpuset llc 3: the guest has 2 LLCs (0-1)`},
		{19, `step "split": op 1 (set-cpuset): unknown cgroup cgx (existing: bg)`},
	})
}
