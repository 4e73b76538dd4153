package payload

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
)

func TestJSONNestedAndArrays(t *testing.T) {
	out := []byte(`{
		"version": "3.33",
		"ok": true,
		"nothing": null,
		"jobs": [
			{"name": "a", "read": {"iops": 812, "lat": {"mean": 1.5e3}}, "tags": ["x", 7]},
			{"name": "b", "read": {"iops": 1000.25, "lat": {"mean": -2}}, "empty": {}, "none": []}
		],
		"matrix": [[1, 2], [3]],
		"weird key": {"99.000000": 42, "": 5}
	}`)
	got, err := Extract(FormatJSON, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Metrics{
		"jobs.0.read.iops":     812,
		"jobs.0.read.lat.mean": 1500,
		"jobs.0.tags.1":        7,
		"jobs.1.read.iops":     1000.25,
		"jobs.1.read.lat.mean": -2,
		"matrix.0.0":           1,
		"matrix.0.1":           2,
		"matrix.1.0":           3,
		"weird key.99.000000":  42,
		"weird key.":           5,
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestJSONTopLevelArray(t *testing.T) {
	got, err := JSONMetrics([]byte(`[1, {"a": 2}, "s", [3]]`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Metrics{"0": 1, "1.a": 2, "3.0": 3}); !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestJSONNonNumericLeavesIgnored(t *testing.T) {
	got, err := JSONMetrics([]byte(`{"s": "123", "b": false, "n": null, "o": {"s": "1.5"}, "big": 1e400, "x": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Metrics{"x": 1}); !maps.Equal(got, want) {
		t.Errorf("got %v, want %v (strings, booleans, null and out-of-range numbers are not metrics)", got, want)
	}
}

// nested returns a JSON value whose numeric leaf "v" sits under depth-1
// objects, so it has depth path segments.
func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + `{"v": 1}` + strings.Repeat("}", depth-1)
}

func TestJSONDepthLimit(t *testing.T) {
	for _, c := range []struct {
		depth int
		want  int
	}{{1, 1}, {MaxDepth, 1}, {MaxDepth + 1, 0}, {500, 0}} {
		got, err := JSONMetrics([]byte(nested(c.depth)))
		if err != nil {
			t.Fatalf("depth %d: %v", c.depth, err)
		}
		if len(got) != c.want {
			t.Errorf("depth %d: %d metrics, want %d", c.depth, len(got), c.want)
		}
		if c.want == 1 {
			name := strings.Repeat("a.", c.depth-1) + "v"
			if _, ok := got[name]; !ok {
				t.Errorf("depth %d: no metric %s in %v", c.depth, name, got)
			}
		}
	}
	// Shallow leaves beside a too-deep branch are kept.
	got, err := JSONMetrics([]byte(`{"deep": ` + nested(MaxDepth) + `, "shallow": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["shallow"] != 2 {
		t.Errorf("got %v; want only shallow (the deep leaf has %d segments)", got, MaxDepth+1)
	}
}

func TestJSONStderrFallback(t *testing.T) {
	for _, c := range []struct {
		name           string
		stdout, stderr string
		want           Metrics
		err            bool
	}{
		{"stdout wins", `{"a": 1}`, `{"b": 2}`, Metrics{"a": 1}, false},
		{"empty stdout", "", `{"b": 2}`, Metrics{"b": 2}, false},
		{"text on stdout", "starting...\ndone\n", `{"b": 2}`, Metrics{"b": 2}, false},
		{"no numbers on stdout", `{"a": "x"}`, `{"b": 2}`, Metrics{"b": 2}, false},
		{"neither", "nope", "nope either", Metrics{}, true},
		{"nothing at all", "", "", Metrics{}, true},
		{"stdout JSON without metrics, no stderr", `{"a": "x"}`, "", Metrics{}, false},
	} {
		got, err := Extract(FormatJSON, []byte(c.stdout), []byte(c.stderr))
		if (err != nil) != c.err || !maps.Equal(got, c.want) {
			t.Errorf("%s: got %v, %v; want %v, error %v", c.name, got, err, c.want, c.err)
		}
	}
}

func TestJSONSkipsLeadingText(t *testing.T) {
	out := "fio: warning: this platform does not support process shared mutexes\n{not json\n{\"jobs\": [{\"iops\": 5}]}\ntrailing text\n"
	got, err := JSONMetrics([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Metrics{"jobs.0.iops": 5}); !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := JSONMetrics([]byte(`{"a": 1`)); err == nil {
		t.Error("truncated JSON: no error")
	}
}

func TestExtractCapsOutput(t *testing.T) {
	// A JSON array longer than MaxOutput: the cut value does not parse, and
	// the error says the output was cut.
	var b bytes.Buffer
	b.WriteString(`{"pad": "`)
	b.Write(bytes.Repeat([]byte("x"), MaxOutput))
	b.WriteString(`", "v": 1}`)
	_, err := Extract(FormatJSON, b.Bytes(), nil)
	if err == nil || !strings.Contains(err.Error(), "cut at 16 MiB") {
		t.Errorf("error %v; want one saying the output was cut at 16 MiB", err)
	}
	// A value that ends before the cut parses, whatever follows.
	big := append([]byte(`{"v": 1}`+"\n"), bytes.Repeat([]byte("y"), MaxOutput+100)...)
	got, err := Extract(FormatJSON, big, nil)
	if err != nil || got["v"] != 1 {
		t.Errorf("got %v, %v; want v=1", got, err)
	}
	// A parser sees at most MaxOutput bytes of each stream.
	var seen [2]int
	f := FormatFunc("len", func(stdout, stderr []byte) (Metrics, error) {
		seen = [2]int{len(stdout), len(stderr)}
		return nil, nil
	})
	m, err := Extract(f, make([]byte, MaxOutput+1), make([]byte, 10))
	if err != nil || m == nil || seen != [2]int{MaxOutput, 10} {
		t.Errorf("parser saw %v bytes (metrics %v, %v); want [%d 10] and empty metrics", seen, m, err, MaxOutput)
	}
}

func TestJSONTooManyMetrics(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := range MaxMetrics + 10 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("1")
	}
	b.WriteString("]")
	m, err := JSONMetrics([]byte(b.String()))
	if !errors.Is(err, ErrTooManyMetrics) || len(m) != MaxMetrics {
		t.Errorf("%d metrics, error %v; want %d and ErrTooManyMetrics", len(m), err, MaxMetrics)
	}
}

func TestExtractExitCodeAndCustom(t *testing.T) {
	m, err := Extract(FormatExitCode, []byte(`{"a": 1}`), nil)
	if err != nil || len(m) != 0 || m == nil {
		t.Errorf("exit-code format: %v, %v; want empty metrics", m, err)
	}
	var zero Format
	if zero.String() != "exit-code" || FormatJSON.String() != "json" {
		t.Errorf("names %q %q", zero, FormatJSON)
	}
	nan := FormatFunc("nan", func(_, _ []byte) (Metrics, error) {
		return Metrics{"ok": 1, "nan": zeroF / zeroF, "inf": 1 / zeroF}, fmt.Errorf("partial")
	})
	m, err = Extract(nan, nil, nil)
	if err == nil || len(m) != 1 || m["ok"] != 1 {
		t.Errorf("got %v, %v; want only the finite metric and the parser's error", m, err)
	}
}

var zeroF float64

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a.*", "a.b", true},
		{"a.*", "a.b.c", false},
		{"*.iops", "read.iops", true},
		{"*.iops", "jobs.0.read.iops", false},
		{"jobs.*.*.iops", "jobs.0.read.iops", true},
		{"*", "x", true},
		{"*", "x.y", false},
		{"a", "a.b", false},
		{"a.b", "a", false},
	} {
		if got := Match(c.pattern, c.name); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.pattern, c.name, got)
		}
	}
}
