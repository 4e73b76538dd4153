package host

import (
	"fmt"
	"strconv"

	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/sidecar"
)

// sidecarBPF is the scheduler's BPF programs as the result file keeps
// them; nil when the guest read none and had nothing to say about it.
func sidecarBPF(rep *wire.SchedulerReport) *sidecar.BPF {
	if rep == nil || (len(rep.Programs) == 0 && len(rep.ProgramNotes) == 0) {
		return nil
	}
	b := &sidecar.BPF{Notes: rep.ProgramNotes}
	for _, p := range rep.Programs {
		b.Programs = append(b.Programs, sidecar.BPFProgram{
			Name: p.Name, Type: p.Type, VerifiedInsns: p.VerifiedInsns,
			XlatedBytes: p.XlatedBytes, JitedBytes: p.JitedBytes,
			Counted: p.Counted, RunCount: p.RunCount, RunTimeNS: uint64(p.RunTime.Nanoseconds()),
		})
	}
	return b
}

// bpfMetrics adds the verified instructions of s.BPF to the statistics
// `ktstr stats` compares: each program's under its name, a second program
// of the same name as "name#2", and their total when every program's is
// known.
func bpfMetrics(s *sidecar.Result) {
	if s.BPF == nil {
		return
	}
	if s.Stats.Overall == nil {
		s.Stats.Overall = sidecar.Metrics{}
	}
	seen := map[string]int{}
	for _, p := range s.BPF.Programs {
		seen[p.Name]++
		if p.VerifiedInsns == 0 {
			continue
		}
		name := p.Name
		if n := seen[p.Name]; n > 1 {
			name += "#" + strconv.Itoa(n)
		}
		s.Stats.Overall[sidecar.VerifiedInsnsMetric(name)] = float64(p.VerifiedInsns)
	}
	if total, ok := s.BPF.VerifiedInsns(); ok {
		s.Stats.Overall[sidecar.MetricTotalVerifiedInsns] = float64(total)
	}
}

// bpfSummary is the summary line's word on the scheduler's BPF programs:
// how many, and the instructions the verifier processed for them.
func bpfSummary(rep *wire.SchedulerReport) string {
	b := sidecarBPF(rep)
	if b == nil || len(b.Programs) == 0 {
		return ""
	}
	text := fmt.Sprintf(", %d BPF programs", len(b.Programs))
	if total, ok := b.VerifiedInsns(); ok {
		text += fmt.Sprintf(" (%d instructions verified)", total)
	}
	return text
}
