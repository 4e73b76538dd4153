package ktstrsched

// The BPF program is compiled from bpf/ktstr.bpf.c into ktstr_bpfel.o, with
// its Go bindings in ktstr_bpfel.go. Both are committed, so building and
// testing need no clang. After changing the C, regenerate them with
//
//	go generate ./scheds/ktstrsched/
//
// which needs clang-22, llvm-strip-22, bpftool and a kernel with BTF (see
// bpf/vmlinux.sh for which).

//go:generate sh bpf/vmlinux.sh bpf/vmlinux.h
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang-22 -strip llvm-strip-22 -target bpfel -go-package ktstrsched -no-global-types -type ktstr_exit_info -type ktstr_stats ktstr bpf/ktstr.bpf.c -- -I./bpf -O2 -g -Wall -Werror -mcpu=v3 -fms-extensions -Wno-microsoft-anon-tag
