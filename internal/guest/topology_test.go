//go:build linux

package guest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ktstr-go/ktstr/internal/wire"
)

// fakeCPU is what sysfs says about one x86 CPU: the CPUs of its core (its
// SMT siblings, which also share its L1 and L2) and of its L3.
type fakeCPU struct {
	core string
	llc  string
}

// fakeNode is one NUMA node as sysfs shows it.
type fakeNode struct {
	cpulist  string
	distance string
}

// fakeSysfs writes under a temporary root the files Linux shows in
// /sys/devices/system for the given online CPUs (by id) and NUMA nodes; no
// node directory at all when nodes is nil, as on a kernel without NUMA. Each
// CPU gets the four cache leaves of an x86 CPU: L1d, L1i, L2 and L3.
func fakeSysfs(t *testing.T, online string, cpus map[int]fakeCPU, nodes []fakeNode) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"devices/system/cpu/online":     online + "\n",
		"devices/system/cpu/possible":   online + "\n",
		"devices/system/cpu/present":    online + "\n",
		"devices/system/cpu/kernel_max": "8191\n",
		"devices/system/cpu/isolated":   "\n",
	}
	for id, c := range cpus {
		cpu := fmt.Sprintf("devices/system/cpu/cpu%d/", id)
		files[cpu+"topology/thread_siblings_list"] = c.core + "\n"
		files[cpu+"topology/core_cpus_list"] = c.core + "\n"
		files[cpu+"topology/physical_package_id"] = "0\n"
		for i, leaf := range []struct{ level, typ, shared string }{
			{"1", "Data", c.core},
			{"1", "Instruction", c.core},
			{"2", "Unified", c.core},
			{"3", "Unified", c.llc},
		} {
			idx := fmt.Sprintf("%scache/index%d/", cpu, i)
			files[idx+"level"] = leaf.level + "\n"
			files[idx+"type"] = leaf.typ + "\n"
			files[idx+"shared_cpu_list"] = leaf.shared + "\n"
		}
		if id > 0 {
			files[cpu+"online"] = "1\n"
		}
	}
	if nodes != nil {
		for n, node := range nodes {
			dir := fmt.Sprintf("devices/system/node/node%d/", n)
			files[dir+"cpulist"] = node.cpulist + "\n"
			files[dir+"distance"] = node.distance + "\n"
			files[dir+"meminfo"] = fmt.Sprintf("Node %d MemTotal:  524288 kB\n", n)
		}
		list := "0"
		if len(nodes) > 1 {
			list = fmt.Sprintf("0-%d", len(nodes)-1)
		}
		files["devices/system/node/online"] = list + "\n"
		files["devices/system/node/possible"] = list + "\n"
		files["devices/system/node/has_cpu"] = list + "\n"
		files["devices/system/node/has_memory"] = list + "\n"
	}
	writeFiles(t, root, files)
	return root
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sysfs1n2l2c2t is a guest booted with one node, two LLCs of two cores with
// two threads each: CPUs count threads fastest.
func sysfs1n2l2c2t(t *testing.T, numa bool) string {
	var nodes []fakeNode
	if numa {
		nodes = []fakeNode{{"0-7", "10"}}
	}
	return fakeSysfs(t, "0-7", map[int]fakeCPU{
		0: {"0-1", "0-3"},
		1: {"0-1", "0-3"},
		2: {"2-3", "0-3"},
		3: {"2-3", "0-3"},
		4: {"4-5", "4-7"},
		5: {"4-5", "4-7"},
		6: {"6-7", "4-7"},
		7: {"6-7", "4-7"},
	}, nodes)
}

// sysfs2n2l2c1t is a guest booted with two nodes of one LLC each, two
// single-threaded cores per LLC.
func sysfs2n2l2c1t(t *testing.T) string {
	return fakeSysfs(t, "0-3", map[int]fakeCPU{
		0: {"0", "0-1"},
		1: {"1", "0-1"},
		2: {"2", "2-3"},
		3: {"3", "2-3"},
	}, []fakeNode{
		{"0-1", "10 20"},
		{"2-3", "20 10"},
	})
}

// sysfsNoCaches is a guest whose CPUs have no cache information and so
// count as one LLC each.
func sysfsNoCaches(t *testing.T, n int) string {
	root := t.TempDir()
	files := map[string]string{
		"devices/system/cpu/online":          fmt.Sprintf("0-%d\n", n-1),
		"devices/system/node/online":         "0\n",
		"devices/system/node/node0/cpulist":  fmt.Sprintf("0-%d\n", n-1),
		"devices/system/node/node0/distance": "10\n",
	}
	for c := range n {
		files[fmt.Sprintf("devices/system/cpu/cpu%d/topology/thread_siblings_list", c)] = fmt.Sprintf("%d\n", c)
	}
	writeFiles(t, root, files)
	return root
}

// TestReadTopologyMatches reads fake sysfs trees of correctly booted guests
// and checks that they pass the guest's topology check.
func TestReadTopologyMatches(t *testing.T) {
	tests := []struct {
		name  string
		root  func(t *testing.T) string
		shape wire.Shape
	}{
		{"1n2l2c2t", func(t *testing.T) string { return sysfs1n2l2c2t(t, true) }, wire.Shape{Nodes: 1, LLCs: 2, Cores: 2, Threads: 2}},
		{"2n2l2c1t", sysfs2n2l2c1t, wire.Shape{Nodes: 2, LLCs: 2, Cores: 2, Threads: 1}},
		// A kernel built without NUMA has no node directory: one node.
		{"1n2l2c2t without NUMA", func(t *testing.T) string { return sysfs1n2l2c2t(t, false) }, wire.Shape{Nodes: 1, LLCs: 2, Cores: 2, Threads: 2}},
		{"1n2l1c1t without caches", func(t *testing.T) string { return sysfsNoCaches(t, 2) }, wire.Shape{Nodes: 1, LLCs: 2, Cores: 1, Threads: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ReadTopology(tt.root(t))
			if err != nil {
				t.Fatal(err)
			}
			if d := Diff(Expected(tt.shape), got); d != nil {
				t.Errorf("Diff:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

// TestReadTopologyNoNUMA checks the fallback for a kernel without NUMA
// directly: every online CPU on node 0, at distance 10 from itself.
func TestReadTopologyNoNUMA(t *testing.T) {
	got, err := ReadTopology(sysfs1n2l2c2t(t, false))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{0, 1, 2, 3, 4, 5, 6, 7}}
	if !equalGroups(got.Nodes, want) || !equalGroups(got.Distances, [][]int{{10}}) {
		t.Errorf("Nodes %v, Distances %v; want %v, [[10]]", got.Nodes, got.Distances, want)
	}
}

// TestReadTopologyOfflineCPU checks that Siblings stays indexed by CPU id
// when a CPU is offline.
func TestReadTopologyOfflineCPU(t *testing.T) {
	root := fakeSysfs(t, "0,2-3", map[int]fakeCPU{
		0: {"0", "0-3"},
		2: {"2", "0-3"},
		3: {"3", "0-3"},
	}, []fakeNode{{"0,2-3", "10"}})
	got, err := ReadTopology(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.CPUs, []int{0, 2, 3}) {
		t.Errorf("CPUs %v, want [0 2 3]", got.CPUs)
	}
	wantSib := [][]int{{0}, nil, {2}, {3}}
	if !equalGroups(got.Siblings, wantSib) {
		t.Errorf("Siblings %v, want %v", got.Siblings, wantSib)
	}
	d := Diff(Expected(wire.Shape{Nodes: 1, LLCs: 1, Cores: 4, Threads: 1}), got)
	if len(d) == 0 || d[0] != "CPUs: want 4 (0-3), got 3 (0,2-3)" {
		t.Errorf("Diff = %q, want it to start with the CPU mismatch", d)
	}
}

// TestDiffMismatch checks what the guest reports when it does not see the
// requested topology: one line per difference, saying what was wanted and
// what the kernel shows.
func TestDiffMismatch(t *testing.T) {
	tests := []struct {
		name  string
		root  func(t *testing.T) string
		shape wire.Shape // requested
		want  []string
	}{
		{
			name:  "two LLCs instead of one",
			root:  func(t *testing.T) string { return sysfsNoCaches(t, 2) },
			shape: wire.Shape{Nodes: 1, LLCs: 1, Cores: 2, Threads: 1},
			want:  []string{"LLCs: want 1 [0-1], got 2 [0] [1]"},
		},
		{
			name:  "fewer CPUs",
			root:  func(t *testing.T) string { return sysfsNoCaches(t, 2) },
			shape: wire.Shape{Nodes: 1, LLCs: 2, Cores: 2, Threads: 1},
			want: []string{
				"CPUs: want 4 (0-3), got 2 (0-1)",
				"LLCs: want 2 [0-1] [2-3], got 2 [0] [1]",
				"SMT siblings: want [0] [1] [2] [3], got [0] [1]",
				"NUMA nodes: want 1 [0-3], got 1 [0-1]",
			},
		},
		{
			// The same CPUs and LLCs, but the kernel sees no SMT.
			name: "no SMT siblings",
			root: func(t *testing.T) string {
				return fakeSysfs(t, "0-3", map[int]fakeCPU{
					0: {"0", "0-3"}, 1: {"1", "0-3"}, 2: {"2", "0-3"}, 3: {"3", "0-3"},
				}, []fakeNode{{"0-3", "10"}})
			},
			shape: wire.Shape{Nodes: 1, LLCs: 1, Cores: 2, Threads: 2},
			want:  []string{"SMT siblings: want [0-1] [2-3], got [0] [1] [2] [3]"},
		},
		{
			name:  "SMT siblings where none were asked for",
			root:  func(t *testing.T) string { return sysfs1n2l2c2t(t, true) },
			shape: wire.Shape{Nodes: 1, LLCs: 2, Cores: 4, Threads: 1},
			want:  []string{"SMT siblings: want [0] [1] [2] [3] [4] [5] [6] [7], got [0-1] [2-3] [4-5] [6-7]"},
		},
		{
			name:  "one node instead of two",
			root:  func(t *testing.T) string { return sysfs1n2l2c2t(t, false) },
			shape: wire.Shape{Nodes: 2, LLCs: 2, Cores: 2, Threads: 2},
			want: []string{
				"NUMA nodes: want 2 [0-3] [4-7], got 1 [0-7]",
				"NUMA distances: want [[10 20] [20 10]], got [[10]]",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ReadTopology(tt.root(t))
			if err != nil {
				t.Fatal(err)
			}
			d := Diff(Expected(tt.shape), got)
			if !slices.Equal(d, tt.want) {
				t.Errorf("Diff:\n got %q\nwant %q", d, tt.want)
			}
		})
	}
}

// TestReadTopologyErrors checks that unreadable or malformed sysfs files are
// errors naming the file, not a wrong topology.
func TestReadTopologyErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{
			name:  "no CPU directory",
			files: map[string]string{"devices/system/node/online": "0\n"},
			want:  "devices/system/cpu/online",
		},
		{
			name:  "bad online list",
			files: map[string]string{"devices/system/cpu/online": "0-x\n"},
			want:  "devices/system/cpu/online",
		},
		{
			name:  "missing siblings",
			files: map[string]string{"devices/system/cpu/online": "0\n"},
			want:  "cpu0/topology/thread_siblings_list",
		},
		{
			name: "bad distance",
			files: map[string]string{
				"devices/system/cpu/online":                             "0\n",
				"devices/system/cpu/cpu0/topology/thread_siblings_list": "0\n",
				"devices/system/node/online":                            "0\n",
				"devices/system/node/node0/cpulist":                     "0\n",
				"devices/system/node/node0/distance":                    "ten\n",
			},
			want: "node0/distance",
		},
		{
			name: "missing node cpulist",
			files: map[string]string{
				"devices/system/cpu/online":                             "0\n",
				"devices/system/cpu/cpu0/topology/thread_siblings_list": "0\n",
				"devices/system/node/online":                            "0\n",
			},
			want: "node0/cpulist",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.files)
			got, err := ReadTopology(root)
			if err == nil {
				t.Fatalf("no error; read %+v", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
		})
	}
}
