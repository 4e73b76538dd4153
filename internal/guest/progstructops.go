//go:build linux

package guest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// A sched_ext scheduler's callbacks are the programs its struct_ops map
// holds. A loader may close its program fds once the map is filled, so the
// harness also reads them from the map: for each callback the kernel keeps
// the program's id where the loader put the program's fd
// (bpf_struct_ops_map_update_elem), and a map lookup returns them.

// structOpsValue is the kernel's type of a sched_ext struct_ops map's
// value: the common header, then struct sched_ext_ops as data.
const structOpsValue = "bpf_struct_ops_sched_ext_ops"

// structOpsProgramIDs returns the ids of the programs in the sched_ext
// struct_ops maps mapIDs, sorted, each once.
func structOpsProgramIDs(mapIDs []uint32) ([]uint32, error) {
	if len(mapIDs) == 0 {
		return nil, nil
	}
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("reading the kernel's BTF: %w", err)
	}
	var value *btf.Struct
	if err := spec.TypeByName(structOpsValue, &value); err != nil {
		return nil, fmt.Errorf("kernel BTF: %w", err)
	}
	offsets, err := callbackOffsets(value)
	if err != nil {
		return nil, err
	}
	var ids []uint32
	for _, id := range mapIDs {
		got, err := mapProgramIDs(id, value.Size, offsets)
		if err != nil {
			return nil, fmt.Errorf("struct_ops map %d: %w", id, err)
		}
		ids = append(ids, got...)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// mapProgramIDs reads the program ids at offsets in the value of the
// struct_ops map id, which must be size bytes long.
func mapProgramIDs(id, size uint32, offsets []uint32) ([]uint32, error) {
	m, err := ebpf.NewMapFromID(ebpf.MapID(id))
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if m.ValueSize() != size {
		// Another subsystem's struct_ops (a TCP congestion control, say).
		return nil, nil
	}
	var val []byte
	if err := m.Lookup(uint32(0), &val); err != nil {
		return nil, fmt.Errorf("lookup: %w", err)
	}
	return valueProgramIDs(val, offsets)
}

// callbackOffsets returns where value (bpf_struct_ops_sched_ext_ops)
// holds each callback, a function pointer of its data member, in bytes.
func callbackOffsets(value *btf.Struct) ([]uint32, error) {
	var data *btf.Member
	for i := range value.Members {
		if value.Members[i].Name == "data" {
			data = &value.Members[i]
		}
	}
	if data == nil {
		return nil, fmt.Errorf("kernel BTF: struct %s has no data", value.Name)
	}
	ops, ok := btf.UnderlyingType(data.Type).(*btf.Struct)
	if !ok {
		return nil, fmt.Errorf("kernel BTF: %s.data is %s, not a struct", value.Name, data.Type)
	}
	var out []uint32
	for _, m := range ops.Members {
		ptr, ok := btf.UnderlyingType(m.Type).(*btf.Pointer)
		if !ok {
			continue
		}
		if _, ok := btf.UnderlyingType(ptr.Target).(*btf.FuncProto); ok {
			out = append(out, data.Offset.Bytes()+m.Offset.Bytes())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("kernel BTF: struct %s has no callbacks", ops.Name)
	}
	return out, nil
}

// valueProgramIDs reads the program id in each 8-byte callback slot of a
// struct_ops map's value; an empty slot (0) is a callback the scheduler
// left out.
func valueProgramIDs(val []byte, offsets []uint32) ([]uint32, error) {
	var ids []uint32
	for _, off := range offsets {
		if int(off)+8 > len(val) {
			return nil, errors.New("the value is shorter than the kernel's type says")
		}
		if id := binary.NativeEndian.Uint64(val[off:]); id != 0 {
			ids = append(ids, uint32(id))
		}
	}
	slices.Sort(ids)
	return ids, nil
}
