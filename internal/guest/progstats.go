//go:build linux

package guest

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// The figures of a sched_ext scheduler's BPF programs: how many
// instructions the verifier processed for each (read once the scheduler
// has attached) and how often each ran and for how long (read just before
// the scheduler is stopped).
//
// The programs are found exactly, through the scheduler's own file
// descriptors: /proc/<pid>/fdinfo gives a prog_id for every program fd and
// for every BPF link fd that holds a program. A libbpf skeleton keeps the
// fds of all its programs open until it is destroyed, after the scheduler
// detaches, and so does a cilium/ebpf loader that keeps its collection.
// On 7.3.4 that found every program of scx_simple (its 8 callbacks and
// libbpf's scx_lib_init_probe) and of scx_qmap (24 callbacks, a syscall
// program and the probe): each program in the guest, listed by id, and no
// other (TestVM/VerifierFigures checks it for scx_simple). A loader that closes its
// program fds once attached still leaves its callbacks in the struct_ops
// map, which is read then (progstructops.go); a note says what is missing.
//
// The programs are opened by id once found and held until the end: a
// scheduler that dies or is ejected during the test still has its figures
// read at the end, up to its death.

// schedPrograms follows one scheduler's BPF programs.
type schedPrograms struct {
	// runStats keeps the kernel counting program runs; nil when that
	// could not be switched on.
	runStats io.Closer
	held     []heldProgram
	notes    []string
	// mapIDs are the maps the scheduler's process held fds of when its
	// programs were found.
	mapIDs []uint32
}

type heldProgram struct {
	prog *ebpf.Program
	fig  wire.BPFProgram
}

// enableRunStats has the kernel count each BPF program's runs and run time
// (BPF_ENABLE_STATS, on while the returned fd is open). The kernel keeps it
// off by default because it costs on every program run: two sched_clock()
// reads (a TSC read each on x86) and an update of per-CPU counters with
// interrupts off, around each of the scheduler's callbacks, which run on
// every scheduling event. Measured here under deterministic TCG (guest
// time follows instructions), scx_simple, four yield-heavy workers on two
// CPUs, 3 s, about 200 000 callbacks a second: 144 000-151 000 work units
// with the stats on (5 runs) against 172 000-179 000 off (3 runs; 2 more
// off runs gave 535 000 and 812 000, unexplained): some 17 % less
// throughput for a workload that does little but get scheduled, and little
// for one that computes and is seldom scheduled. So it is on only when
// asked for (want: KTSTR_BPF_STATS=1, and ktstr verifier), never behind
// the throughput figures of an ordinary run. Switching it on or off
// patches a static key in the kernel text, as attaching a scheduler does:
// it goes on just before the scheduler starts and off once it has
// stopped, so the counts cover the scheduler's whole life.
func enableRunStats(want bool) (*schedPrograms, error) {
	if !want {
		return &schedPrograms{}, fmt.Errorf("run counts and times not taken: BPF stats cost every callback, so they are on only with %s=1 (or ktstr verifier)", env.BPFStats)
	}
	c, err := ebpf.EnableStats(unix.BPF_STATS_RUN_TIME)
	if err != nil {
		return &schedPrograms{}, fmt.Errorf("run counts and times unknown: enabling BPF stats: %w", err)
	}
	return &schedPrograms{runStats: c}, nil
}

// open finds the programs of process pid, holds them open and reads what
// the verifier did with each.
//
// The struct_ops map is read only when the fds show no struct_ops program
// (the loader closed them): reading it, the kernel's BTF with it, took
// 0.5-1.8 s under TCG, for programs a skeleton's fds already give.
func (sp *schedPrograms) open(pid int) {
	if sp == nil {
		return
	}
	fds, err := processBPF(fmt.Sprintf("/proc/%d/fdinfo", pid))
	if err != nil {
		sp.note("BPF programs unknown: %v", err)
		return
	}
	sp.mapIDs = fds.maps
	maps := fds.structOps
	sp.hold(fds.progs)
	callbacks := slices.ContainsFunc(sp.held, func(h heldProgram) bool { return h.prog.Type() == ebpf.StructOps })
	if len(maps) > 0 && !callbacks {
		byMap, err := structOpsProgramIDs(maps)
		if err != nil {
			sp.note("the scheduler's callbacks unknown: it holds no fd of them and its struct_ops map could not be read: %v", err)
		}
		sp.hold(byMap)
	}
	if len(sp.held) == 0 {
		sp.note("BPF programs unknown: the scheduler (pid %d) holds no BPF program, link or struct_ops map", pid)
	}
}

// hold opens the programs ids (those not yet held) and reads their
// figures.
func (sp *schedPrograms) hold(ids []uint32) {
	for _, id := range ids {
		if slices.ContainsFunc(sp.held, func(h heldProgram) bool { return h.fig.ID == id }) {
			continue
		}
		prog, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
		if err != nil {
			sp.note("BPF program %d: %v", id, err)
			continue
		}
		fig, notes := programFigures(id, prog)
		sp.notes = append(sp.notes, notes...)
		sp.held = append(sp.held, heldProgram{prog: prog, fig: fig})
	}
	slices.SortFunc(sp.held, func(a, b heldProgram) int { return cmp.Compare(a.fig.ID, b.fig.ID) })
}

// ProgramIDs returns the ids of the BPF programs process pid holds, found
// both ways the harness has: byFD through its program and link fds, byMap
// through its sched_ext struct_ops maps. Each is sorted.
func ProgramIDs(pid int) (byFD, byMap []uint32, err error) {
	fds, err := processBPF(fmt.Sprintf("/proc/%d/fdinfo", pid))
	if err != nil {
		return nil, nil, err
	}
	byMap, err = structOpsProgramIDs(fds.structOps)
	return fds.progs, byMap, err
}

// programFigures reads prog's name, type, sizes and verified instructions,
// with a note for each figure the kernel did not give.
func programFigures(id uint32, prog *ebpf.Program) (wire.BPFProgram, []string) {
	fig := wire.BPFProgram{ID: id, Type: prog.Type().String()}
	info, err := prog.Info()
	if err != nil {
		return fig, []string{fmt.Sprintf("BPF program %d (%s): no info: %v", id, fig.Type, err)}
	}
	fig.Name = info.Name
	if fig.Name == "" {
		fig.Name = "prog" + strconv.FormatUint(uint64(id), 10)
	}
	var notes []string
	if n, ok := info.VerifiedInstructions(); ok {
		fig.VerifiedInsns = n
	} else {
		notes = append(notes, fmt.Sprintf("BPF program %s: the kernel gave no verified instruction count (it does from Linux 5.16)", fig.Name))
	}
	if n, err := info.TranslatedSize(); err == nil {
		fig.XlatedBytes = uint32(n)
	}
	// No JIT size means an interpreted program or a restricted kernel:
	// nothing to say about the scheduler, so no note.
	if n, err := info.JitedSize(); err == nil {
		fig.JitedBytes = n
	}
	return fig, notes
}

// allMapIDs returns the maps the scheduler's process held and those its
// held programs use, sorted, each once: a loader may close the fds of maps
// only its programs use.
func (sp *schedPrograms) allMapIDs() []uint32 {
	if sp == nil {
		return nil
	}
	ids := slices.Clone(sp.mapIDs)
	for _, h := range sp.held {
		info, err := h.prog.Info()
		if err != nil {
			continue
		}
		if used, ok := info.MapIDs(); ok {
			for _, id := range used {
				ids = append(ids, uint32(id))
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// readRuns reads each held program's run count and run time.
func (sp *schedPrograms) readRuns() {
	if sp == nil || sp.runStats == nil {
		return
	}
	for i := range sp.held {
		h := &sp.held[i]
		st, err := h.prog.Stats()
		if err != nil {
			sp.note("BPF program %s: run count unknown: %v", h.fig.Name, err)
			continue
		}
		h.fig.Counted, h.fig.RunCount, h.fig.RunTime = true, st.RunCount, st.Runtime
	}
}

// close lets go of the programs and the run statistics, and returns the
// figures and the notes.
func (sp *schedPrograms) close() ([]wire.BPFProgram, []string) {
	if sp == nil {
		return nil, nil
	}
	var figs []wire.BPFProgram
	for _, h := range sp.held {
		figs = append(figs, h.fig)
		_ = h.prog.Close()
	}
	sp.held = nil
	if sp.runStats != nil {
		_ = sp.runStats.Close()
		sp.runStats = nil
	}
	return figs, sp.notes
}

func (sp *schedPrograms) note(format string, args ...any) {
	sp.notes = append(sp.notes, fmt.Sprintf(format, args...))
}
