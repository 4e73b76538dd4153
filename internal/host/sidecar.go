package host

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/gauntlet"
	"github.com/ktstr-go/ktstr/internal/kernel"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/sidecar"
)

// sidecarWriters holds this process's sidecar writers, one per kernel (each
// kernel's results have their own directory), so the first write of a run
// clears each directory's old results once.
var sidecarWriters = struct {
	sync.Mutex
	m map[string]*sidecar.Writer
}{m: map[string]*sidecar.Writer{}}

func writerFor(k *kernel.Kernel) *sidecar.Writer {
	sidecarWriters.Lock()
	defer sidecarWriters.Unlock()
	w, ok := sidecarWriters.m[k.Version]
	if !ok {
		w = sidecar.DefaultWriter(k.Version)
		sidecarWriters.m[k.Version] = w
	}
	return w
}

// ResultFile is the contents of the variant's result file.
func (r *Outcome) ResultFile() sidecar.Result {
	j := r.Job
	s := sidecar.Result{
		TestName:      j.Name,
		Package:       sidecar.PackageDir(),
		Topology:      j.Topology.String(),
		Flags:         j.Variant.Profile.Flags,
		Scheduler:     j.Scheduler.Name,
		KernelVersion: r.Kernel.Version,
		KernelLabel:   kernelLabel(j),
		Accelerator:   string(r.Accel),
		Deterministic: r.Deterministic,
		HostNoise:     r.noiseSummary(),
	}
	if j.Cmdline != "" {
		s.KernelArgs = strings.Fields(j.Cmdline)
	}
	s.Sysctls = j.Scheduler.Sysctls
	fs := r.Failures()
	s.Passed = len(fs) == 0
	if e := j.Expect; e != nil {
		met, _ := e.Met(fs)
		s.Expect = &sidecar.Expect{Kind: string(e.Kind), Contains: e.Contains, Met: met}
		s.Passed = met
	}
	for _, f := range fs {
		s.Failures = append(s.Failures, string(f.Kind)+": "+f.Message)
	}
	if res := r.Result; res != nil {
		fillSidecarStats(&s, res)
		s.BPF = sidecarBPF(res.Scheduler)
		bpfMetrics(&s)
	}
	s.Monitor = r.monitorSidecar()
	monitorMetrics(&s, s.Monitor)
	r.fillSidecarDetail(&s)
	return s
}

// HostResultFile is the result file of a body run on the host itself
// (guest.OnHost), named name: the same figures as a VM's, with the
// host's kernel and CPU topology, no monitor and no host noise (there is
// no VM to hold off).
func HostResultFile(name string, res *wire.Result, sched string) sidecar.Result {
	s := sidecar.Result{
		TestName:      name,
		Package:       sidecar.PackageDir(),
		Topology:      shapeLabel(res.Topology),
		Scheduler:     sched,
		KernelVersion: res.KernelRelease,
		Accelerator:   sidecar.AccelHost,
		Passed:        len(res.Failures) == 0,
	}
	for _, f := range res.Failures {
		s.Failures = append(s.Failures, string(f.Kind)+": "+f.Message)
	}
	fillSidecarStats(&s, res)
	return s
}

// shapeLabel names a topology as the label of the shape it has
// ("1n2l4c2t"), or by its CPU count when it has none (LLCs or SMT uneven):
// "24cpus".
func shapeLabel(g *wire.GuestTopology) string {
	if g == nil || len(g.CPUs) == 0 {
		return ""
	}
	cpus, nodes, llcs, threads := len(g.CPUs), max(len(g.Nodes), 1), max(len(g.LLCs), 1), 1
	if c := g.CPUs[0]; c < len(g.Siblings) && len(g.Siblings[c]) > 0 {
		threads = len(g.Siblings[c])
	}
	s := wire.Shape{Nodes: nodes, LLCs: llcs, Threads: threads, Cores: cpus / (llcs * threads)}
	if s.CPUs() != cpus || llcs%nodes != 0 {
		return fmt.Sprintf("%dcpus", cpus)
	}
	return s.String()
}

// WriteHostResult writes r into the result files of its kernel's run
// directory and returns the file's path.
func WriteHostResult(r sidecar.Result) (string, error) {
	w := sidecar.DefaultWriter(r.KernelVersion)
	return w.Path(&r), w.Write(r)
}

// fillSidecarStats copies the guest's check figures into the sidecar,
// under the metric names `ktstr stats` compares.
func fillSidecarStats(s *sidecar.Result, res *wire.Result) {
	for _, p := range res.Timeline {
		s.Steps = append(s.Steps, sidecar.Step{Name: p.Name, Start: p.At, Duration: p.End - p.At})
	}
	for _, p := range res.Payloads {
		if s.PayloadMetrics == nil && len(p.Metrics) > 0 {
			s.PayloadMetrics = map[string]float64{}
		}
		for name, v := range p.Metrics {
			s.PayloadMetrics[p.Name+"."+name] = v
		}
	}
	if res.Checks == nil {
		return
	}
	st := res.Checks.Stats
	s.Stats.Overall = sidecar.Metrics{
		sidecar.MetricTotalWorkers:             float64(st.Workers),
		sidecar.MetricTotalCPUs:                float64(len(st.CPUs)),
		sidecar.MetricTotalIterations:          float64(st.WorkUnits),
		sidecar.MetricTotalMigrations:          float64(st.Migrations),
		sidecar.MetricWorstSpread:              st.WorstSpreadPct,
		sidecar.MetricWorstGapMS:               ms(st.WorstGap),
		sidecar.MetricWorstMigrationRatio:      st.WorstMigrationRatio,
		sidecar.MetricWorstP99WakeLatencyUS:    us(st.WorstP99WakeLatency),
		sidecar.MetricWorstMedianWakeLatencyUS: us(st.WorstMedianWakeLatency),
		sidecar.MetricWorstWakeLatencyCV:       st.WorstWakeLatencyCV,
		sidecar.MetricWorstMeanRunDelayUS:      us(st.WorstMeanRunDelay),
		sidecar.MetricWorstRunDelayUS:          us(st.WorstMaxRunDelay),
		sidecar.MetricWorstIterationsPerWorker: st.WorstUnitsPerWorker,
		sidecar.MetricWorstPageLocality:        st.WorstPageLocality,
	}
	s.Stats.Cgroups = map[string]sidecar.Metrics{}
	for _, c := range st.Cgroups {
		s.Stats.Cgroups[c.Name] = sidecar.Metrics{
			sidecar.MetricTotalWorkers:             float64(c.Workers),
			sidecar.MetricTotalIterations:          float64(c.WorkUnits),
			sidecar.MetricTotalMigrations:          float64(c.Migrations),
			sidecar.MetricWorstSpread:              c.SpreadPct,
			sidecar.MetricWorstGapMS:               ms(c.MaxGap),
			sidecar.MetricWorstMigrationRatio:      c.MigrationRatio,
			sidecar.MetricWorstP99WakeLatencyUS:    us(c.P99WakeLatency),
			sidecar.MetricWorstMedianWakeLatencyUS: us(c.MedianWakeLatency),
			sidecar.MetricWorstWakeLatencyCV:       c.WakeLatencyCV,
			sidecar.MetricWorstMeanRunDelayUS:      us(c.MeanRunDelay),
			sidecar.MetricWorstRunDelayUS:          us(c.MaxRunDelay),
			sidecar.MetricWorstIterationsPerWorker: c.UnitsPerWorker,
			sidecar.MetricWorstPageLocality:        c.PageLocality,
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// kernelLabel is the kernel's element of the job's name, when the test was
// split by kernel.
func kernelLabel(j Job) string {
	if j.Variant.Kernel == "" {
		return ""
	}
	l := gauntlet.KernelName(j.Variant.Kernel)
	if !strings.HasSuffix(j.Name, "/"+l) {
		return ""
	}
	return l
}

// writeSkipped writes the result file of a variant that did not run.
func writeSkipped(t *testing.T, j Job, why string) {
	k, err := ResolveKernel(j.Kernel)
	if err != nil {
		return
	}
	r := sidecar.Result{TestName: j.Name, Topology: j.Topology.String(), Scheduler: j.Scheduler.Name,
		Flags: j.Variant.Profile.Flags, KernelVersion: k.Version, KernelLabel: kernelLabel(j), Skipped: true, SkipReason: why}
	if err := writerFor(k).Write(r); err != nil {
		t.Logf("ktstr: writing the result file: %v", err)
	}
}
