// Package initramfs builds the initramfs that ktstr boots in its QEMU guests.
//
// It has three layers:
//
//   - [Writer] writes a newc ("070701") cpio archive, the format the Linux
//     kernel unpacks into its root file system at boot. It streams file data
//     straight from host files, creates parent directories on demand and
//     makes the output reproducible (uid, gid and mtime are all zero).
//   - [Closure] finds the shared libraries a dynamically linked ELF binary
//     needs at run time (its PT_INTERP interpreter and the transitive
//     DT_NEEDED set), searching the way the glibc loader does, and
//     [IsELFExecutable] explains why a path cannot be run as a binary.
//   - [Builder] collects files, binaries with their libraries (a binary
//     without its debug sections and symbol table, which the guest never
//     reads but would copy at boot), directories, symlinks and device
//     nodes, rejects conflicting entries when they are added, writes them
//     in a deterministic order and computes a [Builder.Digest] that callers
//     use to cache a built archive.
//
// Paths inside the archive are slash-separated and relative ("bin/sh", not
// "/bin/sh"); a leading "/" passed to any function is removed.
package initramfs
