package guest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ktstr-go/ktstr/internal/cpuset"
	"github.com/ktstr-go/ktstr/internal/cputopo"
	"github.com/ktstr-go/ktstr/internal/wire"
)

// ReadTopology reads the CPU topology the kernel reports under sysRoot
// (normally "/sys"): online CPUs, LLC groups from the sharing list of the
// highest-level cache, SMT siblings, NUMA nodes and their distances.
func ReadTopology(sysRoot string) (*wire.GuestTopology, error) {
	cpuDir := filepath.Join(sysRoot, "devices/system/cpu")
	online, err := readList(filepath.Join(cpuDir, "online"))
	if err != nil {
		return nil, err
	}
	t := &wire.GuestTopology{CPUs: online, Siblings: make([][]int, 0, len(online))}
	llcSeen := map[string]bool{}
	for _, cpu := range online {
		dir := filepath.Join(cpuDir, fmt.Sprintf("cpu%d", cpu))
		sib, err := readList(filepath.Join(dir, "topology/thread_siblings_list"))
		if err != nil {
			return nil, err
		}
		for len(t.Siblings) < cpu {
			t.Siblings = append(t.Siblings, nil)
		}
		t.Siblings = append(t.Siblings, sib)
		llc, err := llcOf(dir)
		if err != nil {
			return nil, err
		}
		key := fmt.Sprint(llc)
		if !llcSeen[key] {
			llcSeen[key] = true
			t.LLCs = append(t.LLCs, llc)
		}
	}
	sort.Slice(t.LLCs, func(i, j int) bool { return t.LLCs[i][0] < t.LLCs[j][0] })

	nodeDir := filepath.Join(sysRoot, "devices/system/node")
	nodes, err := readList(filepath.Join(nodeDir, "online"))
	if err != nil {
		// A kernel without NUMA: one node holding every CPU.
		t.Nodes = [][]int{online}
		t.Distances = [][]int{{10}}
		return t, nil
	}
	for _, n := range nodes {
		for len(t.Nodes) < n {
			t.Nodes = append(t.Nodes, nil)
			t.Distances = append(t.Distances, nil)
		}
		d := filepath.Join(nodeDir, fmt.Sprintf("node%d", n))
		cpus, err := readList(filepath.Join(d, "cpulist"))
		if err != nil {
			return nil, err
		}
		t.Nodes = append(t.Nodes, cpus)
		b, err := os.ReadFile(filepath.Join(d, "distance"))
		if err != nil {
			return nil, err
		}
		var dist []int
		for _, f := range strings.Fields(string(b)) {
			v, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("%s/distance: %w", d, err)
			}
			dist = append(dist, v)
		}
		t.Distances = append(t.Distances, dist)
	}
	return t, nil
}

// llcOf returns the CPUs sharing the highest-level cache of the CPU at dir.
// A CPU without cache information forms its own LLC.
func llcOf(dir string) ([]int, error) {
	idx, _ := filepath.Glob(filepath.Join(dir, "cache/index*"))
	best, bestLevel := "", -1
	for _, d := range idx {
		b, err := os.ReadFile(filepath.Join(d, "level"))
		if err != nil {
			continue
		}
		lvl, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if lvl > bestLevel {
			best, bestLevel = d, lvl
		}
	}
	self, _ := strconv.Atoi(strings.TrimPrefix(filepath.Base(dir), "cpu"))
	if best == "" {
		return []int{self}, nil
	}
	l, err := readList(filepath.Join(best, "shared_cpu_list"))
	if err == nil && len(l) == 0 {
		l = []int{self}
	}
	return l, err
}

func readList(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	l, err := cpuset.Parse(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// Expected returns the topology a guest booted with shape s must see
// (cputopo.Expected, in the wire's type).
func Expected(s wire.Shape) *wire.GuestTopology {
	// The two structs differ only in their JSON tags, which a conversion
	// ignores.
	return (*wire.GuestTopology)(cputopo.Expected(s))
}

// Diff compares what the guest sees with what it should see and returns one
// line per difference, or nil when they match.
func Diff(want, got *wire.GuestTopology) []string {
	var d []string
	if len(want.CPUs) != len(got.CPUs) || !slices.Equal(want.CPUs, got.CPUs) {
		d = append(d, fmt.Sprintf("CPUs: want %d (%s), got %d (%s)", len(want.CPUs), cpuset.Format(want.CPUs), len(got.CPUs), cpuset.Format(got.CPUs)))
	}
	if !equalGroups(want.LLCs, got.LLCs) {
		d = append(d, fmt.Sprintf("LLCs: want %d %s, got %d %s", len(want.LLCs), groups(want.LLCs), len(got.LLCs), groups(got.LLCs)))
	}
	if !equalGroups(want.Siblings, got.Siblings) {
		d = append(d, fmt.Sprintf("SMT siblings: want %s, got %s", groups(dedupe(want.Siblings)), groups(dedupe(got.Siblings))))
	}
	if !equalGroups(want.Nodes, got.Nodes) {
		d = append(d, fmt.Sprintf("NUMA nodes: want %d %s, got %d %s", len(want.Nodes), groups(want.Nodes), len(got.Nodes), groups(got.Nodes)))
	}
	if !equalGroups(want.Distances, got.Distances) {
		d = append(d, fmt.Sprintf("NUMA distances: want %v, got %v", want.Distances, got.Distances))
	}
	return d
}

func equalGroups(a, b [][]int) bool {
	return slices.EqualFunc(a, b, func(x, y []int) bool { return slices.Equal(x, y) })
}

func dedupe(g [][]int) [][]int {
	var out [][]int
	for _, s := range g {
		if len(out) == 0 || !slices.Equal(out[len(out)-1], s) {
			out = append(out, s)
		}
	}
	return out
}

func groups(g [][]int) string {
	parts := make([]string, len(g))
	for i, s := range g {
		parts[i] = "[" + cpuset.Format(s) + "]"
	}
	return strings.Join(parts, " ")
}
