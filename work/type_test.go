package work

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func init() {
	Register("type-test-noop", func(stop *atomic.Bool, r *Report) {})
}

func TestDefaultsValidate(t *testing.T) {
	for _, k := range AllKinds() {
		typ, err := k.Default()
		if k == SequenceKind || k == CustomKind {
			if err == nil {
				t.Errorf("%s: a default", k)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if typ.Kind != k {
			t.Errorf("%s: default has kind %s", k, typ.Kind)
		}
		if err := typ.Validate(typ.GroupSize()); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
	if len(AllKinds()) != 20 {
		t.Errorf("%d kinds, want 20", len(AllKinds()))
	}
}

func TestGroupSize(t *testing.T) {
	for _, c := range []struct {
		t    Type
		want int
	}{
		{Spin(), 1}, {Type{}, 1}, {PipePingPong(1), 2}, {FutexPingPong(1), 2}, {CachePipe(32, 1), 2},
		{FutexFanOut(4, 1), 5}, {FanOutCompute(2, 64, 1, 0), 3}, {MutexContention(3, 1, 1), 3},
		{Sequence(SpinFor(time.Millisecond)), 1}, {Custom("x"), 1},
	} {
		if got := c.t.GroupSize(); got != c.want {
			t.Errorf("%v: group size %d, want %d", c.t, got, c.want)
		}
	}
	if !FutexFanOut(2, 1).IsMessenger(3) || FutexFanOut(2, 1).IsMessenger(4) || MutexContention(2, 1, 1).IsMessenger(0) {
		t.Error("IsMessenger")
	}
}

func TestValidateErrors(t *testing.T) {
	for _, c := range []struct {
		t       Type
		workers int
		want    string
	}{
		{PipePingPong(1024), 3, "pipe-ping-pong needs a worker count divisible by 2, got 3"},
		{FutexPingPong(1024), 1, "futex-ping-pong needs a worker count divisible by 2, got 1"},
		{FutexFanOut(4, 1024), 6, "futex-fan-out needs a worker count divisible by 5, got 6"},
		{MutexContention(4, 1, 1), 6, "mutex-contention needs a worker count divisible by 4, got 6"},
		{MutexContention(1, 1, 1), 1, "contenders must be at least 2"},
		{Spin(), 0, "needs at least 1 worker"},
		{Bursty(0, 0), 1, "burst and sleep are both zero"},
		{Bursty(-time.Second, 0), 1, "must not be negative"},
		{CachePressure(0, 64), 1, "buffer size must be 1 to"},
		{CachePressure(1, 2048), 1, "stride must be 1 to the buffer size (1024 bytes), got 2048"},
		{FanOutCompute(0, 64, 1, 0), 1, "fan-out must be at least 1"},
		{PageFaultChurn(64, 0, 1), 1, "touches must be at least 1"},
		{PipePingPong(-1), 2, "burst iterations must not be negative"},
		{Sequence(), 1, "no phases"},
		{Sequence(Phase{Kind: "dance", Duration: time.Second}), 1, `unknown phase kind "dance"`},
		{Sequence(SleepFor(0)), 1, "duration must be positive"},
		{Type{Kind: "nope"}, 1, `unknown work kind "nope"`},
		{Custom("unregistered"), 1, `custom work "unregistered" is not registered (registered: `},
	} {
		err := c.t.Validate(c.workers)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v with %d workers: %v, want %q", c.t, c.workers, err, c.want)
		}
	}
	if err := Custom("unregistered").Validate(1); err == nil || !strings.Contains(err.Error(), "type-test-noop") {
		t.Errorf("error %v does not name the registered functions", err)
	}
	if err := Custom("type-test-noop").Validate(1); err != nil {
		t.Error(err)
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{
		"spin": SpinKind, "CpuSpin": SpinKind, "PipeIo": PipePingPongKind, "pipe_ping_pong": PipePingPongKind,
		"FanOutCompute": FanOutComputeKind, " io-sync ": IOSyncKind, "MUTEX-CONTENTION": MutexContentionKind,
	} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := ParseKind("warp")
	if err == nil || !strings.Contains(err.Error(), "have: spin, yield-heavy") {
		t.Errorf("ParseKind(warp): %v", err)
	}
	if typ, err := ParseType("bursty"); err != nil || !reflect.DeepEqual(typ, Bursty(50*time.Millisecond, 100*time.Millisecond)) {
		t.Errorf("ParseType(bursty) = %v, %v", typ, err)
	}
	if _, err := ParseType("sequence"); err == nil {
		t.Error("ParseType(sequence): no error")
	}
}

func TestTypeJSONRoundTrip(t *testing.T) {
	for _, typ := range []Type{
		Spin(), FanOutCompute(4, 256, 5, 100*time.Microsecond), PageFaultChurn(4096, 256, 64),
		Sequence(SpinFor(time.Millisecond), IOFor(2*time.Millisecond)), Custom("x"), PipePingPong(0),
	} {
		b, err := json.Marshal(typ)
		if err != nil {
			t.Fatal(err)
		}
		var back Type
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, typ) {
			t.Errorf("%s: round trip gave %+v", b, back)
		}
	}
	g := Group{Type: Mixed(), Workers: 4, Policy: FIFO(5), Affinity: Exact(1, 2), MemPolicy: Interleave(0, 1)}
	b, _ := json.Marshal(g)
	var back Group
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, g) {
		t.Errorf("%s: round trip gave %+v, %v", b, back, err)
	}
	if b, _ := json.Marshal(Group{}); string(b) != `{"type":{"kind":""}}` {
		t.Errorf("zero group marshals as %s", b)
	}
}

func TestStrings(t *testing.T) {
	for _, c := range []struct {
		s    interface{ String() string }
		want string
	}{
		{Type{}, "spin"},
		{Bursty(50*time.Millisecond, 100*time.Millisecond), "bursty(burst=50ms, sleep=100ms)"},
		{Sequence(SpinFor(time.Millisecond), SleepFor(2*time.Millisecond)), "sequence(spin 1ms, sleep 2ms)"},
		{Custom("mine"), "custom(mine)"},
		{Normal, "normal"}, {RR(5), "rr(5)"}, {Idle, "idle"},
		{Inherit, "inherit"}, {Exact(0, 2), "exact(0,2)"}, {LLCAligned, "llc-aligned"},
		{MemDefault, "default"}, {Bind(0, 1), "bind(0,1)"}, {MemLocal, "local"},
		{Group{Type: YieldHeavy(), Policy: Batch, Affinity: SingleCPU, MemPolicy: Preferred(1)},
			"2 × yield-heavy, batch, single-cpu, mem preferred(1)"},
	} {
		if got := c.s.String(); got != c.want {
			t.Errorf("%#v: %q, want %q", c.s, got, c.want)
		}
	}
}

func TestGroupValidate(t *testing.T) {
	ok := []Group{
		{}, {Type: PipePingPong(1)}, {Policy: FIFO(99)}, {Policy: Policy{Class: "normal"}},
		{Affinity: Exact(3)}, {MemPolicy: Bind(0)}, {MemPolicy: MemLocal},
	}
	for _, g := range ok {
		if err := g.Validate(); err != nil {
			t.Errorf("%v: %v", g, err)
		}
	}
	for _, c := range []struct {
		g    Group
		want string
	}{
		{Group{Type: FutexFanOut(2, 1)}, "divisible by 3, got 2"},
		{Group{Policy: FIFO(100)}, "priority from 1 to 99"},
		{Group{Policy: Policy{Class: ClassBatch, Priority: 1}}, "takes no priority"},
		{Group{Policy: Policy{Class: "deadline"}}, `unknown scheduling policy "deadline"`},
		{Group{Affinity: Exact()}, "affinity exact: no CPUs"},
		{Group{Affinity: Exact(-1)}, "bad CPU -1"},
		{Group{Affinity: Affinity{Mode: AffinitySingleCPU, CPUs: []int{1}}}, "takes no CPUs"},
		{Group{MemPolicy: Bind()}, "memory policy bind: no nodes"},
		{Group{MemPolicy: MemPolicy{Mode: MemModePreferred, Nodes: []int{0, 1}}}, "takes one node"},
		{Group{MemPolicy: MemPolicy{Mode: "weighted"}}, `unknown memory policy "weighted"`},
	} {
		if err := c.g.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.g, err, c.want)
		}
	}
}

func TestRegister(t *testing.T) {
	if _, err := Lookup("type-test-noop"); err != nil {
		t.Error(err)
	}
	for name, fn := range map[string]Func{"": func(*atomic.Bool, *Report) {}, "type-test-nil": nil, "type-test-noop": func(*atomic.Bool, *Report) {}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q): no panic", name)
				}
			}()
			Register(name, fn)
		}()
	}
}

func TestReportString(t *testing.T) {
	r := Report{PID: 42, Cgroup: "cg0", Kind: FutexFanOutKind, Index: 5, Messenger: true, WorkUnits: 7,
		CPUTime: 1500 * time.Millisecond, WallTime: 2 * time.Second, CPUs: []int{3, 0, 1}, Migrations: 2,
		MaxGap: 3 * time.Millisecond, Exit: "killed after the stop deadline (5s)"}
	want := "worker 5 (pid 42, futex-fan-out, messenger) in cg0: 7 units, cpu 1.5s of 2s wall, CPUs 0-1,3, 2 migrations, max gap 3ms; killed after the stop deadline (5s)"
	if got := r.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
