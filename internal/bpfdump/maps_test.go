package bpfdump

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// statsStruct is a scheduler's counters, as ktstr-sched keeps them.
var statsStruct = &btf.Struct{Name: "ktstr_stats", Size: 24, Members: []btf.Member{
	member("enqueued", tU64, 0), member("dispatched", tU64, 8), member("stalled", tU64, 16),
}}

// bssMap is a .bss with a flag, an enum, a pointer and a struct.
func bssMap() Map {
	ds := datasec(".bss", 48,
		variable("stop_dispatch", &btf.Volatile{Type: tBool}, 0, 1),
		variable("last_class", tClass, 4, 4),
		variable("last_task", tTask, 8, 8),
		variable("vtime_now", tU64, 16, 8),
		variable("stats", statsStruct, 24, 24),
	)
	val := bytesOf(uint8(1), [3]byte{}, uint32(1), uint64(0xffff888004c1a300), uint64(123456789), uint64(3571), uint64(3560), uint64(11))
	return Map{ID: 12, Name: "ktstr.bss", Type: ebpf.Array, KeySize: 4, ValueSize: 48, MaxEntries: 1,
		Key: tUint, Value: ds, Entries: []Entry{{Key: bytesOf(uint32(0)), Values: [][]byte{val}}}, Total: 1}
}

// TestRenderDatasec renders a .bss as its variables by name, and a frozen
// .rodata as such.
func TestRenderDatasec(t *testing.T) {
	ro := Map{ID: 13, Name: "ktstr.rodata", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1, Frozen: true,
		Key: tUint, Value: datasec(".rodata", 16, variable("stop_after_ns", &btf.Const{Type: &btf.Volatile{Type: tU64}}, 0, 8),
			variable("ktstr_init.____fmt", &btf.Array{Type: tChar, Index: tUint, Nelems: 8}, 8, 8)),
		Entries: []Entry{{Key: bytesOf(uint32(0)), Values: [][]byte{append(bytesOf(uint64(1e9)), "err %d\x00"...)}}}, Total: 1}
	got := Render([]Map{bssMap(), ro}, DefaultLimits)
	want := `ktstr.bss (map 12, Array, .bss)
  stop_dispatch = true
  last_class = CLASS_STALL
  last_task = 0xffff888004c1a300
  vtime_now = 123456789
  stats = {enqueued: 3571, dispatched: 3560, stalled: 11}
ktstr.rodata (map 13, Array, .rodata, frozen)
  stop_after_ns = 1000000000
  (and 1 function-local static: format strings and the like)
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestRenderEntries renders array, per-CPU and hash maps as key → value,
// an array's runs of equal entries once, and caps the entries shown.
func TestRenderEntries(t *testing.T) {
	timer := &btf.Struct{Name: "kick_timer", Size: 16, Members: []btf.Member{
		member("timer", &btf.Array{Type: tU64, Index: tUint, Nelems: 2}, 0),
	}}
	arr := Map{ID: 15, Name: "kick_timers", Type: ebpf.Array, KeySize: 4, ValueSize: 16, MaxEntries: 1024, Key: tU32, Value: timer}
	for i := range 1024 {
		v := bytesOf(uint64(0), uint64(0))
		if i == 1 {
			v = bytesOf(uint64(5), uint64(0))
		}
		arr.Entries = append(arr.Entries, Entry{Key: bytesOf(uint32(i)), Values: [][]byte{v}})
	}
	pcpu := Map{ID: 20, Name: "stats", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 2, Key: tU32, Value: tU64,
		Entries: []Entry{
			{Key: bytesOf(uint32(0)), Values: [][]byte{bytesOf(uint64(10)), bytesOf(uint64(20)), bytesOf(uint64(0)), bytesOf(uint64(0))}},
			{Key: bytesOf(uint32(1)), Values: [][]byte{bytesOf(uint64(3)), bytesOf(uint64(3)), bytesOf(uint64(3)), bytesOf(uint64(3))}},
		}}
	key := &btf.Struct{Name: "dsq_key", Size: 8, Members: []btf.Member{member("cpu", tS32, 0), member("class", tClass, 4)}}
	hash := Map{ID: 21, Name: "dsq_depth", Type: ebpf.Hash, KeySize: 8, ValueSize: 8, MaxEntries: 4096, Key: key, Value: tU64, Total: 70}
	for i := range 3 {
		hash.Entries = append(hash.Entries, Entry{Key: bytesOf(int32(i), uint32(1)), Values: [][]byte{bytesOf(uint64(i * 100))}})
	}
	got := Render([]Map{arr, pcpu, hash}, Limits{Entries: 2, Elems: 64})
	want := `kick_timers (map 15, Array, 1024 entries, u32 → struct kick_timer)
  0 → {timer: [0 ×2]}
  1 → {timer: [5, 0]}
  … 1022 more entries not shown (2 of 1024 shown)
stats (map 20, PerCPUArray, 2 entries, u32 → u64)
  0 → {cpu0: 10, cpu1: 20, cpu2-3: 0}
  1 → {cpu0-3: 3}
dsq_depth (map 21, Hash, 70 entries, struct dsq_key → u64)
  {cpu: 0, class: CLASS_STALL} → 0
  {cpu: 1, class: CLASS_STALL} → 100
  … 68 more entries not shown (2 of 70 shown)
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	got = Render([]Map{arr}, DefaultLimits)
	if want := "  2-1023 → {timer: [0 ×2]}\n"; !strings.HasSuffix(got, want) {
		t.Errorf("the array's equal entries are not one run:\n%s", got)
	}
}

// TestRenderNotShown lists maps it cannot show with the reason.
func TestRenderNotShown(t *testing.T) {
	got := Render([]Map{
		{ID: 3, Name: "ktstr_ops", Type: ebpf.StructOpsMap, Skipped: "the scheduler's callbacks (its BPF programs are listed apart)"},
		{ID: 4, Name: "raw", Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1,
			Entries: []Entry{{Key: bytesOf(uint32(0)), Values: [][]byte{bytesOf(uint64(5)), bytesOf(uint64(6))}}}},
		{ID: 5, Name: "empty", Type: ebpf.Hash, KeySize: 4, ValueSize: 8, Key: tU32, Value: tU64},
		{ID: 6, Name: "task_ctxs", Type: ebpf.TaskStorage, KeySize: 4, ValueSize: 8, Key: tS32, Value: tU64, Total: 1,
			Note:    "read in part: 40 of 90 tasks looked up before the copy's 1s were up",
			Entries: []Entry{{Label: "tid 114 (init)", Values: [][]byte{bytesOf(uint64(77))}}}},
	}, DefaultLimits)
	want := `ktstr_ops (map 3, StructOpsMap)
  not shown: the scheduler's callbacks (its BPF programs are listed apart)
raw (map 4, PerCPUArray, 1 entry, 4 bytes → 8 bytes)
  (no BTF: its loader gave the sizes of its keys and values, not their types, so each is shown as a number, or as bytes)
  0 → {cpu0: 5, cpu1: 6}
empty (map 5, Hash, 0 entries, u32 → u64)
  (empty)
task_ctxs (map 6, TaskStorage, 1 entry, s32 → u64)
  (read in part: 40 of 90 tasks looked up before the copy's 1s were up)
  tid 114 (init) → 77
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestRenderByteCap stops the dump at its byte limit, at a line, and says
// what it left out.
func TestRenderByteCap(t *testing.T) {
	big := Map{ID: 7, Name: "big", Type: ebpf.Hash, KeySize: 4, ValueSize: 8, Key: tU32, Value: tU64, Total: 200}
	for i := range 200 {
		big.Entries = append(big.Entries, Entry{Key: bytesOf(uint32(i)), Values: [][]byte{bytesOf(uint64(i))}})
	}
	tail := bssMap()
	got := Render([]Map{big, tail}, Limits{Entries: 200, Elems: 64, Bytes: 1024})
	if len(got) > 1024+200 {
		t.Errorf("%d bytes, want about 1 KiB", len(got))
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "[… the dump stops at 1 KiB: ") || !strings.HasSuffix(last, " more lines of big, and 1 more map (ktstr.bss), not shown]") {
		t.Errorf("last line %q: want what was left out", last)
	}
	if prev := lines[len(lines)-2]; !strings.HasPrefix(prev, "  ") || !strings.Contains(prev, " → ") {
		t.Errorf("the cut is not at a whole entry: %q", prev)
	}
}

// TestOrder puts .bss first, then the other writable sections, the other
// maps by id, and the frozen sections last.
func TestOrder(t *testing.T) {
	sec := func(id uint32, name string, frozen bool) Map {
		return Map{ID: id, Name: name, Frozen: frozen, Value: datasec(name, 0)}
	}
	maps := []Map{sec(1, ".rodata", true), {ID: 2, Name: "stats"}, sec(3, ".data", false), {ID: 0, Name: "ops"}, sec(9, ".bss", false)}
	Order(maps)
	var got []string
	for _, m := range maps {
		got = append(got, m.Name)
	}
	if want := ".bss .data ops stats .rodata"; strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s", got, want)
	}
}
