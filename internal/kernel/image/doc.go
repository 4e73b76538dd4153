// Package image inspects Linux kernel images: the x86 bzImage that boot
// loaders and QEMU's -kernel load, and the uncompressed vmlinux ELF inside it,
// which carries the kernel's BTF and, on kernels built for it, the PVH entry
// note that lets QEMU boot the ELF directly (skipping the in-guest
// decompressor, which is slow under TCG). It locates a bzImage's compressed
// payload but does not decompress it: package extract does, so that the
// test binaries, which only inspect, do not link the decompressors.
package image
