// Package payload declares binary workloads that a ktstr test runs inside
// the guest, beside or instead of ktstr's own workers, and turns what they
// print into metrics and pass/fail checks.
//
// A [Payload] names a binary, found on the host when the VM is built (by
// path, or by name on the host's $PATH) and packed into the guest with its
// shared libraries; its default arguments; how its output becomes metrics
// ([FormatExitCode], [FormatJSON] or a parser of its own, [FormatFunc]);
// hints on what its metrics mean ([MetricHint]); and [Check]s that fail the
// test:
//
//	var myBench = payload.Payload{
//		Name:   "mybench",
//		Binary: "mybench", // looked up on the host's $PATH
//		Args:   []string{"--json"},
//		Output: payload.FormatJSON,
//		Metrics: []payload.MetricHint{
//			{Name: "ops_per_sec", Polarity: payload.HigherBetter, Unit: "ops/s"},
//		},
//		Checks: []payload.Check{payload.Min("ops_per_sec", 1000)},
//	}
//
// List it in the test's ktstr.Spec.Payloads so the host packs it, and run it
// from the body with ctx.RunPayload or ctx.StartPayload. In the guest the
// binary is /ktstr/payload/<Name>/<base name of Binary>, and every such
// directory is on $PATH.
//
// Ready definitions cover tools Debian packages: [StressNG] (package
// stress-ng), [Hackbench] and [Cyclictest] (rt-tests) and [Fio] (fio).
//
// The package itself does no process handling: [Extract] turns captured
// output into [Metrics] and [Evaluate] judges them, so both can be used and
// tested on their own.
package payload

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Payload declares a binary workload.
//
// The Payload value is evaluated both on the host and in the guest (it is
// part of the test's Spec), so it must not depend on host-only state: the
// host resolves Binary when it builds the VM, never the guest.
type Payload struct {
	// Name identifies the payload: it names the payload's directory in the
	// guest, prefixes its metrics in the test's result ("fio.read.iops")
	// and starts its failure messages ("payload fio: ..."). Letters,
	// digits, '-', '_' and '.'.
	Name string
	// Binary is the program: a path on the host, or a name looked up on the
	// host's $PATH when the VM is built.
	Binary string
	// Package names the Debian package that provides Binary; a missing
	// binary's error says to install it. Optional.
	Package string
	// Args are the default arguments. A run may append more; for the usual
	// option parsers a later option overrides an earlier one. An argument
	// containing [OutFile] has it replaced by a fresh file's path.
	Args []string
	// Output says how the payload's output becomes metrics; the zero value
	// is [FormatExitCode] (no metrics).
	Output Format
	// Metrics describe metrics the payload reports; see [MetricHint].
	Metrics []MetricHint
	// Checks fail the test when a metric or the exit code is not as
	// expected. Unless one of them is an [ExitCode] check, a run must also
	// exit with status 0.
	Checks []Check
}

// OutFile, inside an argument, is replaced when the payload runs by the
// path of a new, empty file in the guest's /tmp. If the payload writes to
// it, the file's contents are what the output format parses in place of
// standard output (which is still captured): for tools that write machine
// readable results to a file, such as "--yaml {out}" or "--output={out}".
const OutFile = "{out}"

// Polarity tells which direction of a metric is an improvement.
type Polarity int

// The polarities.
const (
	// Unknown: neither direction is better.
	Unknown Polarity = iota
	// HigherBetter: a higher value is better (throughput, operations).
	HigherBetter
	// LowerBetter: a lower value is better (latency, run time).
	LowerBetter
)

// String returns "higher", "lower" or "unknown".
func (p Polarity) String() string {
	switch p {
	case HigherBetter:
		return "higher"
	case LowerBetter:
		return "lower"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("Polarity(%d)", int(p))
}

// MetricHint says what a metric means.
type MetricHint struct {
	// Name is the metric's dotted name. A segment "*" matches any one
	// segment: "jobs.*.read.iops" matches "jobs.0.read.iops".
	Name string
	// Polarity tells whether higher or lower is better.
	Polarity Polarity
	// Unit is the metric's unit, such as "us", "s", "ops/s" or "KiB/s".
	Unit string
}

// Hint returns the first hint whose name matches metric.
func (p Payload) Hint(metric string) (MetricHint, bool) {
	for _, h := range p.Metrics {
		if Match(h.Name, metric) {
			return h, true
		}
	}
	return MetricHint{}, false
}

// Validate reports what is wrong with the declaration: a missing or
// malformed name, a missing binary, an invalid check.
func (p Payload) Validate() error {
	if p.Name == "" {
		return errors.New("payload: empty Name")
	}
	if p.Name == "." || p.Name == ".." || strings.IndexFunc(p.Name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) >= 0 {
		return fmt.Errorf("payload %q: Name may hold only letters, digits, '-', '_' and '.'", p.Name)
	}
	if p.Binary == "" || strings.HasSuffix(p.Binary, "/") {
		return fmt.Errorf("payload %s: Binary %q is not a program name or path", p.Name, p.Binary)
	}
	for _, c := range p.Checks {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("payload %s: %w", p.Name, err)
		}
	}
	return nil
}

// Evaluate judges a run of p: its checks against metrics and exitCode,
// with the implicit exit-status-0 check unless p has an [ExitCode] check.
// The failures carry p's name.
func (p Payload) Evaluate(metrics Metrics, exitCode int) []Failure {
	fs := Evaluate(p.EffectiveChecks(), metrics, exitCode)
	for i := range fs {
		fs[i].Payload = p.Name
	}
	return fs
}

// EffectiveChecks returns p.Checks, with ExitCode(0) added first when none
// of them checks the exit code.
func (p Payload) EffectiveChecks() []Check {
	for _, c := range p.Checks {
		if c.Kind == CheckExitCode {
			return p.Checks
		}
	}
	return append([]Check{ExitCode(0)}, p.Checks...)
}

// Result is what one run of a payload produced.
type Result struct {
	// Name is the payload's name; a test's second and further runs of the
	// same payload are named "name#2", "name#3", ...
	Name string
	// Metrics are the metrics extracted from the output.
	Metrics Metrics
	// ExitCode is the exit status, or -1 when a signal ended the payload.
	ExitCode int
	// Signal names the signal that ended the payload ("interrupt",
	// "killed"), if one did.
	Signal string
	// Duration is the run's wall-clock time.
	Duration time.Duration
	// Stdout and Stderr are the last bytes (up to [TailBytes]) of what the
	// payload printed.
	Stdout, Stderr string
	// Killed tells that the test stopped the payload (Kill, or the body
	// ended with it still running); the implicit checks (exit status 0,
	// output parses) do not apply then, the payload's own checks do.
	Killed bool
	// TimedOut tells that the payload ran past its timeout and was
	// stopped; that is a failure.
	TimedOut bool
	// Failures lists what failed: output that does not parse, a timeout,
	// failed checks. Each fails the test.
	Failures []Failure
}

// Passed tells whether the run had no failures.
func (r *Result) Passed() bool { return len(r.Failures) == 0 }

// Err returns the failures as one error, or nil.
func (r *Result) Err() error {
	if len(r.Failures) == 0 {
		return nil
	}
	msgs := make([]string, len(r.Failures))
	for i, f := range r.Failures {
		msgs[i] = f.String()
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// TailBytes is how much of the end of each output stream a [Result] keeps.
const TailBytes = 8 << 10
