package report

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/report/reporttest"
)

var keep = flag.String("keep", "", "directory to keep the browser test's pages and screenshots in")

// chromium returns Debian's Chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on $PATH: the browser check needs Debian's chromium package (make deps installs it)")
	return ""
}

// headless runs Chromium headless on the page with args and returns its
// stdout.
func headless(t *testing.T, bin, page string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	profile := t.TempDir()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + profile, "--disable-extensions", "--virtual-time-budget=2000"}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+page)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// shot takes a screenshot of the page at width × height and checks that
// something was drawn: not one colour all over.
func shot(t *testing.T, bin, page, name string, width, height int) string {
	t.Helper()
	file := filepath.Join(filepath.Dir(page), name)
	headless(t, bin, page, "--screenshot="+file, "--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height))
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	b := img.Bounds()
	if b.Dx() != width {
		t.Errorf("screenshot %s is %d px wide, want %d", name, b.Dx(), width)
	}
	colours := map[uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|bl>>8] = true
		}
	}
	if len(colours) < 20 {
		t.Errorf("screenshot %s has %d colours: the page looks blank", name, len(colours))
	}
	return file
}

func pageDir(t *testing.T) string {
	if *keep != "" {
		if err := os.MkdirAll(*keep, 0o755); err != nil {
			t.Fatal(err)
		}
		return *keep
	}
	return t.TempDir()
}

// TestBrowserRun renders a run page in headless Chromium, at a desktop and
// a phone width, and checks the DOM Chromium built from it.
func TestBrowserRun(t *testing.T) {
	bin := chromium(t)
	dir := pageDir(t)
	page := filepath.Join(dir, "run.html")
	run := &Run{Title: "ktstr run fixture", Results: reporttest.Run(), Skipped: []Skipped{{Path: "bad.ktstr.json", Reason: "invalid character"}}}
	if err := WriteFile(page, func(w io.Writer) error { return WriteRun(w, run) }); err != nil {
		t.Fatal(err)
	}
	dom := headless(t, bin, page, "--dump-dom")
	for _, want := range []string{
		"<h1>ktstr run fixture</h1>", `<h2 id="run-h">The run</h2>`, `<h2 id="variants-h">Test variants</h2>`,
		"TestStall/1n1l4c1t</h3>", "<h4>Why it failed</h4>", "<h4>Steps</h4>", "<h4>Throughput per cgroup</h4>",
		"<h4>Checks against their limits</h4>", "<h4>Workers</h4>", "<h4>What the host monitor saw</h4>", "<h4>BPF programs</h4>", "<h4>Logs</h4>",
		"The scheduler's BPF maps, read nearest the failure", "stall_cgid = 4242",
		"✗ over", "✓ within", "bad.ktstr.json",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM lacks %q", want)
		}
	}
	if n := strings.Count(dom, `<svg class="chart"`); n < 3 {
		t.Errorf("the DOM holds %d charts, want 3 (throughput, runnable tasks, local DSQ)", n)
	}
	if strings.Contains(dom, "<script>alert(1)</script>") {
		t.Error("the scheduler's output reached the DOM as markup")
	}
	printed(t, bin, page)
	desk := shot(t, bin, page, "run-1280.png", 1280, 2400)
	phone := shot(t, bin, page, "run-390.png", 390, 2400)
	t.Logf("screenshots: %s %s", desk, phone)
}

// TestBrowserCompare does the same for a comparison page.
func TestBrowserCompare(t *testing.T) {
	bin := chromium(t)
	dir := pageDir(t)
	page := filepath.Join(dir, "compare.html")
	rep := compareFixture(t)
	if err := WriteFile(page, func(w io.Writer) error { return WriteCompare(w, rep, "", false, time.Time{}) }); err != nil {
		t.Fatal(err)
	}
	dom := headless(t, bin, page, "--dump-dom")
	for _, want := range []string{"<h1>ktstr comparison</h1>", `<h2 id="moved-h">What moved</h2>`, `<h2 id="table-h">Metrics, A against B</h2>`, "▲ regression", "▼ improvement"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM lacks %q", want)
		}
	}
	shot(t, bin, page, "compare-1280.png", 1280, 1400)
	shot(t, bin, page, "compare-390.png", 390, 1400)
}

// printed prints the page to PDF as a browser's print dialog would and,
// when poppler's pdftotext is there to read it back, checks that the
// folded sections were opened for printing.
func printed(t *testing.T, bin, page string) {
	t.Helper()
	pdf := strings.TrimSuffix(page, ".html") + ".pdf"
	headless(t, bin, page, "--no-pdf-header-footer", "--print-to-pdf="+pdf)
	b, err := os.ReadFile(pdf)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Fatalf("printing to PDF: %v", err)
	}
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Log("no pdftotext (poppler-utils): the printed page's text is not checked")
		return
	}
	out, err := exec.Command(tool, pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	for _, want := range []string{"Why it failed", "Debug dump triggered by SysRq-D", "sysrq: Trigger sched_ext debug dump"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the printed page lacks %q (folded sections must open for printing)", want)
		}
	}
}
