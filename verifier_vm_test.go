package ktstr

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/host"
	"github.com/ktstr-go/ktstr/sidecar"
	"github.com/ktstr-go/ktstr/work"
)

// simpleCallbacks are scx_simple's callbacks, each a struct_ops program
// named after its function in scx_simple.bpf.c.
var simpleCallbacks = []string{
	"simple_select_cpu", "simple_enqueue", "simple_dispatch", "simple_running",
	"simple_stopping", "simple_enable", "simple_init", "simple_exit",
}

// testVerifierFigures runs scx_simple under spinners and checks that the
// result holds every one of its callbacks with the verifier's instruction
// count, and run counts for those that must have run while tasks
// switched: dispatch and running. In the guest, where nothing else loads
// BPF programs, the body checks that both ways the harness finds a
// scheduler's programs are complete: its fds give every program in the
// guest, and its struct_ops map every callback.
func testVerifierFigures(t *testing.T) {
	sched := scxSimple
	sched.BPFStats = true
	spec := Spec{Scheduler: sched, Topology: Topo(1, 1, 2, 1), Duration: time.Second}
	body := func(ctx *Ctx) error {
		if err := programsFoundBothWays(ctx); err != nil {
			return err
		}
		return groupsBody(work.Group{Type: work.Spin(), Workers: 3})(ctx)
	}
	vmTest(t, spec, body, func(t *testing.T, r *host.Outcome) {
		host.Report(t, r)
		if r.Result == nil || r.Result.Scheduler == nil {
			t.Fatal("no scheduler report")
		}
		rep := r.Result.Scheduler
		if len(rep.ProgramNotes) > 0 {
			t.Errorf("notes: %q", rep.ProgramNotes)
		}
		file := r.ResultFile()
		if file.BPF == nil {
			t.Fatal("the result file holds no BPF programs")
		}
		byName := map[string]sidecar.BPFProgram{}
		for _, p := range file.BPF.Programs {
			byName[p.Name] = p
			avg, _ := p.AvgRunNS()
			t.Logf("%-20s %-9s %6d verified insns %8d runs %8.0f ns each", p.Name, p.Type, p.VerifiedInsns, p.RunCount, avg)
		}
		var sum float64
		for _, name := range simpleCallbacks {
			p, ok := byName[name]
			switch {
			case !ok:
				t.Errorf("%s missing", name)
				continue
			case p.Type != ebpf.StructOps.String() || p.VerifiedInsns == 0 || !p.Counted:
				t.Errorf("%s: %+v, want a struct_ops program with verified instructions and counted runs", name, p)
			}
			if got := file.Stats.Overall[sidecar.VerifiedInsnsMetric(name)]; got != float64(p.VerifiedInsns) {
				t.Errorf("metric %s = %v, want %d", sidecar.VerifiedInsnsMetric(name), got, p.VerifiedInsns)
			}
			sum += float64(p.VerifiedInsns)
		}
		for _, name := range []string{"simple_dispatch", "simple_running"} {
			if p := byName[name]; p.RunCount == 0 || p.RunTimeNS == 0 {
				t.Errorf("%s: %d runs in %d ns, want some: tasks switched all along", name, p.RunCount, p.RunTimeNS)
			}
		}
		// The total also holds libbpf's own program, scx_lib_init_probe.
		if total := file.Stats.Overall[sidecar.MetricTotalVerifiedInsns]; total < sum {
			t.Errorf("%s = %v, less than the callbacks' %v", sidecar.MetricTotalVerifiedInsns, total, sum)
		}
	})
}

// programsFoundBothWays checks, in the guest, that the scheduler's fds
// hold every BPF program in the guest and that its struct_ops map holds
// every struct_ops program among them.
func programsFoundBothWays(ctx *Ctx) error {
	byFD, byMap, err := guest.ProgramIDs(ctx.SchedulerPID)
	if err != nil {
		return err
	}
	var all, structOps []uint32
	for id := ebpf.ProgramID(0); ; {
		next, err := ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			break
		} else if err != nil {
			return err
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			return err
		}
		all = append(all, uint32(id))
		if p.Type() == ebpf.StructOps {
			structOps = append(structOps, uint32(id))
		}
		p.Close()
	}
	ctx.Logf("BPF programs in the guest %v, the scheduler's by fd %v, in its struct_ops map %v", all, byFD, byMap)
	if !slices.Equal(byFD, all) {
		return fmt.Errorf("the scheduler's fds hold programs %v; the guest has %v", byFD, all)
	}
	if !slices.Equal(byMap, structOps) {
		return fmt.Errorf("the scheduler's struct_ops map holds programs %v; the guest's struct_ops programs are %v", byMap, structOps)
	}
	return nil
}
