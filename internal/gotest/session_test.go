package gotest

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ktstr-go/ktstr/internal/env"
	"github.com/ktstr-go/ktstr/internal/gotest/gotesttest"
)

// fakeGo is gotesttest.FakeGo with fixture, unless absolute, in testdata.
func fakeGo(t *testing.T, fixture string, code int, calls *[][]string) func(context.Context, []string, []string) *exec.Cmd {
	if !filepath.IsAbs(fixture) {
		fixture = filepath.Join("testdata", fixture)
	}
	return gotesttest.FakeGo(t, fixture, code, calls)
}

func newTestSession(s *Session, stdout, stderr *bytes.Buffer) *Session {
	s.Stdout, s.Stderr, s.Now, s.Width = stdout, stderr, time.Now, func() int { return 100 }
	return s
}

func TestSessionPlain(t *testing.T) {
	var stdout, stderr bytes.Buffer
	junit := filepath.Join(t.TempDir(), "report.xml")
	o := &Session{JUnit: junit, Args: ParseArgs([]string{"./..."})}
	s := newTestSession(o, &stdout, &stderr)
	var calls [][]string
	s.GoCmd = fakeGo(t, "mixed.jsonl", 1, &calls)
	code, err := s.Test(context.Background(), []string{env.RunID + "=r"}, 0)
	if err != nil || code != 1 {
		t.Fatalf("code %d, %v", code, err)
	}
	if len(calls) != 1 || strings.Join(calls[0][:3], " ") != "test -json ./..." || !slices.Contains(calls[0], env.RunID+"=r") {
		t.Errorf("go called with %q", calls)
	}
	out := stdout.String()
	// A line per variant as it ends, go's package lines, then the failed
	// tests' output and the summary.
	for _, want := range []string{
		"PASS TestTopo/2n4l4c1t (0.0s)\n",
		"FAIL TestTopo/1n1l2c2t (0.1s)  body: worker 1 of cg0 starved\n",
		"SKIP TestAllSkipped (0.0s)  needs /dev/kvm\n",
		"FAIL\texample.com/fix/par\t0.114s\n",
		"# example.com/fix/buildfail [example.com/fix/buildfail.test]\nbuildfail/bf.go:3:23: cannot use",
		"FAIL\texample.com/fix/buildfail [build failed]\n",
		"?   \texample.com/fix/notests\t[no test files]\n",
		"\n--- FAIL: example.com/fix/par TestTopo/1n1l2c2t (0.1s)\n    par_test.go:15: ktstr: 1n1l2c2t",
		"FAIL  example.com/fix/panics     TestBoom/1n2l2c1t                      0.0s  panic: assignment to entry in nil map",
		"\n7 passed, 5 failed, 2 skipped\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if !strings.HasSuffix(out, "\n\n7 passed, 5 failed, 2 skipped\n") {
		t.Errorf("stdout does not end with the totals line:\n%s", out[max(0, len(out)-300):])
	}
	if strings.Contains(out, "=== RUN") || strings.Contains(out, `"Action"`) {
		t.Error("stdout has go test -v output or JSON without -v or -json")
	}
	if stderr.String() != "go: a note on stderr\n" {
		t.Errorf("stderr %q", stderr.String())
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var js JUnitSuites
	if err := xml.Unmarshal(data, &js); err != nil || js.Tests != 14 || js.Failures != 5 {
		t.Errorf("junit: %v %+v", err, js)
	}
}

func TestSessionJSONAndVerbose(t *testing.T) {
	var stdout, stderr bytes.Buffer
	o := &Session{Args: ParseArgs([]string{"-json", "-v", "./skips"})}
	s := newTestSession(o, &stdout, &stderr)
	var calls [][]string
	s.GoCmd = fakeGo(t, "count2.jsonl", 0, &calls)
	code, err := s.Test(context.Background(), nil, 0)
	if err != nil || code != 0 {
		t.Fatalf("code %d, %v", code, err)
	}
	fixture, _ := os.ReadFile(filepath.Join("testdata", "count2.jsonl"))
	// -json: go's events verbatim on stdout; go's stderr stays on stderr.
	if stdout.String() != string(fixture) {
		t.Errorf("stdout is not go's JSON:\n%s", stdout.String())
	}
	// The report goes to stderr; -v prints the output as go test -v
	// would, and no result lines of ktstr's own.
	e := stderr.String()
	for _, want := range []string{
		"go: a note on stderr\n",
		"=== RUN   TestGauntlet\n=== RUN   TestGauntlet/1n2l2c1t\n--- PASS: TestGauntlet/1n2l2c1t (0.00s)\n",
		"PASS\nok  \texample.com/fix/skips\t0.004s\n",
		"\n2 passed, 0 failed, 4 skipped\n",
	} {
		if !strings.Contains(e, want) {
			t.Errorf("stderr lacks %q:\n%s", want, e)
		}
	}
	if strings.Contains(e, "PASS TestGauntlet/1n2l2c1t (") {
		t.Error("result lines printed with -v")
	}
}

func TestSessionTerminal(t *testing.T) {
	var stdout, stderr bytes.Buffer
	o := &Session{Args: ParseArgs(nil)}
	s := newTestSession(o, &stdout, &stderr)
	s.Terminal = true
	var calls [][]string
	s.GoCmd = fakeGo(t, "ktstr.jsonl", 1, &calls)
	code, err := s.Test(context.Background(), nil, 5)
	if err != nil || code != 1 {
		t.Fatalf("code %d, %v", code, err)
	}
	e := stderr.String()
	for _, want := range []string{"\r\x1b[K[0/5 done]", "[1/5 done]", " | 1 failed", "[5/5 done] | 2 failed"} {
		if !strings.Contains(e, want) {
			t.Errorf("status line never showed %q:\n%q", want, e)
		}
	}
	if !strings.HasSuffix(e, "\r\x1b[K") {
		t.Errorf("status line not cleared at the end: %q", e[max(0, len(e)-80):])
	}
	out := stdout.String()
	// On a terminal only failures get a line of their own as they happen.
	if strings.Contains(out, "PASS TestBodyFails/1n1l2c1t (") || !strings.Contains(out, "FAIL TestBodyFails/1n2l1c1t (5.3s)  body: cg1: worker 3 starved: 0 work units in 1s\n") {
		t.Errorf("stdout:\n%s", out)
	}
	if !strings.HasSuffix(out, "\n1 passed, 2 failed, 2 skipped\n") {
		t.Errorf("stdout end:\n%s", out[max(0, len(out)-200):])
	}
}

func TestSessionPackageOutput(t *testing.T) {
	// What a package prints outside its tests (here go test -list) shows
	// before its result line; a package failing outside its tests is a
	// row of the summary.
	stream := `{"Action":"start","Package":"p"}
{"Action":"output","Package":"p","Output":"TestA\n"}
{"Action":"output","Package":"p","Output":"TestB\n"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.01s\n"}
{"Action":"pass","Package":"p","Elapsed":0.01}
{"Action":"start","Package":"q"}
{"Action":"output","Package":"q","Output":"ktstr: KTSTR_SHARD: shard \"5/4\": want 1 ≤ K ≤ N\n"}
{"Action":"output","Package":"q","Output":"FAIL\tq\t0.01s\n"}
{"Action":"fail","Package":"q","Elapsed":0.01}
`
	path := filepath.Join(t.TempDir(), "stream.jsonl")
	if err := os.WriteFile(path, []byte(stream), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	s := newTestSession(&Session{Args: ParseArgs([]string{"-list", ".", "./p", "./q"})}, &stdout, &stderr)
	var calls [][]string
	s.GoCmd = fakeGo(t, path, 1, &calls)
	code, err := s.Test(context.Background(), nil, 0)
	if err != nil || code != 1 {
		t.Fatalf("code %d, %v", code, err)
	}
	want := "TestA\nTestB\nok  \tp\t0.01s\n" +
		"ktstr: KTSTR_SHARD: shard \"5/4\": want 1 ≤ K ≤ N\nFAIL\tq\t0.01s\n" +
		"\n--- FAIL: q [package] (0.0s)\n    ktstr: KTSTR_SHARD: shard \"5/4\": want 1 ≤ K ≤ N\n" +
		"\nFAIL  q [package]  0.0s  ktstr: KTSTR_SHARD: shard \"5/4\": want 1 ≤ K ≤ N\n\n0 passed, 1 failed, 0 skipped\n"
	if stdout.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), want)
	}
}

func TestSessionList(t *testing.T) {
	var stdout, stderr bytes.Buffer
	o := &Session{Listing: true, Args: ParseArgs([]string{"-json", "./listb", "./lista"})}
	s := newTestSession(o, &stdout, &stderr)
	var calls [][]string
	s.GoCmd = fakeGo(t, "list.jsonl", 0, &calls)
	code, err := s.List(context.Background(), []string{env.List + "=1"})
	if err != nil || code != 0 {
		t.Fatalf("code %d, %v", code, err)
	}
	// By package, then in the order they came; -json does not apply.
	want := "TestB/1n2l2c1t\nTestB/1n1l4c1t\nTestA/1n1l2c2t\nTestB/1n2l2c1t\nTestB/1n1l4c1t\nTestA/1n1l2c2t\n"
	if stdout.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), want)
	}
	if !slices.Contains(calls[0], env.List+"=1") {
		t.Errorf("env %q", calls[0])
	}

	// A failing listing (a package does not build) fails the command.
	stdout.Reset()
	stderr.Reset()
	s.GoCmd = fakeGo(t, "mixed.jsonl", 1, &calls)
	code, err = s.List(context.Background(), []string{env.List + "=1"})
	if err != nil || code != 1 {
		t.Fatalf("code %d, %v", code, err)
	}
	if !strings.Contains(stderr.String(), "--- FAIL: example.com/fix/buildfail [build failed]") || !strings.Contains(stderr.String(), "ktstr: listing failed") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

func TestSessionCount(t *testing.T) {
	var stdout, stderr bytes.Buffer
	s := newTestSession(&Session{Args: ParseArgs(nil)}, &stdout, &stderr)
	var calls [][]string
	s.GoCmd = fakeGo(t, "list.jsonl", 0, &calls)
	// Two packages of TestB/{1n2l2c1t,1n1l4c1t,gauntlet}, TestA/1n1l2c2t,
	// TestUnit.
	if n := s.Count(context.Background(), []string{env.List + "=1"}); n != 10 {
		t.Errorf("count %d, want 10", n)
	}
	if s.progress != nil || s.run != nil {
		t.Error("count left its state behind")
	}
	s.GoCmd = fakeGo(t, "list.jsonl", 1, &calls)
	if n := s.Count(context.Background(), []string{env.List + "=1"}); n != 0 {
		t.Errorf("count of a failed listing %d, want 0", n)
	}
}

// Report's line ends the summary; its error makes the run fail.
func TestSessionReport(t *testing.T) {
	for _, fail := range []bool{false, true} {
		var stdout, stderr bytes.Buffer
		s := newTestSession(&Session{Args: ParseArgs([]string{"./..."})}, &stdout, &stderr)
		var calls [][]string
		s.GoCmd = fakeGo(t, "mixed.jsonl", 0, &calls)
		s.Report = func() (string, error) {
			if fail {
				return "", errors.New("no result files")
			}
			return "report: r.html (14 variants)", nil
		}
		code, err := s.Test(context.Background(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		want, wantCode := "\n7 passed, 5 failed, 2 skipped\nreport: r.html (14 variants)\n", 0
		if fail {
			want, wantCode = "skipped\nreport: not written: no result files\n", 1
		}
		if !strings.HasSuffix(stdout.String(), want) || code != wantCode {
			t.Errorf("fail=%v: code %d, stdout ends %q", fail, code, stdout.String()[max(0, stdout.Len()-80):])
		}
	}
}
