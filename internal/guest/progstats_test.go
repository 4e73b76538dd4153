//go:build linux

package guest

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// testdata/fdinfo-scx_simple is /proc/<pid>/fdinfo of scx_simple once
// attached, copied from a guest on 7.3.4: nine program fds (its eight
// callbacks and libbpf's scx_lib_init_probe, ids 7 and 9-16), a tracing
// link holding program 7, a struct_ops link and the struct_ops map (id 8),
// six other maps, its BTF, /dev/null and two pipes.
func TestProcessBPF(t *testing.T) {
	fds, err := processBPF("testdata/fdinfo-scx_simple")
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{7, 9, 10, 11, 12, 13, 14, 15, 16}; !slices.Equal(fds.progs, want) {
		t.Errorf("programs %v, want %v", fds.progs, want)
	}
	if want := []uint32{2, 4, 5, 6, 7, 8}; !slices.Equal(fds.maps, want) {
		t.Errorf("maps %v, want %v", fds.maps, want)
	}
	if want := []uint32{8}; !slices.Equal(fds.structOps, want) {
		t.Errorf("struct_ops maps %v, want %v", fds.structOps, want)
	}
	if _, err := processBPF("testdata/no-such-dir"); err == nil {
		t.Error("a missing directory gave no error")
	}
}

func TestParseFdinfo(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       fdinfo
		err        string
	}{
		{name: "program", text: "pos:\t0\nflags:\t02000002\nmnt_id:\t21\nino:\t1049\nprog_type:\t27\nprog_jited:\t1\nprog_tag:\tddf11bcea5929fd7\nmemlock:\t4096\nprog_id:\t16\nrun_time_ns:\t0\nrun_cnt:\t0\nrecursion_misses:\t0\nverified_insns:\t33\n",
			want: fdinfo{progID: 16}},
		{name: "tracing link", text: "link_type:\ttracing\nlink_id:\t1\nprog_tag:\t2e513880f9b67fde\nprog_id:\t7\nattach_type:\t24\n",
			want: fdinfo{progID: 7}},
		{name: "struct_ops link", text: "link_type:\tstruct_ops\nlink_id:\t2\nmap_id:\t8\n", want: fdinfo{mapID: 8, structOpsMap: 8}},
		{name: "struct_ops map", text: "map_type:\t26\nkey_size:\t4\nvalue_size:\t576\nmap_id:\t8\nfrozen:\t0\n", want: fdinfo{mapID: 8, structOpsMap: 8}},
		{name: "array map", text: "map_type:\t2\nkey_size:\t4\nmap_id:\t4\n", want: fdinfo{mapID: 4}},
		{name: "btf", text: "pos:\t0\nflags:\t02000000\nbtf_id:\t14\n"},
		{name: "file", text: "pos:\t0\nflags:\t0100000\nmnt_id:\t30\nino:\t4\n"},
		{name: "empty"},
		{name: "bad id", text: "prog_id:\tlots\n", err: `prog_id "lots"`},
		{name: "bad map id", text: "map_type:\t26\nmap_id:\t-1\n", err: `map_id "-1"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseFdinfo(strings.NewReader(c.text))
			switch {
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Errorf("error %v, want one with %q", err, c.err)
			case c.err == "" && err != nil:
				t.Errorf("error %v", err)
			case got != c.want:
				t.Errorf("%+v, want %+v", got, c.want)
			}
		})
	}
}

// opsValue builds a struct_ops value type as the kernel's BTF has it: a
// common header, then the ops with callbacks among other members.
func opsValue() *btf.Struct {
	u64 := &btf.Int{Name: "u64", Size: 8}
	u32 := &btf.Int{Name: "u32", Size: 4}
	callback := &btf.Pointer{Target: &btf.FuncProto{Return: (*btf.Void)(nil)}}
	ops := &btf.Struct{Name: "sched_ext_ops", Size: 56, Members: []btf.Member{
		{Name: "select_cpu", Type: callback, Offset: 0},
		{Name: "enqueue", Type: &btf.Typedef{Name: "enqueue_fn", Type: callback}, Offset: 64},
		{Name: "flags", Type: u64, Offset: 128},
		{Name: "timeout_ms", Type: u32, Offset: 192},
		{Name: "cpumask", Type: &btf.Pointer{Target: u64}, Offset: 256},
		{Name: "exit", Type: callback, Offset: 320},
		{Name: "name", Type: &btf.Array{Type: &btf.Int{Name: "char", Size: 1}, Nelems: 8}, Offset: 384},
	}}
	return &btf.Struct{Name: structOpsValue, Size: 72, Members: []btf.Member{
		{Name: "common", Type: &btf.Struct{Name: "bpf_struct_ops_common_value", Size: 16}, Offset: 0},
		{Name: "data", Type: ops, Offset: 128},
	}}
}

func TestCallbackOffsets(t *testing.T) {
	got, err := callbackOffsets(opsValue())
	if err != nil {
		t.Fatal(err)
	}
	// Callbacks only (a typedef of one too), at the data's offset plus
	// their own: not the integers, the data pointer or the name.
	if want := []uint32{16, 24, 56}; !slices.Equal(got, want) {
		t.Errorf("offsets %v, want %v", got, want)
	}
	noData := &btf.Struct{Name: structOpsValue, Members: []btf.Member{{Name: "common", Type: &btf.Int{Size: 8}}}}
	if _, err := callbackOffsets(noData); err == nil || !strings.Contains(err.Error(), "has no data") {
		t.Errorf("a value without data: %v", err)
	}
	noCallbacks := &btf.Struct{Name: structOpsValue, Members: []btf.Member{{Name: "data", Type: &btf.Struct{Name: "sched_ext_ops", Members: []btf.Member{{Name: "flags", Type: &btf.Int{Size: 8}}}}}}}
	if _, err := callbackOffsets(noCallbacks); err == nil || !strings.Contains(err.Error(), "no callbacks") {
		t.Errorf("ops without callbacks: %v", err)
	}
}

func TestValueProgramIDs(t *testing.T) {
	val := make([]byte, 72)
	binary.NativeEndian.PutUint64(val[16:], 12)
	binary.NativeEndian.PutUint64(val[56:], 9) // enqueue (24) left out
	got, err := valueProgramIDs(val, []uint32{16, 24, 56})
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{9, 12}; !slices.Equal(got, want) {
		t.Errorf("ids %v, want %v", got, want)
	}
	if _, err := valueProgramIDs(val[:60], []uint32{56}); err == nil {
		t.Error("a short value gave no error")
	}
}
