package payload

import (
	"bufio"
	"bytes"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Ready definitions of tools that Debian packages. Each one's default
// arguments run a short, complete workload; append arguments to a run to
// change it (a later option overrides an earlier one). Copy one and set
// Checks to judge its metrics:
//
//	p := payload.Fio
//	p.Checks = []payload.Check{payload.Min("read.iops", 1000)}
var (
	// StressNG runs stress-ng (Debian package stress-ng) with metrics
	// written to a YAML file. The run's arguments must name the stressors,
	// e.g. "--cpu", "2"; the default --timeout is 2 s.
	//
	// Metrics are named <stressor>.<metric> as stress-ng's YAML names them:
	// "cpu.bogo-ops", "cpu.bogo-ops-per-second-real-time",
	// "cpu.bogo-ops-per-second-usr-sys-time", "cpu.wall-clock-time",
	// "cpu.user-time", "cpu.system-time", "cpu.cpu-usage-per-instance",
	// "cpu.max-rss", and a stressor's own, such as
	// "matrix.add-matrix-ops-per-sec". The YAML file (--yaml, in stress-ng
	// since 0.07) is a stable machine format, unlike the metrics table,
	// whose columns vary between versions; the table (--metrics-brief, on
	// standard error) is parsed only when the YAML file is missing or has
	// no metrics.
	StressNG = Payload{
		Name:    "stress-ng",
		Binary:  "stress-ng",
		Package: "stress-ng",
		Args:    []string{"--metrics-brief", "--yaml", OutFile, "--timeout", "2s"},
		Output:  FormatFunc("stress-ng", parseStressNG),
		Metrics: []MetricHint{
			{Name: "*.bogo-ops", Polarity: HigherBetter, Unit: "ops"},
			{Name: "*.bogo-ops-per-second-real-time", Polarity: HigherBetter, Unit: "ops/s"},
			{Name: "*.bogo-ops-per-second-usr-sys-time", Polarity: HigherBetter, Unit: "ops/s"},
			{Name: "*.wall-clock-time", Unit: "s"},
			{Name: "*.user-time", Unit: "s"},
			{Name: "*.system-time", Unit: "s"},
			{Name: "*.cpu-usage-per-instance", Unit: "%"},
			{Name: "*.max-rss", Polarity: LowerBetter, Unit: "KiB"},
		},
	}

	// Hackbench runs rt-tests' hackbench (Debian package rt-tests): by
	// default 2 groups of 20 senders and 20 receivers over sockets, 100
	// messages each. Its metrics are "time", the seconds it took (lower is
	// better), and "tasks", the number of tasks.
	Hackbench = Payload{
		Name:    "hackbench",
		Binary:  "hackbench",
		Package: "rt-tests",
		Args:    []string{"--groups=2", "--loops=100"},
		Output:  FormatFunc("hackbench", parseHackbench),
		Metrics: []MetricHint{
			{Name: "time", Polarity: LowerBetter, Unit: "s"},
			{Name: "tasks", Unit: "tasks"},
		},
	}

	// Cyclictest runs rt-tests' cyclictest (Debian package rt-tests) for
	// 2 s: one SCHED_OTHER thread waking every 1000 µs (add --threads=N
	// or --priority=N for more threads or SCHED_FIFO), memory locked,
	// results written as JSON (--json). Its metrics are the wake-up
	// latencies in µs, lower is better: "min", "avg" (weighted by cycles)
	// and "max" over all threads, and "thread.N.min", "thread.N.avg",
	// "thread.N.max" per thread; "cycles" and "thread.N.cycles" count the
	// wake-ups. Without the JSON file the -q summary lines on standard
	// output are parsed.
	Cyclictest = Payload{
		Name:    "cyclictest",
		Binary:  "cyclictest",
		Package: "rt-tests",
		Args:    []string{"--quiet", "--mlockall", "--interval=1000", "--duration=2s", "--json=" + OutFile},
		Output:  FormatFunc("cyclictest", parseCyclictest),
		Metrics: []MetricHint{
			{Name: "min", Polarity: LowerBetter, Unit: "us"},
			{Name: "avg", Polarity: LowerBetter, Unit: "us"},
			{Name: "max", Polarity: LowerBetter, Unit: "us"},
			{Name: "cycles", Unit: "wakeups"},
			{Name: "thread.*.min", Polarity: LowerBetter, Unit: "us"},
			{Name: "thread.*.avg", Polarity: LowerBetter, Unit: "us"},
			{Name: "thread.*.max", Polarity: LowerBetter, Unit: "us"},
			{Name: "thread.*.act", Unit: "us"},
			{Name: "thread.*.cycles", Unit: "wakeups"},
		},
	}

	// Fio runs fio (Debian package fio) for 2 s: one job named "ktstr"
	// reading a 16 MiB file in /tmp (a tmpfs in the guest) at random in
	// 4 KiB blocks with psync, the file removed afterwards; results as JSON
	// (--output-format=json). Append job options to change the job, e.g.
	// "--rw=randwrite", "--numjobs=2".
	//
	// Every numeric leaf of fio's JSON is a metric ("jobs.0.read.iops",
	// "jobs.0.read.clat_ns.percentile.99.000000", ...), and for each of
	// read, write and trim done by some job the totals over the jobs:
	// "read.iops", "read.bw_kib" (KiB/s), "read.lat_mean_us" (the mean
	// total latency, weighted by I/O count) and "read.clat_p99_us" (the
	// worst job's 99th percentile completion latency).
	Fio = Payload{
		Name:    "fio",
		Binary:  "fio",
		Package: "fio",
		Args: []string{"--output-format=json", "--output=" + OutFile,
			"--name=ktstr", "--directory=/tmp", "--size=16M", "--unlink=1",
			"--rw=randread", "--bs=4k", "--ioengine=psync", "--time_based", "--runtime=2s"},
		Output: FormatFunc("fio", parseFio),
		Metrics: []MetricHint{
			{Name: "*.iops", Polarity: HigherBetter, Unit: "IOPS"},
			{Name: "*.bw_kib", Polarity: HigherBetter, Unit: "KiB/s"},
			{Name: "*.lat_mean_us", Polarity: LowerBetter, Unit: "us"},
			{Name: "*.clat_p99_us", Polarity: LowerBetter, Unit: "us"},
			{Name: "jobs.*.*.iops", Polarity: HigherBetter, Unit: "IOPS"},
			{Name: "jobs.*.*.bw", Polarity: HigherBetter, Unit: "KiB/s"},
		},
	}
)

// parseStressNG reads stress-ng's YAML file, or its metrics table.
func parseStressNG(stdout, stderr []byte) (Metrics, error) {
	if m := stressNGYAML(stdout); len(m) > 0 {
		return m, nil
	}
	m := Metrics{}
	stressNGTable(stdout, m)
	stressNGTable(stderr, m)
	if len(m) == 0 {
		return nil, errors.New("no stress-ng metrics: neither a --yaml file with metrics nor a metrics table (--metrics or --metrics-brief)")
	}
	return m, nil
}

// stressNGYAML reads the "metrics:" section of stress-ng's YAML output: a
// list of flat mappings, each starting with "- stressor: NAME". It parses
// only that shape, which is all stress-ng writes there.
func stressNGYAML(b []byte) Metrics {
	m := Metrics{}
	in := false
	stressor := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' && line[0] != '-' {
			// A top-level key, or "---" / "...".
			in = strings.HasPrefix(line, "metrics:")
			stressor = ""
			continue
		}
		if !in {
			continue
		}
		if rest, ok := strings.CutPrefix(trimmed, "- "); ok {
			stressor = ""
			trimmed = strings.TrimSpace(rest)
		}
		key, val, ok := strings.Cut(trimmed, ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.Trim(strings.TrimSpace(val), `"'`)
		if key == "stressor" {
			stressor = val
			continue
		}
		if stressor == "" {
			continue
		}
		if v, ok := finite(val); ok {
			m[stressor+"."+key] = v
		}
	}
	return m
}

// stressNGTable reads the "metrc:" lines of stress-ng's log:
//
//	stress-ng: metrc: [1] stressor       bogo ops real time  usr time  sys time   bogo ops/s     bogo ops/s
//	stress-ng: metrc: [1] cpu                1104      1.00      1.00      0.00      1103.66        1103.73
//	stress-ng: metrc: [1] matrix            132272.05 add matrix ops per sec (geometic mean of 1 instances)
//
// The first six numeric columns have been the same since stress-ng 0.10;
// newer versions add CPU used per instance (%) and RSS max (KB).
func stressNGTable(b []byte, m Metrics) {
	cols := []string{"bogo-ops", "wall-clock-time", "user-time", "system-time",
		"bogo-ops-per-second-real-time", "bogo-ops-per-second-usr-sys-time",
		"cpu-usage-per-instance", "max-rss"}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		_, rest, ok := strings.Cut(sc.Text(), "metrc:")
		if !ok {
			continue
		}
		if _, after, ok := strings.Cut(rest, "] "); ok {
			rest = after
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		name := f[0]
		var nums []float64
		for _, s := range f[1:] {
			v, ok := finite(s)
			if !ok {
				break
			}
			nums = append(nums, v)
		}
		switch {
		case len(nums) >= 6:
			for i, v := range nums[:min(len(nums), len(cols))] {
				m[name+"."+cols[i]] = v
			}
		case len(nums) == 1 && len(f) > 2:
			// A stressor's own metric: value, then its description up to
			// a parenthesis, named as in the YAML output.
			var words []string
			for _, w := range f[2:] {
				if strings.HasPrefix(w, "(") {
					break
				}
				words = append(words, strings.ToLower(w))
			}
			if len(words) > 0 {
				m[name+"."+strings.Join(words, "-")] = nums[0]
			}
		}
	}
}

// Compiled on first use, not at init: test binaries link this package and
// start as PID 1 of an emulated guest, where init-time work slows every boot.
var (
	hackbenchTime  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^\s*Time:\s*([0-9]+(?:\.[0-9]*)?)`) })
	hackbenchTasks = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\(==\s*([0-9]+)\s+tasks\)`) })
)

// parseHackbench reads "Time: 0.178" (and the task count) from hackbench's
// output.
func parseHackbench(stdout, stderr []byte) (Metrics, error) {
	for _, b := range [][]byte{stdout, stderr} {
		t := hackbenchTime().FindSubmatch(b)
		if t == nil {
			continue
		}
		m := Metrics{}
		if v, ok := finite(string(t[1])); ok {
			m["time"] = v
		}
		if n := hackbenchTasks().FindSubmatch(b); n != nil {
			if v, ok := finite(string(n[1])); ok {
				m["tasks"] = v
			}
		}
		return m, nil
	}
	return nil, errors.New(`no "Time:" line in hackbench's output`)
}

var cyclictestLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`T:\s*(\d+)\s+\(\s*\d+\)\s+P:\s*\d+\s+I:\s*\d+\s+C:\s*(\d+)\s+Min:\s*(\d+)\s+Act:\s*(\d+)\s+Avg:\s*(\d+)\s+Max:\s*(\d+)`)
})

// parseCyclictest reads cyclictest's --json file, or its -q summary
// lines, and adds the totals over the threads.
func parseCyclictest(stdout, stderr []byte) (Metrics, error) {
	m, _ := JSONMetrics(stdout)
	if len(m.Matching("thread.*.max")) == 0 {
		m = Metrics{}
		for _, b := range [][]byte{stdout, stderr} {
			for _, s := range cyclictestLine().FindAllSubmatch(b, -1) {
				t := "thread." + string(s[1]) + "."
				for i, k := range []string{"cycles", "min", "act", "avg", "max"} {
					v, _ := finite(string(s[i+2]))
					m[t+k] = v
				}
			}
		}
	}
	threads := m.Matching("thread.*.max")
	if len(threads) == 0 {
		return nil, errors.New("no cyclictest results: neither a --json file nor summary lines (-q)")
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	var cycles, weighted, plain float64
	for _, name := range threads {
		t := strings.TrimSuffix(name, "max")
		lo = math.Min(lo, m[t+"min"])
		hi = math.Max(hi, m[t+"max"])
		cycles += m[t+"cycles"]
		weighted += m[t+"avg"] * m[t+"cycles"]
		plain += m[t+"avg"]
	}
	m["min"], m["max"], m["cycles"] = lo, hi, cycles
	if cycles > 0 {
		m["avg"] = weighted / cycles
	} else {
		m["avg"] = plain / float64(len(threads))
	}
	return m, nil
}

// parseFio reads fio's JSON output and adds the totals over the jobs.
func parseFio(stdout, stderr []byte) (Metrics, error) {
	m, err := FormatJSON.parse(stdout, stderr)
	if err != nil && len(m) == 0 {
		return nil, err
	}
	found := false
	for _, dir := range []string{"read", "write", "trim"} {
		iops := m.Matching("jobs.*." + dir + ".iops")
		if len(iops) == 0 {
			continue
		}
		found = true
		var sumIOPS, sumBW, ios, latWeighted float64
		p99 := math.Inf(-1)
		for _, name := range iops {
			j := strings.TrimSuffix(name, "iops")
			sumIOPS += m[name]
			sumBW += m[j+"bw"]
			n := m[j+"total_ios"]
			ios += n
			latWeighted += m[j+"lat_ns.mean"] * n
			if v, ok := m[j+"clat_ns.percentile.99.000000"]; ok && n > 0 {
				p99 = math.Max(p99, v)
			}
		}
		m[dir+".iops"] = sumIOPS
		m[dir+".bw_kib"] = sumBW
		if ios > 0 {
			m[dir+".lat_mean_us"] = latWeighted / ios / 1000
		}
		if !math.IsInf(p99, -1) {
			m[dir+".clat_p99_us"] = p99 / 1000
		}
	}
	if !found {
		return m, errors.New("no jobs with read, write or trim results in fio's JSON output")
	}
	return m, err
}

// finite parses a finite float.
func finite(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}
