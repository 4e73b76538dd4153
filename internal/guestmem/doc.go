// Package guestmem reads and writes a running guest's memory from the host.
//
// Guest RAM lives in memfds the host created and QEMU maps shared, so the
// host sees every guest-physical byte. With the guest's symbol addresses
// (from its /proc/kallsyms) and struct layouts (from the kernel's BTF), the
// host can read and change kernel state the guest kernel does not expose:
// the sched_ext stall watchdog's timeout, which only the scheduler itself
// may otherwise set.
package guestmem
