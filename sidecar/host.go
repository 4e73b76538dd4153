package sidecar

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/internal/cpuset"
)

// Host describes the machine tests ran on, as far as it can change
// scheduling results. Unknown fields are empty.
type Host struct {
	// CPUModel and CPUVendor are from /proc/cpuinfo ("model name",
	// "vendor_id").
	CPUModel  string `json:"cpu_model,omitempty"`
	CPUVendor string `json:"cpu_vendor,omitempty"`
	// OnlineCPUs counts /sys/devices/system/cpu/online.
	OnlineCPUs int `json:"online_cpus,omitempty"`
	// NUMANodes counts the NUMA nodes that have CPUs.
	NUMANodes int `json:"numa_nodes,omitempty"`
	// MemoryKB is MemTotal of /proc/meminfo.
	MemoryKB uint64 `json:"memory_kb,omitempty"`
	// KernelName, KernelRelease and Arch are as uname -s, -r, -m.
	KernelName    string `json:"kernel_name,omitempty"`
	KernelRelease string `json:"kernel_release,omitempty"`
	Arch          string `json:"arch,omitempty"`
	// Cmdline is /proc/cmdline.
	Cmdline string `json:"kernel_cmdline,omitempty"`
	// THPEnabled is /sys/kernel/mm/transparent_hugepage/enabled, the
	// brackets marking the active choice kept.
	THPEnabled string `json:"thp_enabled,omitempty"`
	// CPUFreqGovernor is CPU 0's cpufreq governor.
	CPUFreqGovernor string `json:"cpufreq_governor,omitempty"`
	// SchedTunables are the host scheduler's settings: every readable
	// /proc/sys/kernel/sched_* ("kernel.sched_…"), the one-line files of
	// /sys/kernel/debug/sched ("debug/sched/…", readable by root with
	// debugfs mounted) and the host's sched_ext state
	// ("sched_ext/state", "sched_ext/ops").
	SchedTunables map[string]string `json:"sched_tunables,omitempty"`
}

// maxTunableLen bounds a tunable's value; longer files (dumps) are left
// out.
const maxTunableLen = 256

// HostContext describes the machine whose /proc and /sys are under root
// ("/" or "" for this one; tests pass a directory laid out like one).
// Whatever cannot be read is left empty; it never fails. For this machine
// the uname system call fills the kernel name, release and architecture
// when /proc does not.
func HostContext(root string) *Host {
	if root == "" {
		root = "/"
	}
	p := func(rel string) string { return filepath.Join(root, rel) }
	h := &Host{}

	if f, err := os.Open(p("proc/cpuinfo")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() && (h.CPUModel == "" || h.CPUVendor == "") {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "model name":
				h.CPUModel = strings.TrimSpace(v)
			case "vendor_id":
				h.CPUVendor = strings.TrimSpace(v)
			}
		}
		f.Close()
	}
	if cpus, err := cpuset.Parse(readLine(p("sys/devices/system/cpu/online"))); err == nil {
		h.OnlineCPUs = len(cpus)
	}
	nodes := readLine(p("sys/devices/system/node/has_cpu"))
	if nodes == "" {
		nodes = readLine(p("sys/devices/system/node/online"))
	}
	if n, err := cpuset.Parse(nodes); err == nil {
		h.NUMANodes = len(n)
	}
	if f, err := os.Open(p("proc/meminfo")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				h.MemoryKB, _ = strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				break
			}
		}
		f.Close()
	}
	h.KernelName = readLine(p("proc/sys/kernel/ostype"))
	h.KernelRelease = readLine(p("proc/sys/kernel/osrelease"))
	h.Arch = readLine(p("proc/sys/kernel/arch"))
	if filepath.Clean(root) == "/" && (h.KernelName == "" || h.KernelRelease == "" || h.Arch == "") {
		var u unix.Utsname
		if unix.Uname(&u) == nil {
			fill := func(dst *string, b []byte) {
				if *dst == "" {
					*dst = unix.ByteSliceToString(b)
				}
			}
			fill(&h.KernelName, u.Sysname[:])
			fill(&h.KernelRelease, u.Release[:])
			fill(&h.Arch, u.Machine[:])
		}
	}
	h.Cmdline = readLine(p("proc/cmdline"))
	h.THPEnabled = readLine(p("sys/kernel/mm/transparent_hugepage/enabled"))
	h.CPUFreqGovernor = readLine(p("sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"))

	tun := map[string]string{}
	addDir := func(dir, prefix, match string) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range ents {
			if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), match) {
				continue
			}
			if v, ok := readTunable(filepath.Join(dir, e.Name())); ok {
				tun[prefix+e.Name()] = v
			}
		}
	}
	addDir(p("proc/sys/kernel"), "kernel.", "sched_")
	addDir(p("sys/kernel/debug/sched"), "debug/sched/", "")
	for _, f := range []string{"state", "root/ops"} {
		if v, ok := readTunable(p("sys/kernel/sched_ext/" + f)); ok {
			tun["sched_ext/"+filepath.Base(f)] = v
		}
	}
	if len(tun) > 0 {
		h.SchedTunables = tun
	}
	return h
}

// localHost is HostContext("/"), read once per process.
var localHost = sync.OnceValue(func() *Host { return HostContext("/") })

// readLine returns a file's content without surrounding white space, ""
// when it cannot be read.
func readLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(b))
}

// readTunable reads a one-line file of at most maxTunableLen bytes.
func readTunable(path string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTunableLen+1))
	if err != nil || len(b) > maxTunableLen {
		return "", false
	}
	s := strings.TrimSpace(string(b))
	if strings.Contains(s, "\n") {
		return "", false
	}
	return s, true
}

// Field is one named value of a Host.
type Field struct {
	// Name is the JSON name, "sched_tunables.<key>" for a tunable.
	Name string `json:"name"`
	// Value is the value as text, "" when unknown.
	Value string `json:"value"`
}

// Fields lists h's values by name: the fixed fields in declaration order,
// then the tunables sorted by key. Every fixed field is listed, unknown
// ones with an empty value. A nil Host has no fields.
func (h *Host) Fields() []Field {
	if h == nil {
		return nil
	}
	num := func(n uint64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatUint(n, 10)
	}
	fs := []Field{
		{"cpu_model", h.CPUModel},
		{"cpu_vendor", h.CPUVendor},
		{"online_cpus", num(uint64(h.OnlineCPUs))},
		{"numa_nodes", num(uint64(h.NUMANodes))},
		{"memory_kb", num(h.MemoryKB)},
		{"kernel_name", h.KernelName},
		{"kernel_release", h.KernelRelease},
		{"arch", h.Arch},
		{"kernel_cmdline", h.Cmdline},
		{"thp_enabled", h.THPEnabled},
		{"cpufreq_governor", h.CPUFreqGovernor},
	}
	keys := make([]string, 0, len(h.SchedTunables))
	for k := range h.SchedTunables {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fs = append(fs, Field{"sched_tunables." + k, h.SchedTunables[k]})
	}
	return fs
}
