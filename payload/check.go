package payload

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// CheckKind says what a [Check] tests.
type CheckKind int

// The kinds of check.
const (
	CheckMin      CheckKind = iota + 1 // metric >= Lo
	CheckMax                           // metric <= Hi
	CheckRange                         // Lo <= metric <= Hi
	CheckExists                        // the metric was reported
	CheckExitCode                      // the exit status is Code
)

// Check is a pass/fail condition on a payload's run. Build checks with
// [Min], [Max], [Range], [Exists] and [ExitCode].
//
// A metric name may hold "*" segments, each matching any one segment; the
// check then applies to every matching metric and fails when none matches:
// Min("jobs.*.read.iops", 1000) wants every job at 1000 IOPS or more.
type Check struct {
	Kind   CheckKind
	Metric string
	// Lo and Hi are the bounds of CheckMin (Lo), CheckMax (Hi) and
	// CheckRange (both, inclusive).
	Lo, Hi float64
	// Code is the exit status CheckExitCode wants.
	Code int
}

// Min wants metric to be at least v.
func Min(metric string, v float64) Check { return Check{Kind: CheckMin, Metric: metric, Lo: v} }

// Max wants metric to be at most v.
func Max(metric string, v float64) Check { return Check{Kind: CheckMax, Metric: metric, Hi: v} }

// Range wants metric to be within [lo, hi].
func Range(metric string, lo, hi float64) Check {
	return Check{Kind: CheckRange, Metric: metric, Lo: lo, Hi: hi}
}

// Exists wants metric to be reported.
func Exists(metric string) Check { return Check{Kind: CheckExists, Metric: metric} }

// ExitCode wants the payload to exit with status code. A payload's checks
// include ExitCode(0) unless they hold an ExitCode check of their own.
func ExitCode(code int) Check { return Check{Kind: CheckExitCode, Code: code} }

// String describes the check, e.g. "min jobs.0.read.iops 1000".
func (c Check) String() string {
	switch c.Kind {
	case CheckMin:
		return fmt.Sprintf("min %s %s", c.Metric, FormatValue(c.Lo))
	case CheckMax:
		return fmt.Sprintf("max %s %s", c.Metric, FormatValue(c.Hi))
	case CheckRange:
		return fmt.Sprintf("range %s [%s, %s]", c.Metric, FormatValue(c.Lo), FormatValue(c.Hi))
	case CheckExists:
		return "exists " + c.Metric
	case CheckExitCode:
		return fmt.Sprintf("exit code %d", c.Code)
	}
	return fmt.Sprintf("check kind %d", int(c.Kind))
}

// Validate reports a check that cannot be evaluated: an unknown kind, a
// missing metric name, a NaN bound, a range whose low end is above its high
// end.
func (c Check) Validate() error {
	switch c.Kind {
	case CheckMin, CheckMax, CheckRange, CheckExists:
		if c.Metric == "" {
			return fmt.Errorf("check %s: no metric name", c)
		}
	case CheckExitCode:
		return nil
	default:
		return fmt.Errorf("check of unknown kind %d", int(c.Kind))
	}
	switch {
	case c.Kind == CheckMin && math.IsNaN(c.Lo), c.Kind == CheckMax && math.IsNaN(c.Hi):
		return fmt.Errorf("check %s: the bound is NaN", c)
	case c.Kind == CheckRange && (math.IsNaN(c.Lo) || math.IsNaN(c.Hi) || c.Lo > c.Hi):
		return fmt.Errorf("check %s: not a range", c)
	}
	return nil
}

// Failure is one failed check or problem of a payload's run.
type Failure struct {
	// Payload names the payload (set by [Payload.Evaluate] and the
	// runner; empty from [Evaluate]).
	Payload string
	// Check is the failed check; the zero Check for problems that are not
	// checks (output that does not parse, a timeout).
	Check Check
	// Metric is the metric the failure is about, if any.
	Metric string
	// Message says what failed, without the payload's name, e.g.
	// "metric jobs.0.read.iops = 812 below min 1000".
	Message string
}

// String returns the message, prefixed with "payload NAME: " when the
// payload is known.
func (f Failure) String() string {
	if f.Payload == "" {
		return f.Message
	}
	return "payload " + f.Payload + ": " + f.Message
}

// Evaluate runs checks against the metrics and exit code of a run and
// returns one failure per violation, in the order of checks (for a check
// with "*" segments, in the order of the matching metric names).
func Evaluate(checks []Check, metrics Metrics, exitCode int) []Failure {
	var fs []Failure
	for _, c := range checks {
		if err := c.Validate(); err != nil {
			fs = append(fs, Failure{Check: c, Metric: c.Metric, Message: "invalid " + err.Error()})
			continue
		}
		if c.Kind == CheckExitCode {
			if exitCode != c.Code {
				msg := fmt.Sprintf("exit code %d, want %d", exitCode, c.Code)
				if exitCode < 0 {
					msg = fmt.Sprintf("ended by a signal, want exit code %d", c.Code)
				}
				fs = append(fs, Failure{Check: c, Message: msg})
			}
			continue
		}
		names := metrics.Matching(c.Metric)
		if len(names) == 0 {
			fs = append(fs, Failure{Check: c, Metric: c.Metric, Message: missing(c.Metric, metrics)})
			continue
		}
		for _, name := range names {
			v := metrics[name]
			var msg string
			switch c.Kind {
			case CheckMin:
				if !(v >= c.Lo) {
					msg = fmt.Sprintf("metric %s = %s below min %s", name, FormatValue(v), FormatValue(c.Lo))
				}
			case CheckMax:
				if !(v <= c.Hi) {
					msg = fmt.Sprintf("metric %s = %s above max %s", name, FormatValue(v), FormatValue(c.Hi))
				}
			case CheckRange:
				if !(v >= c.Lo && v <= c.Hi) {
					msg = fmt.Sprintf("metric %s = %s outside range [%s, %s]", name, FormatValue(v), FormatValue(c.Lo), FormatValue(c.Hi))
				}
			}
			if msg != "" {
				fs = append(fs, Failure{Check: c, Metric: name, Message: msg})
			}
		}
	}
	return fs
}

// missing describes a metric that is not in metrics, naming a few that
// are, those sharing the most leading segments first.
func missing(name string, metrics Metrics) string {
	if len(metrics) == 0 {
		return fmt.Sprintf("metric %s missing: the output had no metrics", name)
	}
	want := strings.Split(name, ".")
	shared := func(n string) int {
		got := strings.Split(n, ".")
		i := 0
		for i < len(want) && i < len(got) && (want[i] == got[i] || want[i] == "*") {
			i++
		}
		return i
	}
	names := metrics.Names()
	slices.SortStableFunc(names, func(a, b string) int { return shared(b) - shared(a) })
	const show = 6
	more := ""
	if len(names) > show {
		more = fmt.Sprintf(", … (%d in all)", len(names))
		names = names[:show]
	}
	return fmt.Sprintf("metric %s missing; the output has %s%s", name, strings.Join(names, ", "), more)
}

// FormatValue formats a metric value for messages: integers without a
// fraction or exponent up to 1e15, others in the shortest form that reads
// back the same.
func FormatValue(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
