package bpfdump

import (
	"encoding/binary"

	"github.com/cilium/ebpf/btf"
)

// The BTF types of the fixtures, as clang emits them for a BPF program
// compiled against vmlinux.h.
var (
	tUint  = &btf.Int{Name: "unsigned int", Size: 4}
	tU32   = &btf.Typedef{Name: "u32", Type: tUint}
	tU64   = &btf.Typedef{Name: "u64", Type: &btf.Int{Name: "unsigned long long", Size: 8}}
	tS32   = &btf.Typedef{Name: "s32", Type: &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}}
	tS64   = &btf.Typedef{Name: "s64", Type: &btf.Int{Name: "long long", Size: 8, Encoding: btf.Signed}}
	tU8    = &btf.Typedef{Name: "u8", Type: &btf.Int{Name: "unsigned char", Size: 1}}
	tChar  = &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed}
	tBool  = &btf.Typedef{Name: "bool", Type: &btf.Int{Name: "_Bool", Size: 1, Encoding: btf.Bool}}
	tClass = &btf.Enum{Name: "task_class", Size: 4, Values: []btf.EnumValue{
		{Name: "CLASS_NORMAL", Value: 0}, {Name: "CLASS_STALL", Value: 1}, {Name: "CLASS_ESCAPE", Value: 2},
	}}
	tTask = &btf.Pointer{Target: &btf.Struct{Name: "task_struct"}}
)

// bytesOf lays values out little-endian, each by its Go size.
func bytesOf(vals ...any) []byte {
	var b []byte
	for _, v := range vals {
		b, _ = binary.Append(b, binary.LittleEndian, v)
	}
	return b
}

// member is a struct member at a byte offset.
func member(name string, t btf.Type, off uint32) btf.Member {
	return btf.Member{Name: name, Type: t, Offset: btf.Bits(off * 8)}
}

// datasec builds a data section of the variables, laid out in the order
// given at the offsets given.
func datasec(name string, size uint32, vars ...btf.VarSecinfo) *btf.Datasec {
	return &btf.Datasec{Name: name, Size: size, Vars: vars}
}

// variable is one variable of a datasec.
func variable(name string, t btf.Type, off, size uint32) btf.VarSecinfo {
	return btf.VarSecinfo{Type: &btf.Var{Name: name, Type: t, Linkage: btf.GlobalVar}, Offset: off, Size: size}
}
