#!/bin/sh
# vmlinux.sh OUT writes OUT (vmlinux.h): the C declarations of every type in
# the BTF of a sched_ext kernel, which ktstr.bpf.c compiles against.
#
# The kernel is $KTSTR_VMLINUX (an ELF vmlinux with BTF) if set, else the one
# ktstr tests would boot ($KTSTR_KERNEL, else the newest in the ktstr kernel
# cache; `go run ./cmd/ktstr kernel fetch` fills it). Needs bpftool.
#
# vmlinux.h is not committed: it is about 3 MB of text generated in a second
# from whichever kernel is at hand. The program reads kernel structures
# through CO-RE relocations, which cilium/ebpf resolves against the running
# kernel's BTF at load time, so the committed object does not depend on the
# exact kernel the header came from.
set -eu
out=${1:?usage: vmlinux.sh OUT}
vmlinux=${KTSTR_VMLINUX:-}
if [ -z "$vmlinux" ]; then
	vmlinux=$(go run github.com/ktstr-go/ktstr/cmd/ktstr kernel resolve | awk '$1 == "vmlinux" { print $2 }')
fi
if [ -z "$vmlinux" ] || [ ! -f "$vmlinux" ]; then
	echo "vmlinux.sh: no vmlinux with BTF; set KTSTR_VMLINUX or run: go run ./cmd/ktstr kernel fetch" >&2
	exit 1
fi
if ! command -v bpftool >/dev/null 2>&1; then
	echo "vmlinux.sh: bpftool not found (apt-get install bpftool)" >&2
	exit 1
fi
bpftool btf dump file "$vmlinux" format c >"$out.tmp"
mv "$out.tmp" "$out"
echo "vmlinux.sh: $out from $vmlinux"
