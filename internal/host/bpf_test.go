package host

import (
	"reflect"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/sidecar"
)

func TestSidecarBPF(t *testing.T) {
	if sidecarBPF(nil) != nil || sidecarBPF(&wire.SchedulerReport{Name: "eevdf"}) != nil {
		t.Error("a report without programs or notes gave a BPF section")
	}
	rep := &wire.SchedulerReport{
		Programs: []wire.BPFProgram{
			{ID: 9, Name: "simple_dispatch", Type: "StructOps", VerifiedInsns: 7, XlatedBytes: 64, JitedBytes: 49, Counted: true, RunCount: 288, RunTime: 10703408 * time.Nanosecond},
			{ID: 10, Name: "simple_exit", Type: "StructOps", VerifiedInsns: 33},
		},
		ProgramNotes: []string{"a note"},
	}
	got := sidecarBPF(rep)
	want := &sidecar.BPF{
		Programs: []sidecar.BPFProgram{
			{Name: "simple_dispatch", Type: "StructOps", VerifiedInsns: 7, XlatedBytes: 64, JitedBytes: 49, Counted: true, RunCount: 288, RunTimeNS: 10703408},
			{Name: "simple_exit", Type: "StructOps", VerifiedInsns: 33},
		},
		Notes: []string{"a note"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if avg, ok := got.Programs[0].AvgRunNS(); !ok || avg != 10703408.0/288 {
		t.Errorf("average run %v %v", avg, ok)
	}
	if _, ok := got.Programs[1].AvgRunNS(); ok {
		t.Error("a program whose runs were not counted has an average")
	}
	if s := bpfSummary(rep); s != ", 2 BPF programs (40 instructions verified)" {
		t.Errorf("summary %q", s)
	}
	if s := bpfSummary(&wire.SchedulerReport{ProgramNotes: []string{"none found"}}); s != "" {
		t.Errorf("summary without programs %q", s)
	}
}

func TestBPFMetrics(t *testing.T) {
	s := sidecar.Result{BPF: &sidecar.BPF{Programs: []sidecar.BPFProgram{
		{Name: "qmap_dispatch", VerifiedInsns: 19242},
		{Name: "flush_alloc", VerifiedInsns: 9964},
		{Name: "flush_alloc", VerifiedInsns: 100}, // a second program of that name
	}}}
	bpfMetrics(&s)
	want := sidecar.Metrics{
		"verified_insns.qmap_dispatch": 19242, "verified_insns.flush_alloc": 9964, "verified_insns.flush_alloc#2": 100,
		sidecar.MetricTotalVerifiedInsns: 29306,
	}
	if !reflect.DeepEqual(s.Stats.Overall, want) {
		t.Errorf("metrics %v, want %v", s.Stats.Overall, want)
	}

	// A program whose count the kernel did not give is left out, and so
	// is the total, which would compare wrongly with a full one.
	s = sidecar.Result{Stats: sidecar.Stats{Overall: sidecar.Metrics{sidecar.MetricWorstSpread: 3}},
		BPF: &sidecar.BPF{Programs: []sidecar.BPFProgram{{Name: "a", VerifiedInsns: 5}, {Name: "b"}}}}
	bpfMetrics(&s)
	want = sidecar.Metrics{sidecar.MetricWorstSpread: 3, "verified_insns.a": 5}
	if !reflect.DeepEqual(s.Stats.Overall, want) {
		t.Errorf("metrics %v, want %v", s.Stats.Overall, want)
	}

	s = sidecar.Result{}
	bpfMetrics(&s)
	if s.Stats.Overall != nil {
		t.Errorf("metrics without programs: %v", s.Stats.Overall)
	}
}
