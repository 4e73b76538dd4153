package monitor

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// TestLayoutWithoutSchedStruct resolves a kernel shaped like 6.12 LTS:
// sched_ext in struct rq but no struct scx_sched. That is a note saying
// where the state is read instead, not a loss of the sched_ext figures,
// and the static dsq_hash's table pointer is found.
func TestLayoutWithoutSchedStruct(t *testing.T) {
	u64 := &btf.Int{Name: "u64", Size: 8}
	u32 := &btf.Int{Name: "u32", Size: 4}
	ptr := &btf.Pointer{Target: u64}
	scxRq := &btf.Struct{Name: "scx_rq", Size: 8, Members: []btf.Member{{Name: "nr_running", Type: u32}}}
	rq := &btf.Struct{Name: "rq", Size: 64, Members: []btf.Member{
		{Name: "nr_running", Type: u32},
		{Name: "curr", Type: ptr, Offset: 64},
		{Name: "clock", Type: u64, Offset: 128},
		{Name: "cpu", Type: u32, Offset: 192},
		{Name: "scx", Type: scxRq, Offset: 256},
	}}
	rht := &btf.Struct{Name: "rhashtable", Size: 8, Members: []btf.Member{{Name: "tbl", Type: ptr}}}
	b, err := btf.NewBuilder([]btf.Type{rq, rht}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLayout(spec)
	if err != nil {
		t.Fatal(err)
	}
	if l.SchedWatchdogTimeout.ok || l.SchedPcpu.ok || len(l.PcpuEvents) != 0 {
		t.Errorf("struct scx_sched fields found in a kernel without it: %+v", l)
	}
	if !l.RqSCXNrRunning.ok || !l.RhashtableTbl.ok {
		t.Errorf("rq.scx.nr_running %v, rhashtable.tbl %v: want both found", l.RqSCXNrRunning.ok, l.RhashtableTbl.ok)
	}
	notes := strings.Join(l.Notes, "\n")
	if !strings.Contains(notes, "no struct scx_sched") || strings.Contains(notes, "scx_sched.pcpu") {
		t.Errorf("notes %q: want the static-variable note, not missing scx_sched fields", notes)
	}
}
