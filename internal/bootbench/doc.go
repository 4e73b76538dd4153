// Package bootbench measures what ktstr adds to a VM boot.
//
// BenchmarkBootOverhead times a trivial ktstr test binary (boot, empty body,
// power-off), whole process, against a bare boot of the same kernel: QEMU
// started with a command line written in the benchmark itself, not by
// package vm, and a 1.2 MB initramfs whose init only powers off. A baseline
// built from ktstr's own QEMU configuration would hide the cost of that
// configuration (its memory backend, its virtio-serial device), so the
// bare boot shares nothing with it but the kernel, the machine type, the
// firmware, the CPU count, the RAM size and the kernel command line.
//
//	go test -run '^$' -bench BootOverhead -benchtime 8x ./internal/bootbench
//
// The package has no code of its own; it exists for its benchmark.
package bootbench
