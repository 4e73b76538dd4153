package bpfdump

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// memSection is a data section held in memory: what a map lookup and a
// write through the map's mapping do to the real one.
type memSection struct{ b []byte }

func (m *memSection) read() ([]byte, error) { return bytes.Clone(m.b), nil }

func (m *memSection) writeAt(b []byte, off uint32) error {
	copy(m.b[off:], b)
	return nil
}

// sections are a .bss with a flag, counters and an enum, and a frozen
// .rodata with a constant.
func sections() (bss, ro *memSection, secs []dataSection) {
	bss = &memSection{b: bytesOf(uint8(0), int8(-2), uint16(0), uint32(2), uint64(1<<63), int64(-7), uint64(3), uint64(4), uint64(5))}
	ro = &memSection{b: bytesOf(uint64(1e9))}
	secs = []dataSection{
		{ds: datasec(".bss", 48,
			variable("stop_dispatch", &btf.Volatile{Type: tBool}, 0, 1),
			variable("level", &btf.Typedef{Name: "s8", Type: &btf.Int{Name: "signed char", Size: 1, Encoding: btf.Signed}}, 1, 1),
			variable("class", tClass, 4, 4),
			variable("stall_cgid", &btf.Volatile{Type: tU64}, 8, 8),
			variable("delta", tS64, 16, 8),
			variable("stats", statsStruct, 24, 24),
		), sec: bss},
		{ds: datasec(".rodata", 8, variable("stop_after_ns", &btf.Const{Type: &btf.Volatile{Type: tU64}}, 0, 8)), frozen: true, sec: ro},
	}
	return bss, ro, secs
}

func mustVar(t *testing.T, secs []dataSection, name string) *Var {
	t.Helper()
	v, err := findVar(secs, name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVarRead reads variables by name, as numbers, bools, bytes and text.
func TestVarRead(t *testing.T) {
	_, _, secs := sections()
	if n, err := mustVar(t, secs, "stall_cgid").Uint(); err != nil || n != 1<<63 {
		t.Errorf("stall_cgid: %d, %v; want 1<<63", n, err)
	}
	if _, err := mustVar(t, secs, "stall_cgid").Int(); err == nil || !strings.Contains(err.Error(), "does not fit in an int64: read it with Uint") {
		t.Errorf("stall_cgid as Int: %v; want it refused", err)
	}
	if n, err := mustVar(t, secs, "delta").Int(); err != nil || n != -7 {
		t.Errorf("delta: %d, %v; want -7", n, err)
	}
	if n, err := mustVar(t, secs, "level").Int(); err != nil || n != -2 {
		t.Errorf("level: %d, %v; want -2", n, err)
	}
	if b, err := mustVar(t, secs, "stop_dispatch").Bool(); err != nil || b {
		t.Errorf("stop_dispatch: %v, %v; want false", b, err)
	}
	if n, err := mustVar(t, secs, "class").Uint(); err != nil || n != 2 {
		t.Errorf("class: %d, %v; want 2", n, err)
	}
	if s, err := mustVar(t, secs, "stats").Text(); err != nil || s != "{enqueued: 3, dispatched: 4, stalled: 5}" {
		t.Errorf("stats: %q, %v", s, err)
	}
	if _, err := mustVar(t, secs, "stats").Uint(); err == nil || !strings.Contains(err.Error(), "not an integer: read it with Bytes or Text") {
		t.Errorf("stats as Uint: %v; want it refused", err)
	}
	if b, err := mustVar(t, secs, "stop_after_ns").Bytes(); err != nil || !bytes.Equal(b, bytesOf(uint64(1e9))) {
		t.Errorf(".rodata's stop_after_ns: %v, %v", b, err)
	}
}

// TestVarSet writes variables, checked against their types, and changes
// no other byte of the section.
func TestVarSet(t *testing.T) {
	bss, _, secs := sections()
	before := bytes.Clone(bss.b)
	for _, c := range []struct {
		name string
		v    any
		off  int
		want []byte
	}{
		{"stop_dispatch", true, 0, []byte{1}},
		{"level", -128, 1, []byte{0x80}},
		{"class", "CLASS_STALL", 4, bytesOf(uint32(1))},
		{"class", uint8(0), 4, bytesOf(uint32(0))},
		{"stall_cgid", uint64(1<<64 - 1), 8, bytesOf(uint64(1<<64 - 1))},
		{"delta", int64(-1 << 63), 16, bytesOf(int64(-1 << 63))},
		{"stats", bytesOf(uint64(9), uint64(9), uint64(9)), 24, bytesOf(uint64(9), uint64(9), uint64(9))},
	} {
		if err := mustVar(t, secs, c.name).Set(c.v); err != nil {
			t.Errorf("Set(%v) on %s: %v", c.v, c.name, err)
			continue
		}
		copy(before[c.off:], c.want)
		if !bytes.Equal(bss.b, before) {
			t.Errorf("after Set(%v) on %s the section is %x, want %x", c.v, c.name, bss.b, before)
			before = bytes.Clone(bss.b)
		}
	}
}

// TestVarErrors checks that each wrong use is refused with what the
// variable is and what it takes.
func TestVarErrors(t *testing.T) {
	bss, ro, secs := sections()
	bssBefore, roBefore := bytes.Clone(bss.b), bytes.Clone(ro.b)
	for _, c := range []struct {
		name string
		v    any
		want string
	}{
		{"stop_dispatch", 2, "variable stop_dispatch (bool, a bool, in .bss): 2 does not fit: it takes true or false (or 0 or 1)"},
		{"level", 128, "variable level (s8, a 1-byte signed integer, in .bss): 128 does not fit: it takes -128 to 127"},
		{"stall_cgid", -1, "variable stall_cgid (u64, an 8-byte unsigned integer, in .bss): -1 does not fit: it takes 0 to 18446744073709551615"},
		{"class", "CLASS_LOST", "enum task_class has no value CLASS_LOST; it has CLASS_NORMAL, CLASS_STALL, CLASS_ESCAPE"},
		{"class", 1 << 32, "4294967296 does not fit: it takes 0 to 4294967295"},
		{"delta", "7", `"7" is a string: it takes a number`},
		{"delta", 1.5, "a float64 given: it takes an integer, a bool, or a []byte of its size"},
		{"stats", 1, "variable stats (struct ktstr_stats, 24 bytes, in .bss): not an integer, bool or enum: set it with a []byte of 24 bytes"},
		{"stats", []byte{1}, "1 bytes given, want exactly 24"},
		{"stop_after_ns", uint64(5), "variable stop_after_ns (u64, an 8-byte unsigned integer, in .rodata): cannot be written: the kernel froze .rodata when the program was loaded"},
	} {
		err := mustVar(t, secs, c.name).Set(c.v)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Set(%v) on %s: %v\nwant an error containing %q", c.v, c.name, err, c.want)
		}
	}
	if !bytes.Equal(bss.b, bssBefore) || !bytes.Equal(ro.b, roBefore) {
		t.Error("a refused Set changed the section")
	}
}

// TestVarUnknown lists the variables there are, nearest first.
func TestVarUnknown(t *testing.T) {
	_, _, secs := sections()
	_, err := findVar(secs, "stop_dispach")
	want := `no variable "stop_dispach" in .bss, .rodata; the variables there, nearest first: stop_dispatch, stop_after_ns, `
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v\nwant an error starting %q", err, want)
	}
	_, err = findVar(nil, "x")
	if err == nil || !strings.Contains(err.Error(), "the program has no global variables") {
		t.Errorf("no sections: %v", err)
	}
}
