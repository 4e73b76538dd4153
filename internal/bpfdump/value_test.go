package bpfdump

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// TestValue renders values of each kind BTF has, from raw bytes.
func TestValue(t *testing.T) {
	inner := &btf.Struct{Name: "dsq_ctx", Size: 16, Members: []btf.Member{
		member("id", tU64, 0), member("nr", tS32, 8), member("on", tBool, 12),
	}}
	bits := &btf.Struct{Name: "flags", Size: 4, Members: []btf.Member{
		{Name: "ready", Type: tUint, Offset: 0, BitfieldSize: 1},
		{Name: "level", Type: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}, Offset: 1, BitfieldSize: 3},
		{Name: "class", Type: tClass, Offset: 4, BitfieldSize: 4},
	}}
	union := &btf.Union{Name: "slot", Size: 8, Members: []btf.Member{member("raw", tU64, 0), member("half", tU32, 0)}}
	anon := &btf.Struct{Name: "outer", Size: 8, Members: []btf.Member{
		member("a", tU32, 0),
		member("", &btf.Struct{Size: 4, Members: []btf.Member{member("b", tU32, 0)}}, 4),
	}}
	for _, c := range []struct {
		name string
		t    btf.Type
		b    []byte
		want string
	}{
		{"unsigned", tU64, bytesOf(uint64(18446744073709551615)), "18446744073709551615"},
		{"signed", tS32, bytesOf(int32(-5)), "-5"},
		{"bool", tBool, []byte{1}, "true"},
		{"bool out of range", tBool, []byte{7}, "7"},
		{"volatile", &btf.Volatile{Type: tU32}, bytesOf(uint32(7)), "7"},
		{"enum by name", tClass, bytesOf(uint32(1)), "CLASS_STALL"},
		{"enum value without name", tClass, bytesOf(uint32(9)), "task_class(9)"},
		{"signed enum", &btf.Enum{Name: "e", Size: 4, Signed: true, Values: []btf.EnumValue{{Name: "NEG", Value: 0xffffffffffffffff}}}, bytesOf(int32(-1)), "NEG"},
		{"pointer as address", tTask, bytesOf(uint64(0xffff888003a4b000)), "0xffff888003a4b000"},
		{"null pointer", tTask, bytesOf(uint64(0)), "0x0"},
		{"float", &btf.Float{Name: "double", Size: 8}, bytesOf(2.5), "2.5"},
		{"char array as string", &btf.Array{Type: tChar, Index: tUint, Nelems: 16}, []byte("stall\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), `"stall"`},
		{"empty string", &btf.Array{Type: tChar, Index: tUint, Nelems: 4}, make([]byte, 4), `""`},
		{"char array not text", &btf.Array{Type: tChar, Index: tUint, Nelems: 3}, []byte{1, 2, 0}, "[1, 2, 0]"},
		{"u8 array stays numbers", &btf.Array{Type: tU8, Index: tUint, Nelems: 3}, []byte("ab\x00"), "[97, 98, 0]"},
		{"array runs", &btf.Array{Type: tU32, Index: tUint, Nelems: 6}, bytesOf(uint32(1), uint32(2), uint32(0), uint32(0), uint32(0), uint32(0)), "[1, 2, 0 ×4]"},
		{"struct", inner, bytesOf(uint64(1024), int32(-3), uint8(1), [3]byte{}), "{id: 1024, nr: -3, on: true}"},
		{"nested struct and array", &btf.Struct{Name: "n", Size: 36, Members: []btf.Member{
			member("dsq", inner, 0), member("class", tClass, 16), member("hist", &btf.Array{Type: tU32, Index: tUint, Nelems: 4}, 20),
		}}, bytesOf(uint64(7), int32(0), uint8(0), [3]byte{}, uint32(2), uint32(5), uint32(5), uint32(5), uint32(9)),
			"{dsq: {id: 7, nr: 0, on: false}, class: CLASS_ESCAPE, hist: [5 ×3, 9]}"},
		{"bitfields", bits, bytesOf(uint32(1 | 0b111<<1 | 2<<4)), "{ready: 1, level: -1, class: CLASS_ESCAPE}"},
		{"union", union, bytesOf(uint64(1<<32 | 3)), "{raw: 4294967299, half: 3}"},
		{"anonymous member flattened", anon, bytesOf(uint32(1), uint32(2)), "{a: 1, b: 2}"},
		{"short value", tU64, []byte{1, 2}, "<2 of its 8 bytes read: 0x0102>"},
		{"no type to explain it", &btf.Void{}, []byte{0xde, 0xad}, "0xdead"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := (printer{elems: 64}).value(c.t, c.b).inline(); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// TestValueArrayCap shows at most the printer's elements of an array.
func TestValueArrayCap(t *testing.T) {
	var b []byte
	for i := range 100 {
		b = append(b, bytesOf(uint32(i))...)
	}
	got := (printer{elems: 3}).value(&btf.Array{Type: tU32, Index: tUint, Nelems: 100}, b).inline()
	if want := "[0, 1, 2, … 97 more elements]"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestValueLongSplits prints a value too long for one line over several,
// indented, with a struct's short members still on one line each.
func TestValueLongSplits(t *testing.T) {
	exit := &btf.Struct{Name: "ktstr_exit_info", Size: 144, Members: []btf.Member{
		member("kind", tS32, 0), member("exit_code", tS64, 8),
		member("reason", &btf.Array{Type: tChar, Index: tUint, Nelems: 32}, 16),
		member("msg", &btf.Array{Type: tChar, Index: tUint, Nelems: 96}, 48),
	}}
	b := make([]byte, 144)
	copy(b, bytesOf(int32(1026), int32(0), int64(0)))
	copy(b[16:], "runnable task stall")
	copy(b[48:], "init[114] failed to run for 2.372s; the scheduler dispatched nothing for it since then")
	var out strings.Builder
	(printer{elems: 64}).value(exit, b).print(&out, "  ", "uei = ")
	want := `  uei = {
    kind: 1026
    exit_code: 0
    reason: "runnable task stall"
    msg: "init[114] failed to run for 2.372s; the scheduler dispatched nothing for it since then"
  }
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
