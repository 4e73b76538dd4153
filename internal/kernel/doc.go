// Package kernel finds the Linux kernel a test run boots: it keeps a cache
// of kernels fetched from a Debian archive (package fetch fills it) or built
// from a source tree with ktstr's sched_ext config fragment (Build; see
// packages kconfig and srctree), and resolves what a user names — nothing,
// a cache key, a version prefix, a kernel image file or a kernel source
// tree — to the files QEMU needs. It links nothing for the network: test
// binaries use it, and they only read the cache.
package kernel
