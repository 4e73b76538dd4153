package scenariofile

// The file as the TOML decoder fills it in. Pointers tell a key left out
// from a zero value; strings hold what has a grammar of its own (cpusets,
// holds, durations, policies), parsed after decoding so that a bad one is
// reported with its line and the grammar. Each field's want tag says what
// the key takes, for the message about a value of the wrong type; the
// reference is docs/scenario-files.md.

// rawFile is the whole file.
type rawFile struct {
	Topology   *string        `toml:"topology" want:"a topology label such as \"1n2l2c1t\""`
	Topologies []string       `toml:"topologies" want:"an array of topology labels such as [\"1n2l2c1t\", \"2n2l2c1t\"]"`
	Duration   *string        `toml:"duration" want:"a duration such as \"4s\""`
	Checks     map[string]any `toml:"checks" want:"a table of checks ([checks])"`
	Backdrop   *rawBackdrop   `toml:"backdrop" want:"a table ([backdrop])"`
	Steps      []rawStep      `toml:"step" want:"[[step]] tables"`
	Catalogue  []string       `toml:"catalogue" want:"an array of catalogue scenario names such as [\"basic/steady\"]"`
}

// rawBackdrop is [backdrop]: plan.Backdrop.
type rawBackdrop struct {
	Cgroups []rawCgroup `toml:"cgroup" want:"[[backdrop.cgroup]] tables"`
	Ops     []rawOp     `toml:"op" want:"[[backdrop.op]] tables"`
}

// rawStep is a [[step]]: plan.Step, its Hold split into hold and every.
type rawStep struct {
	Name    *string     `toml:"name" want:"a string"`
	Hold    *string     `toml:"hold" want:"a share of the duration such as \"50%\", or a duration such as \"2s\""`
	Every   *string     `toml:"every" want:"a duration such as \"200ms\""`
	Cgroups []rawCgroup `toml:"cgroup" want:"[[step.cgroup]] tables"`
	Ops     []rawOp     `toml:"op" want:"[[step.op]] tables"`
}

// rawCgroup is a cgroup of a step or the backdrop: plan.CgroupDef.
type rawCgroup struct {
	Name   *string   `toml:"name" want:"a cgroup name such as \"cg0\" or \"a/b\""`
	Cpuset *string   `toml:"cpuset" want:"a cpuset such as \"llc:0\""`
	Work   []rawWork `toml:"work" want:"an array of work groups such as [{ type = \"spin\", workers = 2 }]"`
}

// rawOp is an operation: plan.Op. Which keys it takes depends on op.
type rawOp struct {
	Op       *string   `toml:"op" want:"an operation such as \"set-cpuset\""`
	Cgroup   *string   `toml:"cgroup" want:"a cgroup name"`
	Other    *string   `toml:"other" want:"a cgroup name"`
	From     *string   `toml:"from" want:"a cgroup name"`
	To       *string   `toml:"to" want:"a cgroup name"`
	Cpuset   *string   `toml:"cpuset" want:"a cpuset such as \"llc:0\""`
	Affinity *string   `toml:"affinity" want:"an affinity such as \"llc-aligned\""`
	Work     []rawWork `toml:"work" want:"an array of work groups such as [{ type = \"spin\", workers = 2 }]"`
}

// rawWork is a work group: work.Group, with the parameters of its Type
// beside its own keys.
type rawWork struct {
	Type      *string `toml:"type" want:"a work type such as \"spin\""`
	Workers   *int    `toml:"workers" want:"an integer"`
	Policy    *string `toml:"policy" want:"a policy such as \"batch\" or \"fifo:10\""`
	Affinity  *string `toml:"affinity" want:"an affinity such as \"llc-aligned\""`
	MemPolicy *string `toml:"mem_policy" want:"a memory policy such as \"bind:0\""`

	Burst      *string    `toml:"burst" want:"a duration such as \"50ms\""`
	Sleep      *string    `toml:"sleep" want:"a duration such as \"100ms\""`
	BurstIters *int       `toml:"burst_iters" want:"an integer"`
	SpinIters  *int       `toml:"spin_iters" want:"an integer"`
	SizeKB     *int       `toml:"size_kb" want:"an integer (KiB)"`
	Stride     *int       `toml:"stride" want:"an integer (bytes)"`
	FanOut     *int       `toml:"fan_out" want:"an integer"`
	Operations *int       `toml:"operations" want:"an integer"`
	Touches    *int       `toml:"touches" want:"an integer"`
	Contenders *int       `toml:"contenders" want:"an integer"`
	HoldIters  *int       `toml:"hold_iters" want:"an integer"`
	WorkIters  *int       `toml:"work_iters" want:"an integer"`
	Phases     []rawPhase `toml:"phases" want:"an array of phases such as [{ kind = \"spin\", duration = \"20ms\" }]"`
	Name       *string    `toml:"name" want:"the name of a registered custom work function"`
}

// rawPhase is a phase of a sequence work type: work.Phase.
type rawPhase struct {
	Kind     *string `toml:"kind" want:"spin, sleep, yield or io"`
	Duration *string `toml:"duration" want:"a duration such as \"20ms\""`
}

// tableNames names each table in messages about its keys.
var tableNames = map[string]string{
	"rawFile":     "at the top level",
	"rawBackdrop": "in [backdrop]",
	"rawStep":     "in a [[step]]",
	"rawCgroup":   "in a cgroup",
	"rawOp":       "in an op",
	"rawWork":     "in a work group",
	"rawPhase":    "in a sequence phase",
}
