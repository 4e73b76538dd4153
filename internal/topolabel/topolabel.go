// Package topolabel parses and validates topology labels such as
// "1n2l4c2t" ({nodes}n{llcs}l{cores}c{threads}t). It holds what
// ktstr.ParseTopology and Topology.Validate do, so that code which must not
// link the root package (the ktstr command, which would otherwise pull in
// the testing package and the guest runtime) parses labels the same way,
// with the same errors.
package topolabel

import (
	"fmt"
	"regexp"
	"strconv"
	"sync"

	"github.com/ktstr-go/ktstr/internal/wire"
)

// MaxCPUs is QEMU's limit for the q35 machine with x2APIC: no field and no
// CPU count of a topology may exceed it.
const MaxCPUs = 288

// labelRE takes up to three digits per field without leading zeros, so that
// a label has one spelling and no field overflows before Validate sees it.
// Compiled on first use, not at init: test binaries link this package and
// start as PID 1 of an emulated guest, where init-time work slows every boot.
var labelRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(0|[1-9]\d{0,2})n(0|[1-9]\d{0,2})l(0|[1-9]\d{0,2})c(0|[1-9]\d{0,2})t$`)
})

// Parse parses label. A label that is not of the form returns the zero
// Shape; a well-formed label of an invalid topology returns its Shape with
// Validate's error, as ktstr.ParseTopology always has.
func Parse(label string) (wire.Shape, error) {
	m := labelRE().FindStringSubmatch(label)
	if m == nil {
		return wire.Shape{}, fmt.Errorf("topology %q: want {nodes}n{llcs}l{cores}c{threads}t, e.g. 1n2l4c2t", label)
	}
	n := make([]int, 4)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1]) // at most three digits: cannot fail
	}
	s := wire.Shape{Nodes: n[0], LLCs: n[1], Cores: n[2], Threads: n[3]}
	return s, Validate(s)
}

// Validate reports what is wrong with s as a VM topology, if anything, in
// the words of ktstr.Topology.Validate (the advice names ktstr.Topo, the
// call users write).
func Validate(s wire.Shape) error {
	for _, f := range []struct {
		name string
		v    int
	}{{"NUMA nodes", s.Nodes}, {"LLCs", s.LLCs}, {"cores per LLC", s.Cores}, {"threads per core", s.Threads}} {
		if f.v > MaxCPUs {
			return fmt.Errorf("topology %s: %s is %d; at most %d", s, f.name, f.v, MaxCPUs)
		}
		if f.v < 1 {
			return fmt.Errorf("topology %s: %s is %d; every field must be at least 1 (Topo(nodes, llcs, cores, threads), e.g. Topo(1, 2, 2, 1))", s, f.name, f.v)
		}
	}
	if s.LLCs%s.Nodes != 0 {
		return fmt.Errorf("topology %s: %d LLCs cannot be spread evenly over %d NUMA nodes; make LLCs a multiple of the node count", s, s.LLCs, s.Nodes)
	}
	if s.Threads > 2 {
		return fmt.Errorf("topology %s: %d threads per core; x86 CPUs have 1 or 2", s, s.Threads)
	}
	if s.CPUs() > MaxCPUs {
		return fmt.Errorf("topology %s: %d CPUs, more than the %d a q35 VM can have", s, s.CPUs(), MaxCPUs)
	}
	return nil
}
