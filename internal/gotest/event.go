// Package gotest reads the event stream of `go test -json` and turns it
// into what `ktstr test` shows: the tests and subtests of each package and
// their outcomes, a live one-line progress for terminals, plain result
// lines for logs, a summary table with each failure's one-line reason, and
// JUnit XML for CI systems.
//
// The unit of progress and of the summary is the variant: a leaf test, one
// that ran no subtests of its own (for ktstr tests, one topology × flag
// profile × kernel, e.g. TestX/1n2l2c1t). Tests with subtests only group
// them; they appear in the summary only when they fail on their own.
package gotest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Actions of test events (cmd/test2json) and build events (go help
// buildjson).
const (
	ActionStart       = "start"
	ActionRun         = "run"
	ActionPause       = "pause"
	ActionCont        = "cont"
	ActionPass        = "pass"
	ActionFail        = "fail"
	ActionSkip        = "skip"
	ActionOutput      = "output"
	ActionBench       = "bench"
	ActionBuildOutput = "build-output"
	ActionBuildFail   = "build-fail"
)

// Event is one line of `go test -json`: a test event as cmd/test2json
// writes it, or a build event (Action build-output or build-fail, with
// ImportPath set instead of Package).
type Event struct {
	// Time is when the event happened; zero when the line has none.
	Time time.Time `json:",omitzero"`
	// Action is one of the Action constants (others are kept as they are).
	Action string
	// Package is the import path of the package under test; "" for build
	// events.
	Package string `json:",omitempty"`
	// Test is the test's full name ("TestX/1n2l2c1t"); "" for events of the
	// package as a whole.
	Test string `json:",omitempty"`
	// Elapsed is the test's or the package's run time in seconds, on pass,
	// fail and skip.
	Elapsed float64 `json:",omitempty"`
	// Output is a piece of the test's output: usually one line with its
	// newline, but long lines come in several pieces.
	Output string `json:",omitempty"`
	// FailedBuild, on a package's fail event, names the package (an
	// ImportPath of build events) whose build failure failed it.
	FailedBuild string `json:",omitempty"`
	// ImportPath names the package a build event is about, e.g.
	// "example.com/p [example.com/p.test]".
	ImportPath string `json:",omitempty"`
}

// ErrNotEvent is wrapped by the errors Decoder.Next returns for a line that
// is not a JSON event (go may write such lines when something goes wrong
// early). The stream goes on after it.
var ErrNotEvent = errors.New("not a go test -json event")

// maxLine bounds one line of the stream. test2json splits test output into
// events of at most a few KB, so only a broken stream comes near it.
const maxLine = 16 << 20

// Decoder reads events from a `go test -json` stream, one per line.
type Decoder struct {
	sc  *bufio.Scanner
	raw []byte
}

// NewDecoder returns a Decoder reading r.
func NewDecoder(r io.Reader) *Decoder {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	return &Decoder{sc: sc}
}

// Next returns the next event. At the end of the stream it returns io.EOF.
// A line that is not an event gives an error wrapping ErrNotEvent; Raw
// then returns that line, and the next call goes on with the next line.
// Blank lines are skipped.
func (d *Decoder) Next() (Event, error) {
	for d.sc.Scan() {
		d.raw = d.sc.Bytes()
		line := bytes.TrimSpace(d.raw)
		if len(line) == 0 {
			continue
		}
		ev, err := ParseEvent(line)
		return ev, err
	}
	d.raw = nil
	if err := d.sc.Err(); err != nil {
		return Event{}, err
	}
	return Event{}, io.EOF
}

// Raw returns the line the last call to Next read, without its newline. It
// is valid until the next call to Next.
func (d *Decoder) Raw() []byte { return d.raw }

// ParseEvent decodes one line of the stream.
func ParseEvent(line []byte) (Event, error) {
	var ev Event
	if len(line) == 0 || line[0] != '{' {
		return Event{}, fmt.Errorf("%w: %.200q", ErrNotEvent, line)
	}
	if err := json.Unmarshal(line, &ev); err != nil {
		return Event{}, fmt.Errorf("%w: %v: %.200q", ErrNotEvent, err, line)
	}
	if ev.Action == "" {
		return Event{}, fmt.Errorf("%w: no Action: %.200q", ErrNotEvent, line)
	}
	return ev, nil
}
