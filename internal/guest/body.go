package guest

import (
	"io"
	"time"

	"github.com/ktstr-go/ktstr/internal/wire"
)

// Env is what the guest runtime hands a test body before it runs: the
// request, the topology the guest sees, the body's cgroups and the
// scheduler under test.
type Env struct {
	Request  *wire.Request
	Topology *wire.GuestTopology
	Cgroups  *Cgroups
	// Scheduler is the attached sched_ext scheduler, nil under EEVDF.
	Scheduler *Scheduler
	// Stdout and Stderr reach the host's standard output and error, kept
	// apart from the harness's output: for a [Program]'s own output.
	Stdout, Stderr io.Writer
}

// streamWriter sends what is written to it to the host as messages of one
// kind.
type streamWriter struct {
	kind wire.Kind
	send func(wire.Message) error
}

func (w streamWriter) Write(p []byte) (int, error) {
	if err := w.send(wire.Message{Kind: w.kind, Text: string(p)}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Body is a test body as the guest runtime runs it. Package ktstr wraps the
// user's body and its Ctx in one.
type Body interface {
	// Run runs the body; the failure, if any, is what it returned or how
	// it panicked.
	Run() *wire.Failure
	// Phase names the body's current phase ("" before the first) and the
	// time since the body started.
	Phase() (name string, elapsed time.Duration)
	// Finish stops what the body left running and records its workers,
	// timeline, checks and payloads, with their failures, in res.
	Finish(res *wire.Result)
}
