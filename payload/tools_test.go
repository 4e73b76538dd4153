package payload

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fixtures in testdata were captured from the Debian bookworm tools:
//
//	stress-ng 0.15.06: stress-ng --cpu 1 --matrix 1 --timeout 1s --metrics-brief --yaml stress-ng-cpu-matrix.yaml 2>stress-ng-cpu-matrix.stderr
//	rt-tests 2.4:      hackbench -g 2 -l 100; hackbench -T -g 1 -l 50 -s 512
//	                   cyclictest -q -D 1 -i 1000 -t 2 --json=cyclictest.json >cyclictest.stdout
//	fio 3.33:          fio --output-format=json --output=fio-randrw-2jobs.json --name=ktstr --directory=/tmp
//	                       --size=8M --rw=randrw --bs=4k --ioengine=psync --numjobs=2 --time_based --runtime=1s

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

func wantMetrics(t *testing.T, got Metrics, want Metrics) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("no metric %s (have %d: %s)", k, len(got), strings.Join(got.Names(), " "))
			continue
		}
		if !near(g, v) {
			t.Errorf("metric %s = %v, want %v", k, g, v)
		}
	}
}

func TestStressNGYAML(t *testing.T) {
	m, err := Extract(StressNG.Output, fixture(t, "stress-ng-cpu-matrix.yaml"), fixture(t, "stress-ng-cpu-matrix.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	wantMetrics(t, m, Metrics{
		"cpu.bogo-ops":                         1104,
		"cpu.bogo-ops-per-second-real-time":    1103.658454,
		"cpu.bogo-ops-per-second-usr-sys-time": 1103.728483,
		"cpu.wall-clock-time":                  1.000309,
		"cpu.user-time":                        1.000246,
		"cpu.system-time":                      0,
		"cpu.cpu-usage-per-instance":           99.993655,
		"cpu.max-rss":                          6528,
		"matrix.bogo-ops":                      2166,
		"matrix.add-matrix-ops-per-sec":        132272.048830,
		"matrix.zero-matrix-ops-per-sec":       316628.831373,
	})
	// Only the metrics section: nothing from system-info.
	for name := range m {
		if !strings.HasPrefix(name, "cpu.") && !strings.HasPrefix(name, "matrix.") {
			t.Errorf("unexpected metric %s", name)
		}
	}
	if len(m) != 8+8+14 {
		t.Errorf("%d metrics, want 30: %v", len(m), m.Names())
	}
}

func TestStressNGTableFallback(t *testing.T) {
	// No YAML file written: the metrics table on standard error.
	m, err := Extract(StressNG.Output, nil, fixture(t, "stress-ng-cpu-matrix.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	wantMetrics(t, m, Metrics{
		"cpu.bogo-ops":                         1104,
		"cpu.wall-clock-time":                  1.00,
		"cpu.user-time":                        1.00,
		"cpu.system-time":                      0,
		"cpu.bogo-ops-per-second-real-time":    1103.66,
		"cpu.bogo-ops-per-second-usr-sys-time": 1103.73,
		"matrix.bogo-ops":                      2166,
		"matrix.add-matrix-ops-per-sec":        132272.05,
		"matrix.zero-matrix-ops-per-sec":       316628.83,
	})
	// Names agree with the YAML's, so a check works either way.
	y, _ := Extract(StressNG.Output, fixture(t, "stress-ng-cpu-matrix.yaml"), nil)
	for name := range m {
		if _, ok := y[name]; !ok {
			t.Errorf("table metric %s is not a YAML metric", name)
		}
	}
	// A newer stress-ng's table with CPU use and RSS columns.
	newer := "stress-ng: metrc: [9] stressor       bogo ops real time  usr time  sys time   bogo ops/s     bogo ops/s CPU used per       RSS Max\n" +
		"stress-ng: metrc: [9] cpu                2000      2.00      3.98      0.01       999.00        501.25        99.70          6400\n"
	m, err = Extract(StressNG.Output, nil, []byte(newer))
	if err != nil || m["cpu.cpu-usage-per-instance"] != 99.7 || m["cpu.max-rss"] != 6400 || m["cpu.bogo-ops"] != 2000 {
		t.Errorf("newer table: %v, %v", m, err)
	}
	if _, err := Extract(StressNG.Output, nil, []byte("stress-ng: error: [1] No stress workers invoked\n")); err == nil {
		t.Error("no metrics: no error")
	}
}

func TestHackbench(t *testing.T) {
	for name, want := range map[string]Metrics{
		"hackbench.stdout":         {"time": 0.178, "tasks": 80},
		"hackbench-threads.stdout": {"time": 0.052, "tasks": 40},
	} {
		m, err := Extract(Hackbench.Output, fixture(t, name), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(m) != len(want) {
			t.Errorf("%s: %v, want %v", name, m, want)
		}
		wantMetrics(t, m, want)
	}
	if _, err := Extract(Hackbench.Output, []byte("Running in process mode\n"), nil); err == nil || !strings.Contains(err.Error(), "Time:") {
		t.Errorf("no Time line: %v", err)
	}
}

func TestCyclictestJSON(t *testing.T) {
	m, err := Extract(Cyclictest.Output, fixture(t, "cyclictest.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// T: 0 C: 999 Min: 62 Avg: 87.x Max: 1745; T: 1 C: 665 Min: 44 Max: 3244.
	wantMetrics(t, m, Metrics{
		"thread.0.min": 62, "thread.0.max": 1745, "thread.0.cycles": 999,
		"thread.1.min": 44, "thread.1.max": 3244, "thread.1.cycles": 665,
		"min": 44, "max": 3244, "cycles": 1664,
		"avg": (m["thread.0.avg"]*999 + m["thread.1.avg"]*665) / 1664,
	})
	if a := m["avg"]; a < 87 || a > 91 {
		t.Errorf("avg %v; want between the threads' 87 and 90", a)
	}
}

func TestCyclictestSummaryFallback(t *testing.T) {
	m, err := Extract(Cyclictest.Output, fixture(t, "cyclictest.stdout"), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantMetrics(t, m, Metrics{
		"thread.0.min": 62, "thread.0.act": 115, "thread.0.avg": 87, "thread.0.max": 1745, "thread.0.cycles": 999,
		"thread.1.min": 44, "thread.1.avg": 90, "thread.1.max": 3244, "thread.1.cycles": 665,
		"min": 44, "max": 3244, "cycles": 1664, "avg": (87*999 + 90*665) / 1664.0,
	})
	if _, err := Extract(Cyclictest.Output, []byte("# /dev/cpu_dma_latency set to 0us\n"), nil); err == nil {
		t.Error("no results: no error")
	}
}

func TestFio(t *testing.T) {
	m, err := Extract(Fio.Output, fixture(t, "fio-randrw-2jobs.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"read", "write"} {
		j0, j1 := "jobs.0."+dir+".", "jobs.1."+dir+"."
		n0, n1 := m[j0+"total_ios"], m[j1+"total_ios"]
		if n0 == 0 || n1 == 0 {
			t.Fatalf("fixture has no %s I/O: %v %v", dir, n0, n1)
		}
		wantMetrics(t, m, Metrics{
			dir + ".iops":          m[j0+"iops"] + m[j1+"iops"],
			dir + ".bw_kib":        m[j0+"bw"] + m[j1+"bw"],
			dir + ".lat_mean_us":   (m[j0+"lat_ns.mean"]*n0 + m[j1+"lat_ns.mean"]*n1) / (n0 + n1) / 1000,
			dir + ".clat_p99_us":   math.Max(m[j0+"clat_ns.percentile.99.000000"], m[j1+"clat_ns.percentile.99.000000"]) / 1000,
			j0 + "clat_ns.N":       n0,
			"jobs.1.job_runtime":   m["jobs.1.job_runtime"],
			"jobs.0.latency_depth": 1,
		})
		if m[dir+".iops"] <= 0 {
			t.Errorf("%s.iops = %v", dir, m[dir+".iops"])
		}
	}
	if _, ok := m["trim.iops"]; ok {
		// fio reports trim with zero I/O; the total is there but no latency.
		if _, ok := m["trim.lat_mean_us"]; ok {
			t.Error("trim latency without trim I/O")
		}
	}
	// Text before the JSON (fio warnings) is skipped.
	noisy := append([]byte("fio: this platform does not support process shared mutexes, forcing use of threads.\n"), fixture(t, "fio-randrw-2jobs.json")...)
	m2, err := Extract(Fio.Output, noisy, nil)
	if err != nil || m2["read.iops"] != m["read.iops"] {
		t.Errorf("with a warning first: read.iops %v, %v", m2["read.iops"], err)
	}
	if _, err := Extract(Fio.Output, []byte(`{"fio version": "fio-3.33", "jobs": []}`), nil); err == nil {
		t.Error("no jobs: no error")
	}
}
