// Package bpfdump reads a BPF program's maps and renders them through their
// BTF, for a person looking at a scheduler that failed: global variables
// (the .bss, .data and .rodata maps) by name with their values, array and
// hash maps as key → value, per-CPU maps per CPU, structs field by field,
// enums by name, pointers as addresses and char arrays as strings. It also
// reads and writes a single global variable by name ([Var]), which is how a
// test injects a fault through a scheduler's own variables.
//
// Reading and rendering are apart: a [Set] holds the maps open, and its
// Snapshot copies their bytes at one moment (a few system calls per map,
// fast enough to take as a failure happens); Render parses the maps' BTF
// and formats a snapshot later. [Render] formats maps whose types are
// already known, which is what the tests build from BTF types made in Go.
package bpfdump
