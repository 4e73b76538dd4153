package monitor

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cilium/ebpf/btf"
)

// Field is a member's offset in its struct, or missing.
type Field struct {
	off uint64
	ok  bool
}

// Present reports whether the kernel has the field.
func (f Field) Present() bool { return f.ok }

// Offset is the field's offset in bytes.
func (f Field) Offset() uint64 { return f.off }

// Layout holds the offsets the monitor reads, from the kernel's BTF. A
// Field the kernel lacks is missing, and Notes says which figures that
// loses.
type Layout struct {
	RqSize uint64
	// struct rq
	RqNrRunning, RqCurr, RqIdle, RqClock, RqCPU, RqCFSTasks Field
	RqSCXNrRunning, RqLocalDSQNr, RqRunnableList            Field
	// struct task_struct
	TaskPID, TaskComm, TaskPolicy, TaskCPUsPtr Field
	TaskGroupNode, TaskRunnableNode            Field
	// struct scx_sched
	SchedPcpu, SchedPnode, SchedDSQHashTbl, SchedWatchdogTimeout Field
	// struct scx_sched_pcpu: the event counters, by name
	PcpuEvents map[string]Field
	// struct scx_sched_pnode
	PnodeGlobalNr Field
	// struct scx_dispatch_q
	DSQNr, DSQHashNode Field
	// struct bucket_table
	BucketSize, BucketBuckets Field
	// struct rhashtable: 6.12's static dsq_hash, before struct scx_sched
	RhashtableTbl Field

	// Notes says which figures this kernel cannot give, and why.
	Notes []string
}

// Events are the sched_ext event counters the monitor reads, by their
// names in struct scx_event_stats (SCX_EV_ prefix dropped, lower case in
// reports).
var Events = []string{
	"SELECT_CPU_FALLBACK", "DISPATCH_LOCAL_DSQ_OFFLINE", "DISPATCH_KEEP_LAST",
	"ENQ_SKIP_EXITING", "ENQ_SKIP_MIGRATION_DISABLED", "REFILL_SLICE_DFL",
	"BYPASS_DURATION", "BYPASS_DISPATCH", "BYPASS_ACTIVATE", "INSERT_NOT_OWNED",
}

var layouts sync.Map // vmlinux path -> Layout or error

// LayoutOf reads the layout from vmlinux's .BTF section, once per path.
func LayoutOf(vmlinux string) (Layout, error) {
	if v, ok := layouts.Load(vmlinux); ok {
		if err, bad := v.(error); bad {
			return Layout{}, err
		}
		return v.(Layout), nil
	}
	spec, err := loadBTF(vmlinux)
	var l Layout
	if err == nil {
		l, err = NewLayout(spec)
	}
	if err != nil {
		layouts.Store(vmlinux, err)
		return Layout{}, err
	}
	layouts.Store(vmlinux, l)
	return l, nil
}

func loadBTF(vmlinux string) (*btf.Spec, error) {
	if vmlinux == "" {
		return nil, errors.New("the host knows no vmlinux for this kernel")
	}
	f, err := elf.Open(vmlinux)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sec := f.Section(".BTF")
	if sec == nil {
		return nil, fmt.Errorf("%s has no .BTF section; build the kernel with CONFIG_DEBUG_INFO_BTF=y", vmlinux)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", vmlinux, err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", vmlinux, err)
	}
	return spec, nil
}

// NewLayout resolves the layout in a kernel's BTF. Only struct rq's
// nr_running, clock, cpu and curr are required; without them there is
// nothing to monitor.
func NewLayout(spec *btf.Spec) (Layout, error) {
	r := resolver{spec: spec}
	var l Layout
	if s, err := r.strct("rq"); err == nil {
		l.RqSize = uint64(s.Size)
	}
	l.RqNrRunning = r.field("rq", "nr_running")
	l.RqCurr = r.field("rq", "curr")
	l.RqIdle = r.field("rq", "idle")
	l.RqClock = r.field("rq", "clock")
	l.RqCPU = r.field("rq", "cpu")
	for _, f := range []Field{l.RqNrRunning, l.RqCurr, l.RqClock, l.RqCPU} {
		if !f.ok {
			return Layout{}, fmt.Errorf("struct rq lacks a Field the monitor needs: %s", strings.Join(r.missing, "; "))
		}
	}
	l.RqCFSTasks = r.field("rq", "cfs_tasks")
	l.TaskPID = r.field("task_struct", "pid")
	l.TaskComm = r.field("task_struct", "comm")
	l.TaskPolicy = r.field("task_struct", "policy")
	l.TaskCPUsPtr = r.field("task_struct", "cpus_ptr")
	l.TaskGroupNode = r.field("task_struct", "se.group_node")
	l.note(r.take(), "the current task's pid, name and policy, and which tasks wait where (work conservation)")

	l.RqSCXNrRunning = r.field("rq", "scx.nr_running")
	l.RqLocalDSQNr = r.field("rq", "scx.local_dsq.nr")
	l.RqRunnableList = r.field("rq", "scx.runnable_list")
	l.TaskRunnableNode = r.field("task_struct", "scx.runnable_node")
	l.note(r.take(), "the sched_ext figures (kernel without sched_ext?)")

	// struct scx_sched came in 6.16; 6.12 LTS keeps the scheduler's state
	// in static variables (the Reader reads those) and has no event
	// counters. Its absence is a note, not a loss of the figures.
	if _, err := r.strct("scx_sched"); err == nil {
		l.SchedPcpu = r.field("scx_sched", "pcpu")
		l.SchedWatchdogTimeout = r.field("scx_sched", "watchdog_timeout")
		l.SchedPnode = r.field("scx_sched", "pnode")
		l.SchedDSQHashTbl = r.field("scx_sched", "dsq_hash.tbl")
		l.PnodeGlobalNr = r.field("scx_sched_pnode", "global_dsq.nr")
		l.note(r.take(), "some of the root scheduler's state")
		l.PcpuEvents = map[string]Field{}
		for _, e := range Events {
			if f := r.field("scx_sched_pcpu", "event_stats.SCX_EV_"+e); f.ok {
				l.PcpuEvents[e] = f
			}
		}
		l.note(r.take(), "some sched_ext event counters")
	} else if l.RqSCXNrRunning.ok {
		l.Notes = append(l.Notes, "this kernel has no struct scx_sched (before 6.16): sched_ext state read from its static variables, no event counters")
	}
	l.DSQNr = r.field("scx_dispatch_q", "nr")
	l.DSQHashNode = r.field("scx_dispatch_q", "hash_node")
	l.BucketSize = r.field("bucket_table", "size")
	l.BucketBuckets = r.field("bucket_table", "buckets")
	l.RhashtableTbl = r.field("rhashtable", "tbl")
	l.note(r.take(), "the global and user dispatch queues' depths")
	return l, nil
}

func (l *Layout) note(missing []string, loses string) {
	if len(missing) > 0 {
		l.Notes = append(l.Notes, fmt.Sprintf("this kernel's BTF lacks %s: no %s", strings.Join(missing, ", "), loses))
	}
}

// resolver finds member offsets by dotted path, looking through anonymous
// structs and unions (struct rq's curr is in one), and collects what it
// could not find.
type resolver struct {
	spec    *btf.Spec
	missing []string
}

func (r *resolver) take() []string {
	m := r.missing
	r.missing = nil
	return m
}

func (r *resolver) strct(name string) (*btf.Struct, error) {
	var s *btf.Struct
	err := r.spec.TypeByName(name, &s)
	return s, err
}

func (r *resolver) field(typ, path string) Field {
	s, err := r.strct(typ)
	if err == nil {
		if off, ok := memberOffset(s, strings.Split(path, ".")); ok {
			return Field{off, true}
		}
	}
	r.missing = append(r.missing, typ+"."+path)
	return Field{}
}

// memberOffset returns the byte offset of the member at path in a struct
// or union type.
func memberOffset(t btf.Type, path []string) (uint64, bool) {
	var members []btf.Member
	switch t := btf.UnderlyingType(t).(type) {
	case *btf.Struct:
		members = t.Members
	case *btf.Union:
		members = t.Members
	default:
		return 0, false
	}
	for _, m := range members {
		if m.Name == path[0] {
			if len(path) == 1 {
				return uint64(m.Offset.Bytes()), true
			}
			if off, ok := memberOffset(m.Type, path[1:]); ok {
				return uint64(m.Offset.Bytes()) + off, true
			}
			return 0, false
		}
	}
	for _, m := range members {
		if m.Name == "" {
			if off, ok := memberOffset(m.Type, path); ok {
				return uint64(m.Offset.Bytes()) + off, true
			}
		}
	}
	return 0, false
}
