package work

import (
	"fmt"
	"time"

	"github.com/ktstr-go/ktstr/internal/cpuset"
)

// String summarises the report on one line: who, how much work, CPU and
// wall time, CPUs, migrations, the longest gap and, when set, the exit.
func (r Report) String() string {
	cg := r.Cgroup
	if cg == "" {
		cg = "the parent cgroup"
	}
	role := ""
	if r.Messenger {
		role = ", messenger"
	}
	s := fmt.Sprintf("worker %d (pid %d, %s%s) in %s: %d units, cpu %v of %v wall, CPUs %s, %d migrations, max gap %v",
		r.Index, r.PID, r.Kind, role, cg, r.WorkUnits, r.CPUTime.Round(time.Millisecond), r.WallTime.Round(time.Millisecond),
		cpuset.Format(r.CPUs), r.Migrations, r.MaxGap.Round(time.Microsecond))
	if r.Exit != "" {
		s += "; " + r.Exit
	}
	return s
}
