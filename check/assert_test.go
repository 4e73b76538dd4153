package check

import (
	"encoding/json"
	"testing"
	"time"
)

func TestOpt(t *testing.T) {
	var unsetOpt Opt[time.Duration]
	tests := []struct {
		name         string
		o            Opt[time.Duration]
		isSet, isOff bool
		get          time.Duration
		ok           bool
		str          string
	}{
		{"unset", unsetOpt, false, false, 0, false, "unset"},
		{"set", Set(3 * time.Second), true, false, 3 * time.Second, true, "3s"},
		{"set to zero", Set(time.Duration(0)), true, false, 0, true, "0s"},
		{"off", Disable[time.Duration](), true, true, 0, false, "off"},
	}
	for _, tt := range tests {
		v, ok := tt.o.Get()
		if tt.o.IsSet() != tt.isSet || tt.o.IsOff() != tt.isOff || v != tt.get || ok != tt.ok || tt.o.String() != tt.str {
			t.Errorf("%s: IsSet %v IsOff %v Get %v,%v String %q", tt.name, tt.o.IsSet(), tt.o.IsOff(), v, ok, tt.o.String())
		}
	}
	for _, tt := range []struct {
		o   Opt[bool]
		str string
		on  bool
	}{
		{Opt[bool]{}, "unset", false},
		{On(), "on", true},
		{Set(true), "on", true},
		{Set(false), "off", false},
		{Off(), "off", false},
	} {
		if tt.o.String() != tt.str || enabled(tt.o) != tt.on {
			t.Errorf("%#v: String %q enabled %v, want %q %v", tt.o, tt.o.String(), enabled(tt.o), tt.str, tt.on)
		}
	}
	if Off() != Disable[bool]() {
		t.Error("Off() != Disable[bool]()")
	}
}

func TestMergeChain(t *testing.T) {
	defaults := Defaults(Env{})
	scheduler := Assert{
		MaxGap:            Set(3 * time.Second), // loosens the default
		MaxSpreadPct:      Disable[float64](),   // switches a default off
		MaxP99WakeLatency: Set(500 * time.Microsecond),
		MinPageLocality:   Set(0.9),
	}
	test := Assert{
		Isolation:         Off(),                        // switches a default off
		MaxSpreadPct:      Set(25.0),                    // switches it back on
		MaxP99WakeLatency: Disable[time.Duration](),     // off what the scheduler set
		MaxMigrationRatio: Set(0.05),                    // a new check
		MinPageLocality:   Opt[float64]{},               // unset keeps the scheduler's
		MaxGap:            Set(4500 * time.Millisecond), // last wins
	}
	got := Merge(defaults, scheduler, test)
	want := Merge(MonitorDefaults(), Assert{
		NotStarved:        On(),
		Isolation:         Off(),
		MaxGap:            Set(4500 * time.Millisecond),
		MaxSpreadPct:      Set(25.0),
		MaxP99WakeLatency: Disable[time.Duration](),
		MaxMigrationRatio: Set(0.05),
		MinPageLocality:   Set(0.9),
	})
	if got != want {
		t.Errorf("Merge:\n%s\nwant:\n%s", got, want)
	}

	// Layers in the other order: the defaults win where they set a value.
	got = Merge(test, scheduler, defaults)
	if v, _ := got.MaxGap.Get(); v != DefaultMaxGap {
		t.Errorf("MaxGap = %v, want the defaults' %v", got.MaxGap, DefaultMaxGap)
	}
	if !enabled(got.Isolation) {
		t.Error("Isolation: the defaults' On should win")
	}
	if v, _ := got.MaxP99WakeLatency.Get(); v != 500*time.Microsecond {
		t.Error("MaxP99WakeLatency: the scheduler's value, set after the test's off, should win")
	}
	if !got.MaxMigrationRatio.IsSet() {
		t.Error("MaxMigrationRatio: set by the test only, left unset by later layers, should stay")
	}

	if Merge() != (Assert{}) {
		t.Error("Merge() is not the zero Assert")
	}
	if Merge(defaults) != defaults || Merge(Assert{}, defaults, Assert{}) != defaults {
		t.Error("unset layers are not the identity")
	}
}

func TestDefaults(t *testing.T) {
	const kvmIdle, tcgIdle = DefaultMaxIdleWhileWaiting, TCGMaxIdleWhileWaiting
	tests := []struct {
		name   string
		env    Env
		gap    time.Duration
		spread float64
		idle   time.Duration // MaxIdleWhileWaiting
	}{
		{"KVM", Env{}, 2000 * time.Millisecond, 15, kvmIdle},
		{"KVM ignores TCG allowances", Env{GapFactor: 10, SpreadPct: 90}, 2000 * time.Millisecond, 15, kvmIdle},
		{"TCG", Env{TCG: true}, 3000 * time.Millisecond, 35, tcgIdle},
		{"TCG, measured allowances", Env{TCG: true, GapFactor: 4, SpreadPct: 50}, 8000 * time.Millisecond, 50, tcgIdle},
		{"TCG, only a gap factor", Env{TCG: true, GapFactor: 2.5}, 5000 * time.Millisecond, 35, tcgIdle},
		{"TCG, deterministic", Env{TCG: true, Deterministic: true}, 2000 * time.Millisecond, 25, kvmIdle},
		{"TCG, deterministic, spread given", Env{TCG: true, Deterministic: true, GapFactor: 4, SpreadPct: 20}, 2000 * time.Millisecond, 20, kvmIdle},
	}
	for _, tt := range tests {
		a := Defaults(tt.env)
		want := Merge(MonitorDefaults(), Assert{NotStarved: On(), Isolation: On(), MaxGap: Set(tt.gap), MaxSpreadPct: Set(tt.spread),
			MaxIdleWhileWaiting: Set(tt.idle)})
		if a != want {
			t.Errorf("%s: Defaults(%+v) =\n%s\nwant:\n%s", tt.name, tt.env, a, want)
		}
	}
}

// TestDefaultsEEVDF checks that the work-conservation check is off by
// default under the kernel's own scheduler, and that a test can still set
// it.
func TestDefaultsEEVDF(t *testing.T) {
	a := Defaults(Env{TCG: true, EEVDF: true})
	if _, on := a.MaxIdleWhileWaiting.Get(); on {
		t.Errorf("Defaults under EEVDF: MaxIdleWhileWaiting %s, want off", a.MaxIdleWhileWaiting)
	}
	want := Defaults(Env{TCG: true})
	want.MaxIdleWhileWaiting = a.MaxIdleWhileWaiting
	if a != want {
		t.Errorf("Defaults under EEVDF differ in more than MaxIdleWhileWaiting:\n%s\nwant:\n%s", a, want)
	}
	if d, on := Merge(a, Assert{MaxIdleWhileWaiting: Set(2 * time.Second)}).MaxIdleWhileWaiting.Get(); !on || d != 2*time.Second {
		t.Errorf("a test's MaxIdleWhileWaiting under EEVDF = %v, %v; want 2s, on", d, on)
	}
}

func TestAssertFormat(t *testing.T) {
	a := Merge(Defaults(Env{TCG: true}), Assert{
		Isolation:         Off(),
		MaxThroughputCV:   Set(0.25),
		MinWorkRate:       Set(500.0),
		MaxP99WakeLatency: Set(1500 * time.Microsecond),
		MaxWakeLatencyCV:  Disable[float64](),
		MaxMigrationRatio: Set(0.01),
	})
	want := "" +
		"NotStarved          on       every worker does some work\n" +
		"Isolation           off      workers run only on their cpuset\n" +
		"MaxGap              3000 ms  longest time a worker went unscheduled\n" +
		"MaxSpreadPct        35%      off-CPU % spread between a cgroup's workers\n" +
		"MaxThroughputCV     0.25     CV of work units per CPU-second in a cgroup\n" +
		"MinWorkRate         500      work units per CPU-second of each worker\n" +
		"MaxP99WakeLatency   1500 µs  p99 of a cgroup's wake-up latencies\n" +
		"MaxWakeLatencyCV    off      CV of a cgroup's wake-up latencies\n" +
		"MaxMigrationRatio   0.01     CPU migrations per checkpoint in a cgroup\n" +
		"MinPageLocality     unset    share of each worker's pages on its nodes\n" +
		"MaxImbalanceRatio   4        runnable tasks on a CPU over the least loaded CPU they may use\n" +
		"MaxLocalDSQDepth    50       depth of a sched_ext local dispatch queue\n" +
		"FailOnStall         on       a CPU's runqueue clock stops while it has runnable tasks\n" +
		"MaxFallbackRate     200/s    sched_ext select_cpu_fallback events per second\n" +
		"MaxKeepLastRate     unset    sched_ext dispatch_keep_last events per second\n" +
		"MaxIdleWhileWaiting 2000 ms  a CPU idle while tasks allowed on it wait elsewhere\n" +
		"SustainedSamples    5        samples in a row a monitor limit must be exceeded\n" +
		"MonitorWarmup       500 ms   time after the body starts before monitor checks count\n" +
		"MonitorPeriod       100 ms   time between two monitor samples (off: no monitor)\n"
	if got := a.Format(); got != want {
		t.Errorf("Format:\n%s\nwant:\n%s", got, want)
	}
	if a.String() != a.Format() {
		t.Error("String() != Format()")
	}
}

func TestFmtNum(t *testing.T) {
	tests := []struct {
		v    float64
		dec  int
		want string
	}{
		{42, 1, "42"},
		{42.04, 1, "42"},
		{42.06, 1, "42.1"},
		{0.41666, 2, "0.42"},
		{0.012295, 4, "0.0123"},
		{100, 4, "100"},
		{-0.001, 1, "0"},
		{1234.5, 0, "1234"}, // round half to even
	}
	for _, tt := range tests {
		if got := fmtNum(tt.v, tt.dec); got != tt.want {
			t.Errorf("fmtNum(%v, %d) = %q, want %q", tt.v, tt.dec, got, tt.want)
		}
	}
}

func TestAssertJSON(t *testing.T) {
	a := Assert{
		NotStarved:        On(),
		Isolation:         Off(),
		MaxGap:            Set(2 * time.Second),
		MaxSpreadPct:      Disable[float64](),
		MaxP99WakeLatency: Set(500 * time.Microsecond),
		MinPageLocality:   Set(0.9),
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"not_starved":true,"isolation":"off","max_gap":2000000000,"max_spread_pct":"off",` +
		`"max_p99_wake_latency":500000,"min_page_locality":0.9}`
	if string(b) != want {
		t.Errorf("Marshal = %s\nwant      %s", b, want)
	}
	var back Assert
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != a {
		t.Errorf("round trip:\n%s\nwant:\n%s", back, a)
	}
	if err := json.Unmarshal([]byte(`{"max_gap":null,"max_spread_pct":15}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.MaxGap.IsSet() || back.MaxSpreadPct != Set(15.0) {
		t.Errorf("null and a number: %v, %v", back.MaxGap, back.MaxSpreadPct)
	}
	if err := json.Unmarshal([]byte(`{"max_gap":"soon"}`), &back); err == nil {
		t.Error("a string other than \"off\" decoded into a duration")
	}
}
