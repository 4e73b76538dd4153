package ktstr

import (
	"sync"

	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/sidecar"
)

// sidecarWriter is this process's sidecar writer: one per process, so the
// first write of a run clears the directory's old results once.
var sidecarWriter = struct {
	once sync.Once
	w    *sidecar.Writer
}{}

func writerFor(k *kernel.Kernel) *sidecar.Writer {
	sidecarWriter.once.Do(func() { sidecarWriter.w = sidecar.DefaultWriter(k.Version) })
	return sidecarWriter.w
}

// sidecarResult turns one variant's run into its result file's contents.
func sidecarResult(name string, spec Spec, topo Topology, r *hostRunResult) sidecar.Result {
	s := sidecar.Result{
		TestName:      name,
		Topology:      topo.String(),
		Scheduler:     spec.Scheduler.String(),
		KernelVersion: r.kernel.Version,
		Accelerator:   string(r.Accel),
		KernelArgs:    nil,
	}
	if spec.Cmdline != "" {
		s.KernelArgs = []string{spec.Cmdline}
	}
	fs := r.failures()
	s.Passed = len(fs) == 0
	for _, f := range fs {
		s.Failures = append(s.Failures, f.Kind+": "+f.Message)
	}
	if res := r.Result; res != nil {
		fillSidecarStats(&s, res)
	}
	return s
}

// fillSidecarStats copies the guest's measurements into the sidecar.
func fillSidecarStats(s *sidecar.Result, res *wire.Result) {
	var units uint64
	var migrations uint64
	for _, w := range res.Workers {
		units += w.WorkUnits
		migrations += w.Migrations
	}
	if len(res.Workers) > 0 {
		s.Stats.Overall = sidecar.Metrics{
			"total_workers":    float64(len(res.Workers)),
			"total_iterations": float64(units),
			"total_migrations": float64(migrations),
		}
	}
}
