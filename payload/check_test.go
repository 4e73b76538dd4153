package payload

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func messages(fs []Failure) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.String())
	}
	return out
}

func TestEvaluateEachKind(t *testing.T) {
	m := Metrics{"jobs.0.read.iops": 812, "jobs.1.read.iops": 1500, "lat": 12.5, "zero": 0}
	for _, c := range []struct {
		check Check
		code  int
		want  []string
	}{
		{Min("jobs.0.read.iops", 800), 0, nil},
		{Min("jobs.0.read.iops", 1000), 0, []string{"metric jobs.0.read.iops = 812 below min 1000"}},
		{Min("jobs.0.read.iops", 812), 0, nil},
		{Max("lat", 20), 0, nil},
		{Max("lat", 10), 0, []string{"metric lat = 12.5 above max 10"}},
		{Range("lat", 10, 20), 0, nil},
		{Range("lat", 12.5, 12.5), 0, nil},
		{Range("lat", 1, 2), 0, []string{"metric lat = 12.5 outside range [1, 2]"}},
		{Range("lat", 20, 30), 0, []string{"metric lat = 12.5 outside range [20, 30]"}},
		{Exists("zero"), 0, nil},
		{Exists("nope"), 0, []string{"metric nope missing; the output has jobs.0.read.iops, jobs.1.read.iops, lat, zero"}},
		{ExitCode(0), 0, nil},
		{ExitCode(0), 2, []string{"exit code 2, want 0"}},
		{ExitCode(3), 3, nil},
		{ExitCode(0), -1, []string{"ended by a signal, want exit code 0"}},
		{Min("jobs.*.read.iops", 1000), 0, []string{"metric jobs.0.read.iops = 812 below min 1000"}},
		{Max("jobs.*.read.iops", 100), 0, []string{"metric jobs.0.read.iops = 812 above max 100", "metric jobs.1.read.iops = 1500 above max 100"}},
		{Exists("jobs.*.write.iops"), 0, []string{"metric jobs.*.write.iops missing; the output has jobs.0.read.iops, jobs.1.read.iops, lat, zero"}},
		{Min("lat", 1e6), 0, []string{"metric lat = 12.5 below min 1000000"}},
	} {
		got := messages(Evaluate([]Check{c.check}, m, c.code))
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s (exit %d): got %q, want %q", c.check, c.code, got, c.want)
		}
	}
}

func TestEvaluateMissingAndInvalid(t *testing.T) {
	fs := Evaluate([]Check{Min("iops", 1)}, Metrics{}, 0)
	if got := messages(fs); !reflect.DeepEqual(got, []string{"metric iops missing: the output had no metrics"}) {
		t.Errorf("got %q", got)
	}
	if fs[0].Check != Min("iops", 1) || fs[0].Metric != "iops" {
		t.Errorf("failure %+v does not carry its check and metric", fs[0])
	}
	many := Metrics{}
	for _, n := range []string{"x.a", "x.b", "y.iops", "read.iops", "read.bw", "c", "d", "e", "f"} {
		many[n] = 1
	}
	got := messages(Evaluate([]Check{Exists("read.lat")}, many, 0))
	want := "metric read.lat missing; the output has read.bw, read.iops, c, d, e, f, … (9 in all)"
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %q\nwant %q (names sharing the prefix first)", got, want)
	}
	for _, c := range []Check{Range("x", 2, 1), Min("", 1), Max("x", math.NaN()), {Kind: 99}} {
		fs := Evaluate([]Check{c}, Metrics{"x": 1}, 0)
		if len(fs) != 1 || !strings.HasPrefix(fs[0].Message, "invalid ") {
			t.Errorf("%v: got %q; want one invalid-check failure", c, messages(fs))
		}
		if c.Validate() == nil {
			t.Errorf("%v: Validate accepted it", c)
		}
	}
	// A NaN metric fails every bound.
	if got := messages(Evaluate([]Check{Min("x", 0), Max("x", 0)}, Metrics{"x": math.NaN()}, 0)); len(got) != 2 {
		t.Errorf("NaN metric: %q; want two failures", got)
	}
}

func TestPayloadEvaluate(t *testing.T) {
	p := Payload{Name: "fio", Binary: "fio", Checks: []Check{Min("jobs.0.read.iops", 1000)}}
	got := messages(p.Evaluate(Metrics{"jobs.0.read.iops": 812}, 1))
	want := []string{"payload fio: exit code 1, want 0", "payload fio: metric jobs.0.read.iops = 812 below min 1000"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// An explicit exit-code check replaces the implicit one.
	p.Checks = []Check{ExitCode(1)}
	if fs := p.Evaluate(Metrics{}, 1); len(fs) != 0 {
		t.Errorf("ExitCode(1) with exit 1: %q", messages(fs))
	}
}

func TestCheckStringAndFormatValue(t *testing.T) {
	for c, want := range map[Check]string{
		Min("a", 1000):    "min a 1000",
		Max("a", 0.25):    "max a 0.25",
		Range("a", -1, 2): "range a [-1, 2]",
		Exists("a.b"):     "exists a.b",
		ExitCode(3):       "exit code 3",
	} {
		if got := c.String(); got != want {
			t.Errorf("%#v: %q, want %q", c, got, want)
		}
	}
	for v, want := range map[float64]string{812: "812", 1e6: "1000000", 12.5: "12.5", 1e20: "1e+20", -3: "-3", 1.0 / 3: "0.3333333333333333"} {
		if got := FormatValue(v); got != want {
			t.Errorf("FormatValue(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestValidatePayload(t *testing.T) {
	for _, c := range []struct {
		p    Payload
		want string
	}{
		{Payload{Name: "fio", Binary: "fio"}, ""},
		{Payload{Name: "my_tool-2.0", Binary: "/opt/x/tool"}, ""},
		{Payload{Binary: "fio"}, "empty Name"},
		{Payload{Name: "a/b", Binary: "fio"}, "Name may hold only"},
		{Payload{Name: "..", Binary: "fio"}, "Name may hold only"},
		{Payload{Name: "fio"}, "Binary"},
		{Payload{Name: "fio", Binary: "/usr/bin/"}, "Binary"},
		{Payload{Name: "fio", Binary: "fio", Checks: []Check{Range("x", 3, 1)}}, "not a range"},
	} {
		err := c.p.Validate()
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want %q", c.p, err, c.want)
		}
	}
	for _, p := range []Payload{StressNG, Hackbench, Cyclictest, Fio} {
		if err := p.Validate(); err != nil {
			t.Errorf("ready payload %s: %v", p.Name, err)
		}
	}
}

func TestHints(t *testing.T) {
	h, ok := Fio.Hint("read.iops")
	if !ok || h.Polarity != HigherBetter || h.Unit != "IOPS" {
		t.Errorf("Fio hint for read.iops: %+v %v", h, ok)
	}
	h, ok = Fio.Hint("jobs.3.write.iops")
	if !ok || h.Polarity != HigherBetter {
		t.Errorf("Fio hint for jobs.3.write.iops: %+v %v", h, ok)
	}
	if h, ok := Hackbench.Hint("time"); !ok || h.Polarity != LowerBetter || h.Polarity.String() != "lower" {
		t.Errorf("Hackbench hint for time: %+v %v", h, ok)
	}
	if _, ok := Hackbench.Hint("nope"); ok {
		t.Error("hint for an unknown metric")
	}
}

func TestResultErr(t *testing.T) {
	r := &Result{Name: "x"}
	if !r.Passed() || r.Err() != nil {
		t.Error("a result without failures does not pass")
	}
	r.Failures = []Failure{{Payload: "x", Message: "a"}, {Payload: "x", Message: "b"}}
	if r.Passed() || r.Err().Error() != "payload x: a\npayload x: b" {
		t.Errorf("Err() = %v", r.Err())
	}
}
