package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ktstr-go/ktstr/internal/guestmem"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// Bounds on what one sample reads: a list the guest changes while the host
// walks it may loop or lead anywhere, and the host must not follow it far.
const (
	maxWaiting   = 32  // waiting tasks recorded per CPU
	maxListSteps = 128 // list nodes followed per CPU
	maxUserDSQs  = 256 // user DSQs summed
	maxBuckets   = 1 << 14
)

// Reader reads samples of one running guest.
type Reader struct {
	k      *guestmem.Kernel
	l      Layout
	syms   map[string]uint64
	nodes  int
	rqs    []uint64 // each CPU's runqueue
	percpu []uint64 // __per_cpu_offset
	rq     []byte   // one runqueue, read whole
	task   []byte   // the part of a task_struct read
	taskLo uint64   // offset of task[0] in task_struct
	events []string // the counters this kernel has, in Events order
	// eventsFailed tells that reading the counters failed once already.
	eventsFailed bool
	// Notes says what this kernel or guest cannot give.
	Notes []string
}

// NewReader prepares to sample a guest with cpus CPUs on nodes NUMA nodes.
// It checks the address translation: each CPU's runqueue must name its
// CPU, or guest memory is not laid out as assumed (see guestmem.Order).
func NewReader(k *guestmem.Kernel, l Layout, syms map[string]uint64, cpus, nodes int) (*Reader, error) {
	for _, s := range wire.KernelSymbols[:wire.RequiredSymbols] {
		if syms[s] == 0 {
			return nil, fmt.Errorf("the guest did not give kernel symbol %s", s)
		}
	}
	r := &Reader{k: k, l: l, syms: syms, nodes: nodes, rq: make([]byte, l.RqSize), Notes: slices.Clone(l.Notes)}
	off := make([]byte, 8*cpus)
	if err := k.Read(off, syms["__per_cpu_offset"]); err != nil {
		return nil, fmt.Errorf("reading __per_cpu_offset: %w", err)
	}
	for c := range cpus {
		r.percpu = append(r.percpu, binary.LittleEndian.Uint64(off[8*c:]))
		r.rqs = append(r.rqs, syms["runqueues"]+r.percpu[c])
		if err := k.Read(r.rq, r.rqs[c]); err != nil {
			return nil, fmt.Errorf("reading CPU %d's runqueue: %w", c, err)
		}
		if got := int32(binary.LittleEndian.Uint32(r.rq[l.RqCPU.off:])); got != int32(c) {
			return nil, fmt.Errorf("CPU %d's runqueue says it is CPU %d: guest memory is not where it was looked for", c, got)
		}
	}
	// The task fields read, as one window of the task_struct.
	var offs []uint64
	for _, f := range []Field{l.TaskPID, l.TaskComm, l.TaskPolicy, l.TaskCPUsPtr} {
		if f.ok {
			offs = append(offs, f.off)
		}
	}
	if len(offs) > 0 {
		r.taskLo = slices.Min(offs)
		r.task = make([]byte, slices.Max(offs)+16-r.taskLo)
	}
	for _, e := range Events {
		if _, ok := l.PcpuEvents[e]; ok {
			r.events = append(r.events, e)
		}
	}
	if syms["scx_root"] == 0 && l.SchedPcpu.ok {
		r.Notes = append(r.Notes, "the guest gave no scx_root symbol: no sched_ext figures")
	}
	return r, nil
}

// EventNames returns the names of the event counters in CPU.Events.
func (r *Reader) EventNames() []string { return r.events }

// Sample reads every CPU once. A read the guest raced with yields what it
// yields: the checks ask for a limit exceeded in several samples in a row.
func (r *Reader) Sample() (Sample, error) {
	var s Sample
	j, err := r.k.U64(r.syms["jiffies_64"])
	if err != nil {
		return s, err
	}
	s.Jiffies = j
	s.SCX = r.scx()
	s.CPUs = make([]CPU, len(r.rqs))
	for c := range r.rqs {
		if err := r.cpu(c, &s.CPUs[c], s.SCX != nil); err != nil {
			return s, fmt.Errorf("CPU %d: %w", c, err)
		}
	}
	return s, nil
}

func (r *Reader) u32(b []byte, f Field) uint32 { return binary.LittleEndian.Uint32(b[f.off:]) }
func (r *Reader) u64(b []byte, f Field) uint64 { return binary.LittleEndian.Uint64(b[f.off:]) }

func (r *Reader) cpu(c int, out *CPU, scx bool) error {
	l := &r.l
	if err := r.k.Read(r.rq, r.rqs[c]); err != nil {
		return err
	}
	out.NrRunning = r.u32(r.rq, l.RqNrRunning)
	out.Clock = r.u64(r.rq, l.RqClock)
	curr := r.u64(r.rq, l.RqCurr)
	out.Idle = l.RqIdle.ok && curr == r.u64(r.rq, l.RqIdle)
	if scx {
		if l.RqSCXNrRunning.ok {
			out.SCXNrRunning = r.u32(r.rq, l.RqSCXNrRunning)
		}
		if l.RqLocalDSQNr.ok {
			out.LocalDSQ = r.u32(r.rq, l.RqLocalDSQNr)
		}
	}
	if !out.Idle && r.task != nil {
		if t, _, err := r.readTask(curr, false); err == nil {
			out.Curr = t
		}
	}
	// The runnable tasks queued here: EEVDF's on rq->cfs_tasks, sched_ext's
	// on rq->scx.runnable_list (a sched_ext task is there even while it
	// sits in a global or user DSQ).
	if l.RqCFSTasks.ok && l.TaskGroupNode.ok {
		out.Waiting = r.walk(r.rqs[c]+l.RqCFSTasks.off, r.rq[l.RqCFSTasks.off:], l.TaskGroupNode.off, curr, out.Waiting)
	}
	if scx && l.RqRunnableList.ok && l.TaskRunnableNode.ok {
		out.Waiting = r.walk(r.rqs[c]+l.RqRunnableList.off, r.rq[l.RqRunnableList.off:], l.TaskRunnableNode.off, curr, out.Waiting)
	}
	if scx && r.events != nil {
		ev, err := r.cpuEvents(c)
		if err != nil && !r.eventsFailed {
			// Once is enough: it fails the same way every sample.
			r.eventsFailed = true
			r.Notes = append(r.Notes, "sched_ext event counters unreadable: "+err.Error())
		}
		out.Events = ev
	}
	return nil
}

// walk follows the list whose head is at address head (its first word in
// headBytes) to tasks linked at nodeOff, skipping curr.
func (r *Reader) walk(head uint64, headBytes []byte, nodeOff, curr uint64, out []Waiter) []Waiter {
	node := binary.LittleEndian.Uint64(headBytes)
	for step := 0; node != head && node != 0 && step < maxListSteps && len(out) < maxWaiting; step++ {
		task := node - nodeOff
		if task != curr {
			if t, allowed, err := r.readTask(task, true); err == nil {
				out = append(out, Waiter{PID: t.PID, Allowed: allowed})
			} else {
				break
			}
		}
		next, err := r.k.U64(node)
		if err != nil {
			break
		}
		node = next
	}
	return out
}

// readTask reads a task's pid, name and policy, and, when mask is set,
// the CPUs it may run on.
func (r *Reader) readTask(task uint64, mask bool) (Task, []uint64, error) {
	l := &r.l
	if err := r.k.Read(r.task, task+r.taskLo); err != nil {
		return Task{}, nil, err
	}
	at := func(f Field) []byte { return r.task[f.off-r.taskLo:] }
	var t Task
	if l.TaskPID.ok {
		t.PID = int32(binary.LittleEndian.Uint32(at(l.TaskPID)))
	}
	if l.TaskComm.ok {
		c := at(l.TaskComm)[:16]
		if i := slices.Index(c, 0); i >= 0 {
			c = c[:i]
		}
		t.Comm = strings.ToValidUTF8(string(c), "?")
	}
	if l.TaskPolicy.ok {
		t.Policy = binary.LittleEndian.Uint32(at(l.TaskPolicy))
	}
	if !mask || !l.TaskCPUsPtr.ok {
		return t, nil, nil
	}
	words := (len(r.rqs) + 63) / 64
	allowed := make([]uint64, words)
	p := binary.LittleEndian.Uint64(at(l.TaskCPUsPtr))
	buf := make([]byte, 8*words)
	if p >= task+r.taskLo && p+uint64(len(buf)) <= task+r.taskLo+uint64(len(r.task)) {
		// Usually &task->cpus_mask, inside the window already read.
		copy(buf, r.task[p-task-r.taskLo:])
	} else if err := r.k.Read(buf, p); err != nil {
		return t, nil, err
	}
	for i := range allowed {
		allowed[i] = binary.LittleEndian.Uint64(buf[8*i:])
	}
	return t, allowed, nil
}

// scx reads the sched_ext scheduler's state; nil when none is attached.
func (r *Reader) scx() *SCX {
	l := &r.l
	root := r.syms["scx_root"]
	if root == 0 {
		return r.scxStatic()
	}
	sch, err := r.k.Pointer(root)
	if err != nil || sch == 0 {
		return nil
	}
	s := &SCX{EnableState: -1, GlobalDSQ: -1, UserDSQ: -1, UserDSQs: -1}
	if v := r.syms["scx_enable_state_var"]; v != 0 {
		if w, err := r.k.U64(v); err == nil {
			s.EnableState = int32(uint32(w))
		}
	}
	if l.SchedPnode.ok && l.PnodeGlobalNr.ok {
		if n, err := r.globalDSQ(sch); err == nil {
			s.GlobalDSQ = n
		}
	}
	if l.SchedDSQHashTbl.ok && l.BucketSize.ok && l.BucketBuckets.ok && l.DSQNr.ok && l.DSQHashNode.ok {
		if sum, n, err := r.userDSQs(sch); err == nil {
			s.UserDSQ, s.UserDSQs = sum, n
		}
	}
	return s
}

// scxStatic reads the state of a kernel before struct scx_sched (6.12):
// the enable state in scx_ops_enable_state_var, the global DSQs in the
// per-node array global_dsqs, the user DSQs in the rhashtable dsq_hash.
func (r *Reader) scxStatic() *SCX {
	l := &r.l
	v := r.syms["scx_ops_enable_state_var"]
	if v == 0 {
		return nil
	}
	w, err := r.k.Pointer(v)
	if err != nil || uint32(w) == scxOpsDisabled {
		return nil
	}
	s := &SCX{EnableState: int32(uint32(w)), GlobalDSQ: -1, UserDSQ: -1, UserDSQs: -1}
	if g := r.syms["global_dsqs"]; g != 0 && l.DSQNr.ok {
		if arr, err := r.k.Pointer(g); err == nil && arr != 0 {
			if n, err := r.sumDSQs(arr, l.DSQNr.off); err == nil {
				s.GlobalDSQ = n
			}
		}
	}
	if h := r.syms["dsq_hash"]; h != 0 && l.RhashtableTbl.ok && l.BucketSize.ok && l.BucketBuckets.ok && l.DSQNr.ok && l.DSQHashNode.ok {
		if tbl, err := r.k.Pointer(h + l.RhashtableTbl.off); err == nil {
			if sum, n, err := r.userDSQsIn(tbl); err == nil {
				s.UserDSQ, s.UserDSQs = sum, n
			}
		}
	}
	return s
}

// scxOpsDisabled is SCX_OPS_DISABLED in 6.12's enum scx_ops_enable_state.
const scxOpsDisabled = 3

func (r *Reader) globalDSQ(sch uint64) (int64, error) {
	pnode, err := r.k.U64(sch + r.l.SchedPnode.off)
	if err != nil {
		return 0, err
	}
	return r.sumDSQs(pnode, r.l.PnodeGlobalNr.off)
}

// sumDSQs sums the depths at nrOff in the per-node structs an array of
// pointers at arr points to.
func (r *Reader) sumDSQs(arr, nrOff uint64) (int64, error) {
	var sum int64
	for n := range r.nodes {
		p, err := r.k.U64(arr + 8*uint64(n))
		if err != nil {
			return 0, err
		}
		nr, err := r.k.U64(p + nrOff)
		if err != nil {
			return 0, err
		}
		sum += int64(uint32(nr))
	}
	return sum, nil
}

// userDSQs sums the depths of the scheduler's own DSQs, which the kernel
// keeps in an rhashtable: buckets of chains ending in an odd "nulls"
// marker; a bucket pointer's low bit is its lock.
func (r *Reader) userDSQs(sch uint64) (sum, n int64, err error) {
	l := &r.l
	tbl, err := r.k.U64(sch + l.SchedDSQHashTbl.off)
	if err != nil {
		return 0, 0, err
	}
	return r.userDSQsIn(tbl)
}

// userDSQsIn sums the depths of the DSQs in the rhashtable bucket table
// at tbl.
func (r *Reader) userDSQsIn(tbl uint64) (sum, n int64, err error) {
	l := &r.l
	size64, err := r.k.U64(tbl + l.BucketSize.off)
	if err != nil {
		return 0, 0, err
	}
	size := uint32(size64)
	if size == 0 || size > maxBuckets {
		return 0, 0, errors.New("implausible DSQ hash table size")
	}
	buckets := make([]byte, 8*int(size))
	if err := r.k.Read(buckets, tbl+l.BucketBuckets.off); err != nil {
		return 0, 0, err
	}
	for b := range int(size) {
		node := binary.LittleEndian.Uint64(buckets[8*b:]) &^ 1
		for node != 0 && node&1 == 0 && n < maxUserDSQs {
			dsq := node - l.DSQHashNode.off
			nr, err := r.k.U64(dsq + l.DSQNr.off)
			if err != nil {
				return 0, 0, err
			}
			sum += int64(uint32(nr))
			n++
			if node, err = r.k.U64(node); err != nil {
				return 0, 0, err
			}
		}
	}
	return sum, n, nil
}

// cpuEvents reads CPU c's sched_ext event counters.
func (r *Reader) cpuEvents(c int) ([]int64, error) {
	sch, err := r.k.Pointer(r.syms["scx_root"])
	if err != nil || sch == 0 {
		return nil, err
	}
	pcpu, err := r.k.U64(sch + r.l.SchedPcpu.off)
	if err != nil {
		return nil, err
	}
	base := pcpu + r.percpu[c]
	lo, hi := ^uint64(0), uint64(0)
	for _, e := range r.events {
		f := r.l.PcpuEvents[e]
		lo, hi = min(lo, f.off), max(hi, f.off+8)
	}
	buf := make([]byte, hi-lo)
	if err := r.k.Read(buf, base+lo); err != nil {
		return nil, err
	}
	out := make([]int64, len(r.events))
	for i, e := range r.events {
		out[i] = int64(binary.LittleEndian.Uint64(buf[r.l.PcpuEvents[e].off-lo:]))
	}
	return out, nil
}
