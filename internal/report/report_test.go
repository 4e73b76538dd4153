package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/ktstr-go/ktstr/internal/report/reporttest"
	"github.com/ktstr-go/ktstr/internal/stats"
	"github.com/ktstr-go/ktstr/sidecar"
)

// voidElements have no end tag in HTML.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// wellFormed parses page back token by token and checks that every element
// is closed, in order, and that every link stays inside the page: a
// fragment or a data: URL.
func wellFormed(t *testing.T, page []byte) {
	t.Helper()
	z := html.NewTokenizer(bytes.NewReader(page))
	var open []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatalf("parsing the page: %v", z.Err())
			}
			if len(open) > 0 {
				t.Errorf("elements left open at the end: %v", open)
			}
			return
		case html.StartTagToken:
			tok := z.Token()
			checkLinks(t, tok)
			if !voidElements[tok.Data] {
				open = append(open, tok.Data)
			}
		case html.SelfClosingTagToken:
			checkLinks(t, z.Token())
		case html.EndTagToken:
			tok := z.Token()
			if len(open) == 0 || open[len(open)-1] != tok.Data {
				t.Fatalf("</%s> closes %v", tok.Data, open)
			}
			open = open[:len(open)-1]
		}
	}
}

func checkLinks(t *testing.T, tok html.Token) {
	for _, a := range tok.Attr {
		switch a.Key {
		case "href", "src", "xlink:href", "action", "srcset", "poster":
			if !strings.HasPrefix(a.Val, "#") && !strings.HasPrefix(a.Val, "data:") {
				t.Errorf("<%s %s=%q> points outside the page", tok.Data, a.Key, a.Val)
			}
		}
	}
}

// external matches anything a browser could fetch from elsewhere.
var external = regexp.MustCompile(`(?i)https?://|url\(\s*['"]?(//|https?:)|@import|<link|<script[^>]+src`)

func writeRun(t *testing.T, r *Run) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteRun(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRunPage(t *testing.T) {
	page := writeRun(t, &Run{Results: reporttest.Run(), Skipped: []Skipped{{Path: "x/bad.ktstr.json", Reason: "unexpected end of JSON input"}}})
	wellFormed(t, page)
	s := string(page)
	if m := external.FindString(s); m != "" {
		t.Errorf("the page refers outside itself: %q", m)
	}
	for _, want := range []string{
		`<span class="badge">✓ 2</span> passed`, `<span class="badge">✗ 1</span> failed`, `<span class="badge">– 1</span> skipped`,
		"7.3.4&#43;deb13-amd64", "abc1234", "Test CPU, 2 CPUs, Linux 6.1.0", "tcg", "normal (guest time is the host&#39;s)",
		// failures first, with their one-line reason, linked to the variant
		`<a href="#v1"><span class="failed badge">✗</span> TestStall/1n1l4c1t</a>: scheduler-ejected: the kernel ejected`,
		"x/bad.ktstr.json</code>: unexpected end of JSON input",
		"✗ over", "✗ under", "✓ within", "not checked", "6200 ms", "at least 1000 /CPU-s",
		"spin #2", "(longest)", "cpu1", "1.50 s",
		"the red line marks when a limit was first exceeded",
		"no rq.scx.local_dsq in this kernel&#39;s BTF",
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"The scheduler&#39;s first start, which failed", "(Failed to load skel)",
		"needs 16 vCPUs, the host allows 4",
		// the bare variant degrades to what it has
		"TestBare/1n1l1c1t",
		// the passing variant without series shows its cgroups' totals
		"<h4>Work per cgroup</h4>", "basic/steady:cg0",
		// the scheduler's BPF programs: verified insns, runs, average
		// run time (7 540 000 ns over 5200 runs), – for what is unknown,
		// the total (no verified sum: one program has none)
		"<h4>BPF programs</h4>",
		`<td>ktstr_enqueue</td><td>StructOps</td><td class="n">1843</td><td class="n">5200</td><td class="n">1450</td>`,
		`<td>ktstr_dump</td><td>StructOps</td><td class="n">96</td><td class="n">0</td><td class="n">–</td>`,
		`<td>ktstr_exit_info_probe</td><td>Syscall</td><td class="n">–</td><td class="n">–</td><td class="n">–</td>`,
		`<th scope="row">all 4 programs</th><td></td><td class="n">–</td><td class="n">–</td><td class="n">–</td>`,
		"it does from Linux 5.16",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Order: failed, passed (by name), skipped.
	order := []string{"TestStall/1n1l4c1t</h3>", "TestBare/1n1l1c1t</h3>", "TestSteady/1n1l2c1t</h3>", "TestBig/2n4l4c2t</h3>"}
	last := -1
	for _, o := range order {
		i := strings.Index(s, o)
		if i < last {
			t.Errorf("%s is out of order", o)
		}
		last = i
	}
	// A failed variant is unfolded, a passed one folded.
	if !strings.Contains(s, `id="v1">`+"\n<details open>") || !strings.Contains(s, `id="v2">`+"\n<details>") {
		t.Error("failed variants should be open and passed ones folded")
	}
	if strings.Contains(s, "Could not draw") {
		t.Error("a figure could not be drawn")
	}
}

// A variant without figures shows its header and nothing broken.
func TestRunPageMissingFigures(t *testing.T) {
	r := reporttest.Failing("TestX/1n1l2c1t", 2, 10)
	r.Throughput, r.Checks, r.Workers, r.Steps, r.Logs, r.Host, r.BPF = nil, nil, nil, nil, nil, nil, nil
	r.Monitor.Series = nil
	page := writeRun(t, &Run{Results: []sidecar.Result{r}})
	wellFormed(t, page)
	s := string(page)
	for _, absent := range []string{"<h4>Steps</h4>", "<h4>Throughput per cgroup</h4>", "<h4>Checks against their limits</h4>", "<h4>Workers</h4>", "<h4>Logs</h4>", "<svg", "<h4>BPF programs</h4>"} {
		if strings.Contains(s, absent) {
			t.Errorf("the page shows %q without its figures", absent)
		}
	}
	for _, want := range []string{"<h4>Why it failed</h4>", "<h4>What the host monitor saw</h4>", "<dt>Host</dt><dd>unknown</dd>"} {
		if !strings.Contains(s, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Programs that could not be found leave the note, not a table.
	r.BPF = &sidecar.BPF{Notes: []string{"BPF programs unknown: the scheduler (pid 104) holds no BPF program, link or struct_ops map"}}
	s = string(writeRun(t, &Run{Results: []sidecar.Result{r}}))
	if !strings.Contains(s, "<h4>BPF programs</h4>\n\n<p class=\"note\">BPF programs unknown: the scheduler (pid 104)") || strings.Contains(s, "Verified insns") {
		t.Error("a BPF section with only notes is not shown as notes alone")
	}
	// A series that does not fit its CPUs is reported, not drawn.
	r.Monitor.Series = &sidecar.MonitorSeries{AtMS: []float64{0, 100}, NrRunning: [][]uint32{{1}}}
	s = string(writeRun(t, &Run{Results: []sidecar.Result{r}}))
	if !strings.Contains(s, "⚠ Could not draw runnable tasks per CPU: a CPU has 1 samples of 2") {
		t.Error("a broken series is not reported on the page")
	}
}

func TestRunPageNoResults(t *testing.T) {
	if err := WriteRun(io.Discard, &Run{}); !errors.Is(err, ErrNoResults) {
		t.Errorf("err = %v, want ErrNoResults", err)
	}
}

// Fifty failing variants with full monitor series stay under 5 MB.
func TestRunPageSize(t *testing.T) {
	var rs []sidecar.Result
	for i := range 50 {
		r := reporttest.Failing(fmt.Sprintf("TestBig/%02d", i), 4, 300)
		for k := range 24 {
			r.Workers = append(r.Workers, r.Workers[k%8])
		}
		rs = append(rs, r)
	}
	page := writeRun(t, &Run{Results: rs})
	t.Logf("50 variants: %d bytes", len(page))
	if len(page) > 5<<20 {
		t.Errorf("the page of 50 variants is %d bytes, over 5 MB", len(page))
	}
}

func TestWriteFileLeavesNothingOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.html")
	err := WriteFile(path, func(w io.Writer) error { return WriteRun(w, &Run{}) })
	if !errors.Is(err, ErrNoResults) {
		t.Fatalf("err = %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left in the directory: %v", ents)
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "r.html"), func(w io.Writer) error { return WriteRun(w, &Run{Results: reporttest.Run()}) }); err == nil || !strings.Contains(err.Error(), "cannot write the report") {
		t.Errorf("writing into a missing directory: err = %v", err)
	}
}

// compareFixture compares two kernels' runs: TestStall's spread doubles,
// TestSteady's throughput grows.
func compareFixture(t *testing.T) *stats.Report {
	t.Helper()
	var rs []sidecar.Result
	for i, k := range []string{"7.2.0", "7.3.0"} {
		a := reporttest.Passing("TestStall/1n1l4c1t")
		a.Stats.Overall = sidecar.Metrics{sidecar.MetricWorstSpread: float64(10 * (i + 1)), sidecar.MetricTotalIterations: 1000}
		b := reporttest.Passing("TestSteady/1n1l2c1t")
		b.Stats.Overall = sidecar.Metrics{sidecar.MetricTotalIterations: float64(1000 * (i + 1)), sidecar.MetricWorstGapMS: 50}
		for _, r := range []sidecar.Result{a, b} {
			r.KernelVersion = k
			rs = append(rs, r)
		}
	}
	rep, err := stats.Compare(rs, stats.Options{A: stats.Filter{stats.DimKernel: {"7.2"}}, B: stats.Filter{stats.DimKernel: {"7.3"}}})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestComparePage(t *testing.T) {
	rep := compareFixture(t)
	var b bytes.Buffer
	if err := WriteCompare(&b, rep, "", false, time.Time{}); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, b.Bytes())
	s := b.String()
	if m := external.FindString(s); m != "" {
		t.Errorf("the page refers outside itself: %q", m)
	}
	for _, want := range []string{
		`<span class="badge">▲ 1</span> regressed`, `<span class="badge">▼ 1</span> improved`,
		`<tr class="regression"><td>worst_spread</td><td class="n">10 %</td><td class="n">20 %</td><td class="n">&#43;10 (&#43;100.0%)</td>`,
		`<td class="failed">▲ regression</td>`, `<td class="passed">▼ improvement</td>`,
		"TestStall/1n1l4c1t [", "kernel=7.2",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(s, `<svg class="chart"`); n != 2 {
		t.Errorf("%d charts, want one per change (2)", n)
	}
	if strings.Contains(s, "<td>worst_gap_ms</td>") {
		t.Error("an unchanged metric is listed without all")
	}
	b.Reset()
	if err := WriteCompare(&b, rep, "", true, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<td>worst_gap_ms</td>") {
		t.Error("all does not list unchanged metrics")
	}
}
