package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Limits of metric extraction.
const (
	// MaxOutput is how much of each output stream (and of an [OutFile])
	// is captured and parsed; the rest is dropped.
	MaxOutput = 16 << 20
	// MaxDepth is the deepest JSON leaf that becomes a metric: one with at
	// most MaxDepth path segments. Deeper leaves are ignored.
	MaxDepth = 64
	// MaxMetrics is the most metrics one output yields; past it
	// extraction stops with [ErrTooManyMetrics].
	MaxMetrics = 1 << 16
)

// ErrTooManyMetrics is returned, wrapped, with the first [MaxMetrics]
// metrics when an output holds more.
var ErrTooManyMetrics = fmt.Errorf("more than %d metrics", MaxMetrics)

// Metrics are a run's metrics by dotted name, such as "jobs.0.read.iops".
type Metrics map[string]float64

// Names returns the metric names, sorted.
func (m Metrics) Names() []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Matching returns the sorted names matching pattern (see [Match]).
func (m Metrics) Matching(pattern string) []string {
	if !strings.Contains(pattern, "*") {
		if _, ok := m[pattern]; ok {
			return []string{pattern}
		}
		return nil
	}
	var names []string
	for n := range m {
		if Match(pattern, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// Match tells whether the dotted metric name matches pattern, in which a
// segment "*" matches any one segment: "jobs.*.read.iops" matches
// "jobs.0.read.iops" but not "jobs.0.1.read.iops".
func Match(pattern, name string) bool {
	for {
		pi := strings.IndexByte(pattern, '.')
		ni := strings.IndexByte(name, '.')
		if (pi < 0) != (ni < 0) {
			return false
		}
		if pi < 0 {
			return pattern == "*" || pattern == name
		}
		if p := pattern[:pi]; p != "*" && p != name[:ni] {
			return false
		}
		pattern, name = pattern[pi+1:], name[ni+1:]
	}
}

// Format says how a payload's output becomes metrics. The zero value is
// [FormatExitCode].
type Format struct {
	name  string
	parse func(stdout, stderr []byte) (Metrics, error)
}

var (
	// FormatExitCode reports no metrics: only the exit status counts.
	FormatExitCode = Format{}
	// FormatJSON parses JSON on standard output, or on standard error when
	// standard output has none: every numeric leaf is a metric named by
	// its dotted path, arrays indexed from 0 ("jobs.0.read.iops"). Other
	// leaves (strings, booleans, null) are ignored; so are leaves deeper
	// than [MaxDepth]. Text before the JSON is skipped when the JSON
	// starts a line; text after it is ignored.
	FormatJSON = FormatFunc("json", func(stdout, stderr []byte) (Metrics, error) {
		m, err := JSONMetrics(stdout)
		if len(m) > 0 || len(bytes.TrimSpace(stderr)) == 0 {
			return m, err
		}
		m2, err2 := JSONMetrics(stderr)
		if len(m2) > 0 || err == nil {
			return m2, err2
		}
		return m, err
	})
)

// FormatFunc is a format with a parser of its own, called with the
// captured standard output (or the [OutFile]'s contents) and error, each
// at most [MaxOutput] bytes.
func FormatFunc(name string, parse func(stdout, stderr []byte) (Metrics, error)) Format {
	return Format{name: name, parse: parse}
}

// String names the format: "exit-code", "json", or a FormatFunc's name.
func (f Format) String() string {
	if f.parse == nil {
		return "exit-code"
	}
	return f.name
}

// Extract turns a run's output into metrics by format. Each stream is
// cut to [MaxOutput] bytes first. For [FormatExitCode] the metrics are
// empty.
func Extract(format Format, stdout, stderr []byte) (Metrics, error) {
	if format.parse == nil {
		return Metrics{}, nil
	}
	m, err := format.parse(capped(stdout), capped(stderr))
	if m == nil {
		m = Metrics{}
	}
	for name, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(m, name)
		}
	}
	return m, err
}

func capped(b []byte) []byte {
	if len(b) > MaxOutput {
		return b[:MaxOutput]
	}
	return b
}

// JSONMetrics returns the numeric leaves of the first JSON object or array
// in data as dotted metric names (see [FormatJSON]). When data does not
// start with one, the first line that starts with '{' or '[' and holds a
// whole JSON value is used. Numbers beyond the float64 range are ignored.
func JSONMetrics(data []byte) (Metrics, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("no JSON output")
	}
	err := errors.New("the output does not start with '{' or '['")
	if trimmed[0] == '{' || trimmed[0] == '[' {
		var m Metrics
		if m, err = walkJSON(trimmed); err == nil || errors.Is(err, ErrTooManyMetrics) {
			return m, err
		}
	}
	// Skip text before the JSON: warnings a tool printed first.
	rest := trimmed
	for tries := 0; tries < 64; tries++ {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		if len(rest) > 0 && (rest[0] == '{' || rest[0] == '[') {
			if m2, err2 := walkJSON(rest); err2 == nil || errors.Is(err2, ErrTooManyMetrics) {
				return m2, err2
			}
		}
	}
	if len(data) >= MaxOutput {
		return nil, fmt.Errorf("no complete JSON value in the output, which was cut at %d MiB: %w", MaxOutput>>20, err)
	}
	return nil, fmt.Errorf("no JSON value in the output: %w", err)
}

// jsonFrame is one open container of the walk.
type jsonFrame struct {
	array bool
	index int    // next array index
	key   string // current object key
	isKey bool   // the next string token is a key
}

// walkJSON streams the first JSON value of data, collecting numeric leaves.
// Streaming keeps memory flat for large outputs and lets deep nesting be
// skipped without recursion.
func walkJSON(data []byte) (Metrics, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	m := Metrics{}
	var stack []jsonFrame
	// path returns the dotted name of the value at the top of the stack.
	path := func() string {
		var b strings.Builder
		for i, f := range stack {
			if i > 0 {
				b.WriteByte('.')
			}
			if f.array {
				b.WriteString(strconv.Itoa(f.index))
			} else {
				b.WriteString(f.key)
			}
		}
		return b.String()
	}
	// value is called after a complete value at the current position.
	value := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].isKey = true
			}
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		n := len(stack)
		if n > 0 && !stack[n-1].array && stack[n-1].isKey {
			if k, ok := tok.(string); ok {
				stack[n-1].key, stack[n-1].isKey = k, false
				continue
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, jsonFrame{array: t == '[', isKey: t == '{'})
				continue
			case '}', ']':
				stack = stack[:n-1]
			}
		case json.Number:
			if n <= MaxDepth {
				if v, err := strconv.ParseFloat(string(t), 64); err == nil {
					if len(m) >= MaxMetrics {
						return m, fmt.Errorf("%w; kept the first %d", ErrTooManyMetrics, MaxMetrics)
					}
					m[path()] = v
				}
			}
		}
		value()
		if len(stack) == 0 {
			return m, nil
		}
	}
}
