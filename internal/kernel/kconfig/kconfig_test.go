package kconfig

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestValue(t *testing.T) {
	cfg := []byte(`#
# Automatically generated file; DO NOT EDIT.
CONFIG_SCHED_CLASS_EXT=y
CONFIG_VIRTIO_MMIO=m
CONFIG_HZ=250
CONFIG_LOCALVERSION=""
CONFIG_DEFAULT_HOSTNAME="(none)"
# CONFIG_IKCONFIG is not set
CONFIG_SCHED_CLASS_EXT_EXTRA=n
CONFIG_OVERRIDDEN=y
# CONFIG_OVERRIDDEN is not set
`)
	for _, tc := range []struct {
		key, val string
		ok       bool
	}{
		{"CONFIG_SCHED_CLASS_EXT", "y", true},
		{"SCHED_CLASS_EXT", "y", true},
		{"CONFIG_VIRTIO_MMIO", "m", true},
		{"CONFIG_HZ", "250", true},
		{"CONFIG_LOCALVERSION", `""`, true},
		{"CONFIG_DEFAULT_HOSTNAME", `"(none)"`, true},
		{"CONFIG_IKCONFIG", "", false},
		{"CONFIG_SCHED_CLASS_EXT_EXTRA", "", false},
		{"CONFIG_SCHED_CLASS", "", false}, // a prefix of a real option
		{"CONFIG_MISSING", "", false},
		{"CONFIG_OVERRIDDEN", "", false},
	} {
		v, ok := Value(cfg, tc.key)
		if v != tc.val || ok != tc.ok {
			t.Errorf("Value(%s) = %q, %v; want %q, %v", tc.key, v, ok, tc.val, tc.ok)
		}
	}
	if !Enabled(cfg, "SCHED_CLASS_EXT") || Enabled(cfg, "VIRTIO_MMIO") {
		t.Error("Enabled wrong for y / m")
	}
}

func TestMerge(t *testing.T) {
	base := []byte(`#
# Linux/x86 7.3.4 Kernel Configuration
#
CONFIG_BPF=y
# CONFIG_BPF_SYSCALL is not set
CONFIG_HZ=1000
CONFIG_VIRTIO_CONSOLE=m
CONFIG_LOCALVERSION="-mine"
`)
	frag := []byte(`# a comment
CONFIG_BPF_SYSCALL=y
CONFIG_VIRTIO_CONSOLE=y
# CONFIG_DEBUG_INFO_REDUCED is not set
CONFIG_HZ=250
CONFIG_HZ=100
`)
	got := string(Merge(base, frag))
	want := `#
# Linux/x86 7.3.4 Kernel Configuration
#
CONFIG_BPF=y
CONFIG_LOCALVERSION="-mine"
# ktstr: the sched_ext fragment
CONFIG_BPF_SYSCALL=y
CONFIG_VIRTIO_CONSOLE=y
# CONFIG_DEBUG_INFO_REDUCED is not set
CONFIG_HZ=100
`
	if got != want {
		t.Errorf("Merge:\n%s\nwant:\n%s", got, want)
	}
	// Merging again changes nothing but the marker line's place.
	if again := Merge([]byte(got), frag); Hash(again) != Hash([]byte(got)) {
		t.Errorf("merging twice changed the settings:\n%s", again)
	}
}

func TestCheck(t *testing.T) {
	frag := []byte(`CONFIG_SCHED_CLASS_EXT=y
CONFIG_VIRTIO_CONSOLE=y
# CONFIG_DEBUG_INFO_REDUCED is not set
CONFIG_KALLSYMS_ALL=y
CONFIG_PROC_SYSCTL=y
CONFIG_NR_CPUS=64
CONFIG_KVM_GUEST=y
`)
	// What make olddefconfig left: sched_ext dropped (BTF is off), the
	// console a module, REDUCED off by its absence, PROC_SYSCTL unknown.
	final := []byte(`# CONFIG_SCHED_CLASS_EXT is not set
CONFIG_VIRTIO_CONSOLE=m
CONFIG_KALLSYMS_ALL=y
CONFIG_NR_CPUS=8
CONFIG_KVM_GUEST=y
`)
	got := Check(final, frag)
	want := []Mismatch{
		{Name: "SCHED_CLASS_EXT", Want: "y", Got: "n"},
		{Name: "VIRTIO_CONSOLE", Want: "y", Got: "m"},
		{Name: "PROC_SYSCTL", Want: "y", Got: "n", Absent: true},
		{Name: "NR_CPUS", Want: "64", Got: "8"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Check = %+v\nwant %+v", got, want)
	}
	if m := Check(frag, frag); len(m) != 0 {
		t.Errorf("a config checked against itself: %+v", m)
	}
}

func TestHash(t *testing.T) {
	a := []byte("# comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x\"\n")
	b := []byte("CONFIG_C=\"x\"\n\nCONFIG_A=y\n# other comment\n")
	if Hash(a) != Hash(b) {
		t.Error("order, comments and unset options changed the hash")
	}
	if Hash(a) == Hash([]byte("CONFIG_A=m\nCONFIG_C=\"x\"\n")) {
		t.Error("a changed value kept the hash")
	}
}

func TestFragment(t *testing.T) {
	frag := SchedExt()
	vals := Values(frag)
	for _, name := range []string{"SCHED_CLASS_EXT", "BPF_SYSCALL", "BPF_JIT", "DEBUG_INFO_BTF", "PVH", "KALLSYMS_ALL",
		"CPUSETS", "CGROUP_SCHED", "SCHEDSTATS", "VIRTIO_CONSOLE", "VIRTIO_PCI", "SERIAL_8250_CONSOLE", "DEVTMPFS",
		"BLK_DEV_INITRD", "SECCOMP_FILTER", "DEBUG_FS", "MAGIC_SYSRQ"} {
		if vals[name] != "y" {
			t.Errorf("the fragment does not build in CONFIG_%s (got %q)", name, vals[name])
		}
	}
	for _, s := range Parse(frag) {
		if s.Value == "m" {
			t.Errorf("CONFIG_%s=m: the guest loads no modules", s.Name)
		}
	}
	if n := len(Parse(frag)); n != len(vals) {
		t.Errorf("the fragment sets %d options on %d lines: one is set twice", len(vals), n)
	}
}

const kconfigText = `# SPDX-License-Identifier: GPL-2.0
menu "Scheduler"
	depends on SCHED_MENU

config SCHED_CLASS_EXT
	bool "Extensible Scheduling Class"
	depends on BPF_SYSCALL && BPF_JIT
	depends on DEBUG_INFO_BTF
	select GENERIC_ALLOCATOR
	help
	  This option enables sched_ext. It
	  depends on nothing you can see here.

config OTHER
	bool "other"
	depends on NOT_THIS

config DWARF
	bool "DWARF"
	depends on DEBUG_KERNEL
	depends on !CC_IS_CLANG || AS_IS_LLVM

endmenu

if HYPERVISOR_GUEST

config PVH
	bool "Support for running PVH guests"
	help
	  PVH.

endif # HYPERVISOR_GUEST

config EVENT_TRACING
	select CONTEXT_SWITCH_TRACER
	bool
`

func TestDefine(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []Definition
	}{
		{"SCHED_CLASS_EXT", []Definition{{DependsOn: []string{"SCHED_MENU", "BPF_SYSCALL && BPF_JIT", "DEBUG_INFO_BTF"}, Prompt: true}}},
		{"PVH", []Definition{{DependsOn: []string{"HYPERVISOR_GUEST"}, Prompt: true}}},
		{"EVENT_TRACING", []Definition{{}}},
		{"MISSING", nil},
	} {
		got := Define([]byte(kconfigText), tc.name)
		if len(got) != len(tc.want) || (len(got) == 1 && (!slices.Equal(got[0].DependsOn, tc.want[0].DependsOn) || got[0].Prompt != tc.want[0].Prompt)) {
			t.Errorf("Define(%s) = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestExplain(t *testing.T) {
	final := []byte("CONFIG_BPF_SYSCALL=y\n# CONFIG_BPF_JIT is not set\nCONFIG_SCHED_MENU=y\n")
	defs := Define([]byte(kconfigText), "SCHED_CLASS_EXT")
	got := Explain(Mismatch{Name: "SCHED_CLASS_EXT", Want: "y", Got: "n"}, defs, final)
	want := "CONFIG_SCHED_CLASS_EXT=y asked, not set: depends on SCHED_MENU && BPF_SYSCALL && BPF_JIT && DEBUG_INFO_BTF (now SCHED_MENU=y, BPF_SYSCALL=y, BPF_JIT=n, DEBUG_INFO_BTF=n)"
	if got != want {
		t.Errorf("Explain:\n got %s\nwant %s", got, want)
	}
	got = Explain(Mismatch{Name: "DWARF", Want: "y", Got: "n"}, Define([]byte(kconfigText), "DWARF"), final)
	if want := "depends on SCHED_MENU && DEBUG_KERNEL && (!CC_IS_CLANG || AS_IS_LLVM) (now"; !strings.Contains(got, want) {
		t.Errorf("Explain of an option with ||:\n got %s\nwant %s…", got, want)
	}
	got = Explain(Mismatch{Name: "PROC_SYSCTL", Want: "y", Got: "n", Absent: true}, nil, final)
	if !strings.Contains(got, "no such option") {
		t.Errorf("Explain of an unknown option: %s", got)
	}
	got = Explain(Mismatch{Name: "EVENT_TRACING", Want: "y", Got: "n", Absent: true}, Define([]byte(kconfigText), "EVENT_TRACING"), final)
	if !strings.Contains(got, "it has no prompt") {
		t.Errorf("Explain of a selected option: %s", got)
	}
}

// BenchmarkValue reads one option of a distribution-sized config, as a
// test binary reads CONFIG_HZ before every boot.
func BenchmarkValue(b *testing.B) {
	var cfg strings.Builder
	for i := range 11000 {
		fmt.Fprintf(&cfg, "CONFIG_OPTION_%d=y\n# CONFIG_OTHER_%d is not set\n", i, i)
	}
	cfg.WriteString("CONFIG_HZ=250\n")
	text := []byte(cfg.String())
	for b.Loop() {
		if v, _ := Value(text, "CONFIG_HZ"); v != "250" {
			b.Fatal(v)
		}
	}
}
