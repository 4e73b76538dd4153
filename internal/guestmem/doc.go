// Package guestmem reads and writes a running guest's memory from the host.
//
// Guest RAM lives in memfds the host created and QEMU maps shared, so the
// host sees every guest-physical byte. With the guest's symbol addresses
// (from its /proc/kallsyms) and struct layouts (from the kernel's BTF), the
// host can read kernel state the guest kernel does not expose, as the host's
// own account, independent of what runs in the guest: the sched_ext stall
// watchdog's timeout and period in force.
package guestmem
