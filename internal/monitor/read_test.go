package monitor

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/internal/guestmem"
)

// fakeGuest is a small synthetic guest: a kernel image at physical 0, the
// direct map at pageOffset, two CPUs' runqueues and three tasks, laid out
// by a hand-made Layout.
type fakeGuest struct {
	mem  guestmem.Image
	syms map[string]uint64
	l    Layout
}

const (
	imageVA    = 0xffffffff80000000
	pageOffset = 0xff11000000000000
)

func f(off uint64) Field { return Field{off, true} }

func newFakeGuest() *fakeGuest {
	g := &fakeGuest{mem: make(guestmem.Image, 1<<20)}
	put64 := func(pa, v uint64) { binary.LittleEndian.PutUint64(g.mem[pa:], v) }
	put32 := func(pa uint64, v uint32) { binary.LittleEndian.PutUint32(g.mem[pa:], v) }
	g.syms = map[string]uint64{
		"phys_base": imageVA + 0x1000, "page_offset_base": imageVA + 0x1008,
		"jiffies_64": imageVA + 0x1010, "__per_cpu_offset": imageVA + 0x1020,
		"runqueues": 0x100, // zero-based per-CPU variable
	}
	put64(0x1008, pageOffset)
	put64(0x1010, 4242)
	g.l = Layout{RqSize: 128, RqNrRunning: f(0), RqCurr: f(8), RqIdle: f(16), RqClock: f(24), RqCPU: f(32), RqCFSTasks: f(40),
		TaskPID: f(0), TaskComm: f(8), TaskPolicy: f(24), TaskCPUsPtr: f(32), TaskGroupNode: f(64)}
	rq := func(cpu int) uint64 { return 0x10000 + uint64(cpu)*0x1000 + 0x100 } // physical
	task := func(i int) uint64 { return 0x20000 + uint64(i)*0x100 }
	mkTask := func(i int, pid uint32, comm string, allowed uint64) {
		pa := task(i)
		put32(pa, pid)
		copy(g.mem[pa+8:], comm)
		put64(pa+32, pageOffset+pa+40) // cpus_ptr = &its own mask
		put64(pa+40, allowed)
	}
	mkTask(0, 0, "swapper/0", 1) // the idle tasks
	mkTask(1, 0, "swapper/1", 2)
	mkTask(2, 100, "spin", 3) // running on CPU 0
	mkTask(3, 101, "spin", 3) // waiting on CPU 0
	for cpu := range 2 {
		put64(0x1020+8*uint64(cpu), pageOffset+0x10000+uint64(cpu)*0x1000)
		pa := rq(cpu)
		put32(pa+32, uint32(cpu))
		put64(pa+16, pageOffset+task(cpu))
		put64(pa+24, 1e9+uint64(cpu))
		head := pageOffset + pa + 40
		put64(pa+40, head) // empty list: next = head
	}
	// CPU 0 runs task 2, with tasks 2 and 3 on its cfs_tasks list.
	pa := rq(0)
	put32(pa, 2)
	put64(pa+8, pageOffset+task(2))
	head := pageOffset + pa + 40
	n2, n3 := pageOffset+task(2)+64, pageOffset+task(3)+64
	put64(pa+40, n2)
	put64(task(2)+64, n3)
	put64(task(3)+64, head)
	// CPU 1 runs its idle task.
	put64(rq(1)+8, pageOffset+task(1))
	return g
}

func (g *fakeGuest) reader(t *testing.T) *Reader {
	t.Helper()
	k, err := guestmem.NewKernel(g.mem, g.syms)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(k, g.l, g.syms, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSampleDecoding(t *testing.T) {
	g := newFakeGuest()
	s, err := g.reader(t).Sample()
	if err != nil {
		t.Fatal(err)
	}
	if s.Jiffies != 4242 || len(s.CPUs) != 2 || s.SCX != nil {
		t.Fatalf("sample %+v", s)
	}
	c0, c1 := s.CPUs[0], s.CPUs[1]
	if c0.NrRunning != 2 || c0.Idle || c0.Curr.PID != 100 || c0.Curr.Comm != "spin" || c0.Clock != 1e9 {
		t.Errorf("CPU 0: %+v", c0)
	}
	if len(c0.Waiting) != 1 || c0.Waiting[0].PID != 101 || !slices.Equal(c0.Waiting[0].Allowed, []uint64{3}) {
		t.Errorf("CPU 0 waiting: %+v, want pid 101 allowed on CPUs 0-1", c0.Waiting)
	}
	if !c1.Idle || c1.NrRunning != 0 || len(c1.Waiting) != 0 {
		t.Errorf("CPU 1: %+v, want idle", c1)
	}
}

// TestReaderChecksLayout refuses memory that is not where it was looked
// for: a runqueue naming another CPU.
func TestReaderChecksLayout(t *testing.T) {
	g := newFakeGuest()
	binary.LittleEndian.PutUint32(g.mem[0x11100+32:], 7)
	k, err := guestmem.NewKernel(g.mem, g.syms)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewReader(k, g.l, g.syms, 2, 1); err == nil || !strings.Contains(err.Error(), "CPU 1's runqueue says it is CPU 7") {
		t.Errorf("NewReader: %v, want the CPU mismatch", err)
	}
	delete(g.syms, "jiffies_64")
	if _, err := NewReader(k, g.l, g.syms, 2, 1); err == nil || !strings.Contains(err.Error(), "jiffies_64") {
		t.Errorf("NewReader without jiffies_64: %v", err)
	}
}

// TestCorruptList stops at a list that loops: the guest changed it while
// the host walked it.
func TestCorruptList(t *testing.T) {
	g := newFakeGuest()
	binary.LittleEndian.PutUint64(g.mem[0x20300+64:], pageOffset+0x20300+64) // task 3 points to itself
	s, err := g.reader(t).Sample()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.CPUs[0].Waiting); n != maxWaiting {
		t.Errorf("%d waiting tasks from a looping list, want the bound %d", n, maxWaiting)
	}
}
