package vm

import (
	"encoding/json"
	"io"
	"sync"

	"github.com/ktstr-go/ktstr/internal/wire"
)

// link is the host's end of the virtio-serial port: it sends the request
// and the replies, and reads the guest's messages.
type link struct {
	mu     sync.Mutex
	enc    *json.Encoder
	result *wire.Result
}

func newLink(w io.Writer) *link { return &link{enc: json.NewEncoder(w)} }

// send writes one value (the request or a reply) to the guest.
func (l *link) send(v any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.enc.Encode(v)
}

// read decodes the guest's messages from r and passes them on until r ends
// or holds something that is not a message; it closes msgs and returns
// why it stopped. A result is acknowledged as soon as it is decoded, before
// it is passed on: the guest powers off on the acknowledgement, and what
// the host holds in memory by then cannot be lost with the VM.
func (l *link) read(r io.Reader, msgs chan<- wire.Message) error {
	defer close(msgs)
	dec := json.NewDecoder(r)
	for {
		var m wire.Message
		if err := dec.Decode(&m); err != nil {
			return err
		}
		if m.Kind == wire.KindResult && m.Result != nil {
			l.mu.Lock()
			l.result = m.Result
			l.mu.Unlock()
			// A failed send means the guest is gone; it powers off
			// after its bounded wait either way.
			_ = l.send(wire.Reply{Kind: wire.KindResult})
		}
		msgs <- m
	}
}

// received returns the guest's result once it has been read, else nil. Every
// path that ends a run consults it: a result that arrived is final, whatever
// QEMU does afterwards.
func (l *link) received() *wire.Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.result
}
