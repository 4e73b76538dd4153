package gotest

import (
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestSummaryGolden(t *testing.T) {
	for _, c := range []struct{ fixture, golden string }{
		{"mixed.jsonl", "mixed.summary"},
		{"timeout.jsonl", "timeout.summary"},
		{"ktstr.jsonl", "ktstr.summary"},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			r := load(t, c.fixture)
			rows := r.Rows()
			var b strings.Builder
			if err := WriteFailures(&b, rows); err != nil {
				t.Fatal(err)
			}
			b.WriteString("\n")
			if err := WriteSummary(&b, rows); err != nil {
				t.Fatal(err)
			}
			golden(t, c.golden, b.String())
		})
	}
}

func TestRows(t *testing.T) {
	r := load(t, "mixed.jsonl")
	var got []string
	for _, row := range r.Rows() {
		got = append(got, row.Status.String()+" "+row.Package+" "+row.Name)
	}
	want := []string{
		"PASS " + par + " TestTopo/1n2l2c1t",
		"FAIL " + par + " TestTopo/1n1l2c2t",
		"PASS " + par + " TestTopo/2n4l4c1t",
		"PASS " + par + " TestPlain",
		"PASS " + par + " TestNested/gauntlet/tiny-1llc/default",
		"FAIL " + par + " TestNested/gauntlet/tiny-1llc/lowlat",
		// Failed with no failed subtest: on its own account.
		"FAIL " + par + " TestParentFails",
		"PASS " + par + " TestParentFails/child",
		"PASS " + panics + " TestOK",
		// TestBoom, whose output is the subtest's panic, is not a row.
		"FAIL " + panics + " TestBoom/1n2l2c1t",
		"FAIL " + buildfail + " " + BuildFailedName,
		"PASS " + skips + " TestGauntlet/1n2l2c1t",
		"SKIP " + skips + " TestGauntlet/gauntlet",
		"SKIP " + skips + " TestAllSkipped",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if tot := Tally(r.Rows()); tot.String() != "7 passed, 5 failed, 2 skipped" {
		t.Errorf("totals %s", tot)
	}
}

func TestRowsPackageFailure(t *testing.T) {
	// TestMain fails after every test passed: the package is a row.
	r := NewRun()
	r.Apply(Event{Action: ActionRun, Package: "p", Test: "TestA"})
	r.Apply(Event{Action: ActionPass, Package: "p", Test: "TestA", Elapsed: 1.5})
	r.Apply(Event{Action: ActionOutput, Package: "p", Output: "ktstr: cleaning up: 2 QEMU processes left\n"})
	r.Apply(Event{Action: ActionOutput, Package: "p", Output: "FAIL\tp\t1.6s\n"})
	r.Apply(Event{Action: ActionFail, Package: "p", Elapsed: 1.6})
	var b strings.Builder
	WriteSummary(&b, r.Rows())
	want := "FAIL  p [package]  1.6s  ktstr: cleaning up: 2 QEMU processes left\n" +
		"PASS  TestA        1.5s\n" +
		"\n" +
		"1 passed, 1 failed, 0 skipped\n"
	if b.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestSummaryEmptyAndTotalsLine(t *testing.T) {
	var b strings.Builder
	WriteSummary(&b, nil)
	if b.String() != "0 passed, 0 failed, 0 skipped\n" {
		t.Errorf("%q", b.String())
	}
	// The totals line stands alone on the last line, for log readers.
	r := load(t, "mixed.jsonl")
	b.Reset()
	WriteSummary(&b, r.Rows())
	ls := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if last := ls[len(ls)-1]; last != "7 passed, 5 failed, 2 skipped" {
		t.Errorf("last line %q", last)
	}
	for _, l := range ls {
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing blanks: %q", l)
		}
	}
}

func TestSummaryTruncatesReasons(t *testing.T) {
	long := strings.Repeat("é", 300)
	rows := []Row{{Package: "p", Name: "TestA", Status: Failed, Reason: long}}
	var b strings.Builder
	WriteSummary(&b, rows)
	first := strings.Split(b.String(), "\n")[0]
	if !strings.HasSuffix(first, strings.Repeat("é", MaxReason-1)+"…") {
		t.Errorf("%q", first)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                         "0.0s",
		40 * time.Millisecond:     "0.0s",
		4200 * time.Millisecond:   "4.2s",
		59940 * time.Millisecond:  "59.9s",
		time.Minute:               "1m00s",
		187 * time.Second:         "3m07s",
		2*time.Hour + time.Second: "120m01s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestSummaryByKernel(t *testing.T) {
	const pkg = "example.com/scheds"
	row := func(name string, st Status) Row {
		return Row{Package: pkg, Name: name, Status: st, Elapsed: time.Second, Test: &Test{Name: name}}
	}
	rows := []Row{
		row("TestA/1n2l2c1t/build-6.12.118-x", Passed),
		row("TestA/1n2l2c1t/debian-7.3.4_deb13-amd64", Passed),
		row("TestB/scx_qmap/2n2l2c1t/build-6.12.118-x", Failed),
		row("TestB/scx_qmap/2n2l2c1t/debian-7.3.4_deb13-amd64", Passed),
		row("TestC/gauntlet", Skipped),
	}
	var b strings.Builder
	if err := WriteSummary(&b, rows, "build-6.12.118-x", "debian-7.3.4_deb13-amd64"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	want := `by kernel:
  build-6.12.118-x          1 passed, 1 failed, 0 skipped
  debian-7.3.4_deb13-amd64  2 passed, 0 failed, 0 skipped
differs by kernel:
  TestB/scx_qmap/2n2l2c1t  FAIL on build-6.12.118-x, PASS on debian-7.3.4_deb13-amd64

3 passed, 1 failed, 1 skipped
`
	if !strings.HasSuffix(out, "\n\n"+want) {
		t.Errorf("summary:\n%s\nwant it to end with:\n%s", out, want)
	}
	// One kernel: the summary as before.
	b.Reset()
	if err := WriteSummary(&b, rows[:2], "build-6.12.118-x"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "by kernel") {
		t.Errorf("one kernel got a by-kernel block:\n%s", b.String())
	}
}
