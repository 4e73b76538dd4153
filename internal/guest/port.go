package guest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/internal/wire"
)

// Port is the guest's end of the virtio-serial link to the host: it reads
// the host's request, sends messages, and waits for the host's replies to
// the messages that ask for one. It is safe for concurrent use.
type Port struct {
	rw    io.ReadWriter
	start time.Time
	dec   *json.Decoder

	sendMu sync.Mutex
	enc    *json.Encoder

	mu      sync.Mutex
	waiting map[wire.Kind]chan wire.Reply
	closed  error // why the host's side stopped answering, once it has
	// asked has the handlers of replies the host sends unasked, by kind.
	asked map[wire.Kind]func(wire.Reply)
}

// Handle sets f to be called, on the port's reading goroutine, for each
// reply of kind k the host sends without being asked (wire.KindDump).
func (p *Port) Handle(k wire.Kind, f func(wire.Reply)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked[k] = f
}

// NewPort returns a port over rw, usually the opened virtio-serial device.
// Messages carry their time relative to start.
func NewPort(rw io.ReadWriter, start time.Time) *Port {
	return &Port{rw: rw, start: start, dec: json.NewDecoder(rw), enc: json.NewEncoder(rw),
		waiting: map[wire.Kind]chan wire.Reply{}, asked: map[wire.Kind]func(wire.Reply){}}
}

// ReadRequest reads the host's request, which comes first on the link, and
// from then on reads the host's replies in the background.
func (p *Port) ReadRequest() (*wire.Request, error) {
	var req wire.Request
	if err := p.dec.Decode(&req); err != nil {
		return nil, err
	}
	go p.readReplies()
	return &req, nil
}

func (p *Port) readReplies() {
	for {
		var r wire.Reply
		if err := p.dec.Decode(&r); err != nil {
			p.mu.Lock()
			p.closed = err
			for k, ch := range p.waiting {
				close(ch)
				delete(p.waiting, k)
			}
			p.mu.Unlock()
			return
		}
		p.mu.Lock()
		ch := p.waiting[r.Kind]
		delete(p.waiting, r.Kind)
		handler := p.asked[r.Kind]
		p.mu.Unlock()
		if handler != nil {
			handler(r)
			continue
		}
		if ch != nil {
			ch <- r // buffered: never blocks
		}
		// A reply nobody waits for any more (its call timed out) is
		// dropped.
	}
}

// Send sends m, stamped with the time since start.
func (p *Port) Send(m wire.Message) error {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	m.At = time.Since(p.start)
	m.Clock = monotonic()
	return p.enc.Encode(m)
}

// ErrNoReply is returned by Call when the host did not answer in time.
var ErrNoReply = errors.New("the host did not answer")

// Call sends m and waits up to timeout for the host's reply of the same
// kind. One call per kind may wait at a time.
func (p *Port) Call(m wire.Message, timeout time.Duration) (wire.Reply, error) {
	ch := make(chan wire.Reply, 1)
	p.mu.Lock()
	if p.closed != nil {
		err := p.closed
		p.mu.Unlock()
		return wire.Reply{}, fmt.Errorf("the link to the host is closed: %w", err)
	}
	if _, busy := p.waiting[m.Kind]; busy {
		p.mu.Unlock()
		return wire.Reply{}, fmt.Errorf("a %s call is already waiting for the host", m.Kind)
	}
	p.waiting[m.Kind] = ch
	p.mu.Unlock()
	if err := p.Send(m); err != nil {
		p.forget(m.Kind, ch)
		return wire.Reply{}, fmt.Errorf("sending %s to the host: %w", m.Kind, err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r, ok := <-ch:
		if !ok {
			p.mu.Lock()
			err := p.closed
			p.mu.Unlock()
			return wire.Reply{}, fmt.Errorf("the link to the host closed before it answered %s: %w", m.Kind, err)
		}
		if r.Err != "" {
			return r, errors.New(r.Err)
		}
		return r, nil
	case <-timer.C:
		p.forget(m.Kind, ch)
		return wire.Reply{}, fmt.Errorf("%w within %v", ErrNoReply, timeout)
	}
}

func (p *Port) forget(k wire.Kind, ch chan wire.Reply) {
	p.mu.Lock()
	if p.waiting[k] == ch {
		delete(p.waiting, k)
	}
	p.mu.Unlock()
}

// SendResult sends the run's result and returns once the host has
// acknowledged that it has it whole, or after timeout. Only then may the
// guest power off: data still queued in the virtio ring when the VM stops
// is lost.
func (p *Port) SendResult(r *wire.Result, timeout time.Duration) error {
	_, err := p.Call(wire.Message{Kind: wire.KindResult, Result: r}, timeout)
	return err
}

// monotonic reads CLOCK_MONOTONIC.
func monotonic() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Duration(ts.Nano())
}
