package guest

import (
	"fmt"
	"io"
	"time"

	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/work"
)

// This file keeps the root package's present calls compiling while it
// moves to SpawnGroup and Collect; delete it once ctx.go no longer uses
// SpawnWorkers, WorkSpin or Stop.

// WorkSpin is the CPU-spinning work type's name.
//
// Deprecated: use work.Spin().
const WorkSpin = string(work.SpinKind)

// SpawnWorkers starts n workers of the named work kind, with the kind's
// reference defaults, inside the cgroup directory dir.
//
// Deprecated: use SpawnGroup.
func SpawnWorkers(dir, name, kind string, n int, stderr io.Writer) (*Workers, error) {
	if n < 1 {
		return nil, fmt.Errorf("spawn workers in %s: count %d, want at least 1", name, n)
	}
	t, err := work.ParseType(kind)
	if err != nil {
		return nil, fmt.Errorf("spawn workers in %s: %w", name, err)
	}
	return SpawnGroup(dir, name, work.Group{Type: t, Workers: n}, nil, nil, stderr)
}

// Stop is Collect with the old report type.
//
// Deprecated: use Collect.
func (w *Workers) Stop(deadline time.Duration) ([]wire.WorkerReport, error) {
	rs, err := w.Collect(deadline)
	out := make([]wire.WorkerReport, len(rs))
	for i, r := range rs {
		out[i] = wire.WorkerReport{Cgroup: r.Cgroup, PID: r.PID, Work: string(r.Kind), WorkUnits: r.WorkUnits,
			CPUTime: r.CPUTime, WallTime: r.WallTime, CPUs: r.CPUs, Migrations: r.Migrations}
	}
	return out, err
}
