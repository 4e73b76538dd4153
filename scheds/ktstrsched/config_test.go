package ktstrsched

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf/btf"
)

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string // "" for valid
	}{
		{Config{}, ""},
		{Config{Timeout: 2 * time.Second, StallCgroup: "ktstr/victim"}, ""},
		{Config{Timeout: 31 * time.Second}, "longer than the kernel's maximum"},
		{Config{Timeout: time.Microsecond}, "shorter than 1 ms"},
		{Config{StopAfter: -time.Second}, "StopAfter is negative"},
		{Config{StarveBelowWeight: 10001}, "above the highest weight"},
		{Config{SlowCgroup: "x"}, "SlowCgroup without SlowDispatch"},
		{Config{OneCPU: true, SlowDispatch: time.Millisecond}, "OneCPU with SlowDispatch for every task"},
		{Config{OneCPU: true, SlowDispatch: time.Millisecond, SlowCgroup: "x"}, ""},
	} {
		err := c.cfg.validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.cfg, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: error %v, want one saying %q", c.cfg, err, c.want)
		}
	}
}

func TestConfigFaults(t *testing.T) {
	if got := (Config{}).Faults(); got != "none" {
		t.Errorf("zero Config: %q, want none", got)
	}
	got := Config{StallCgroup: "a", OneCPU: true, StarveBelowWeight: 10, SlowDispatch: time.Second, SlowCgroup: "b"}.Faults()
	if want := "stall-cgroup=a one-cpu starve-below-weight=10 slow-dispatch=1s slow-cgroup=b"; got != want {
		t.Errorf("Faults() = %q, want %q", got, want)
	}
}

func TestExitKind(t *testing.T) {
	if s := ExitErrorStall.String(); s != "error-stall" {
		t.Errorf("ExitErrorStall = %q", s)
	}
	if s := ExitKind(5).String(); s != "kind-5" {
		t.Errorf("ExitKind(5) = %q", s)
	}
	if !ExitError.IsError() || ExitUnregBPF.IsError() {
		t.Error("IsError wrong")
	}
	e := &ExitInfo{Kind: ExitErrorStall, Reason: "runnable task stall", Message: "x[1] failed to run for 2s"}
	if got, want := e.String(), "error-stall (kind 1026): runnable task stall: x[1] failed to run for 2s"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if e.Detached() || !(&ExitInfo{Kind: ExitUnreg}).Detached() {
		t.Error("Detached wrong")
	}
}

// TestObject checks the committed BPF object against what the loader
// expects of it: the struct_ops map, the configuration variables, and
// setting ops.timeout_ms.
func TestObject(t *testing.T) {
	spec, err := loadKtstr()
	if err != nil {
		t.Fatal(err)
	}
	ms := spec.Maps[ktstrMapKtstrOps]
	if ms == nil {
		t.Fatalf("no struct_ops map %s", ktstrMapKtstrOps)
	}
	st, ok := ms.Value.(*btf.Struct)
	if !ok || st.Name != "sched_ext_ops" {
		t.Fatalf("struct_ops value %v, want struct sched_ext_ops", ms.Value)
	}
	if err := setOpsU32(ms, "timeout_ms", 1500); err != nil {
		t.Fatal(err)
	}
	buf := ms.Contents[0].Value.([]byte)
	var name string
	for _, m := range st.Members {
		switch m.Name {
		case "timeout_ms":
			if got := binary.NativeEndian.Uint32(buf[m.Offset.Bytes():]); got != 1500 {
				t.Errorf("timeout_ms = %d after setting 1500", got)
			}
		case "name":
			b := buf[m.Offset.Bytes():]
			name = string(b[:strings.IndexByte(string(b), 0)])
		}
	}
	if name != OpsName {
		t.Errorf("ops name %q, want %q", name, OpsName)
	}
	if err := setOpsU32(ms, "no_such_member", 1); err == nil {
		t.Error("setting a missing member did not fail")
	}
	for name, size := range map[string]uint32{
		"stop_after_ns": 8, "error_after_ns": 8, "exit_after_ns": 8, "slow_ns": 8,
		"starve_below_weight": 4, "cgroup_faults": 1, "slow_by_cgroup": 1, "one_cpu": 1,
		"stall_cgid": 8, "escape_cgid": 8, "pin_cgid": 8, "slow_cgid": 8,
	} {
		v, ok := spec.Variables[name]
		if !ok {
			t.Errorf("no variable %s", name)
			continue
		}
		if v.Size() != size {
			t.Errorf("variable %s has size %d, want %d", name, v.Size(), size)
		}
	}
}
