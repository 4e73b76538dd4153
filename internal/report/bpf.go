package report

import (
	"github.com/ktstr-go/ktstr/internal/stats"
	"github.com/ktstr-go/ktstr/sidecar"
)

// bpfView is the table of the scheduler's BPF programs.
type bpfView struct {
	Programs []bpfRow
	// Total sums the programs; nil for a single program.
	Total *bpfRow
	Notes []string
}

// bpfRow is one program, or the sum of all: "–" marks a figure the kernel
// did not give (runs not counted, or no run to average).
type bpfRow struct {
	Name, Type, Verified, Runs, AvgNS string
}

const unknownFigure = "–"

func newBPFView(b *sidecar.BPF) *bpfView {
	if b == nil {
		return nil
	}
	v := &bpfView{Notes: b.Notes}
	var runs, timeNS uint64
	counted := len(b.Programs) > 0
	for _, p := range b.Programs {
		v.Programs = append(v.Programs, bpfRow{
			Name: p.Name, Type: p.Type, Verified: figure(uint64(p.VerifiedInsns), p.VerifiedInsns > 0),
			Runs: figure(p.RunCount, p.Counted), AvgNS: avgNS(p.RunTimeNS, p.RunCount, p.Counted),
		})
		counted = counted && p.Counted
		runs += p.RunCount
		timeNS += p.RunTimeNS
	}
	if len(b.Programs) > 1 {
		total, ok := b.VerifiedInsns()
		v.Total = &bpfRow{Name: "all " + stats.FormatNumber(float64(len(b.Programs))) + " programs",
			Verified: figure(total, ok), Runs: figure(runs, counted), AvgNS: avgNS(timeNS, runs, counted)}
	}
	return v
}

func figure(v uint64, known bool) string {
	if !known {
		return unknownFigure
	}
	return stats.FormatNumber(float64(v))
}

// avgNS is the mean time per run, whole ns.
func avgNS(timeNS, runs uint64, counted bool) string {
	if !counted || runs == 0 {
		return unknownFigure
	}
	return stats.FormatNumber(float64((timeNS + runs/2) / runs))
}
