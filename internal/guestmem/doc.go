// Package guestmem reads a running guest's memory from the host.
//
// Guest RAM is QEMU's own anonymous memory; the host finds each NUMA node's
// RAM in QEMU's memory map and reads it with process_vm_readv, so it sees
// every guest-physical byte while the guest runs. With the guest's symbol
// addresses (from its /proc/kallsyms) and struct layouts (from the
// kernel's BTF), the host reads kernel state as its own account,
// independent of what runs in the guest: the sched_ext stall watchdog in
// force, and the runqueues the host monitor samples (package monitor).
// It never writes.
package guestmem
