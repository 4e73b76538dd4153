package vm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ktstr-go/ktstr/internal/guest"
	"github.com/ktstr-go/ktstr/internal/wire"
	"github.com/ktstr-go/ktstr/work"
)

// socketPair returns the two ends of a connected Unix stream socket, the
// kind of byte stream QEMU relays the virtio-serial port over, with the
// kernel's default buffer sizes.
func socketPair(t *testing.T) (host, guestEnd net.Conn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int, name string) net.Conn {
		f := os.NewFile(uintptr(fd), name)
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	return conn(fds[0], "host"), conn(fds[1], "guest")
}

// slowReader hands out at most chunk bytes per Read and pauses before each,
// as a host busy with other VMs reads the port.
type slowReader struct {
	r     io.Reader
	chunk int
	pause time.Duration
}

func (s slowReader) Read(p []byte) (int, error) {
	time.Sleep(s.pause)
	if len(p) > s.chunk {
		p = p[:s.chunk]
	}
	return s.r.Read(p)
}

// bigResult returns a result whose JSON encoding is at least size bytes:
// many workers with full wake-up latency samples, as a long catalogue run
// produces.
func bigResult(size int) *wire.Result {
	r := &wire.Result{Passed: true}
	for i := 0; ; i++ {
		w := work.Report{PID: 1000 + i, Cgroup: fmt.Sprintf("scenario-%d:cg%d", i/8, i%8), Kind: work.BurstyKind,
			WorkUnits: uint64(i) * 7919, CPUs: []int{i % 4, (i + 1) % 4}}
		for j := range 1000 {
			w.WakeLatencies = append(w.WakeLatencies, time.Duration(i*1000+j)*time.Microsecond)
		}
		r.Workers = append(r.Workers, w)
		if i%32 != 31 {
			continue
		}
		if b, _ := json.Marshal(r); len(b) >= size {
			return r
		}
	}
}

// hostSide reads the guest's messages as the VM run does and returns the
// link and the channel they arrive on.
func hostSide(conn net.Conn, r io.Reader) (*link, chan wire.Message, chan error) {
	l := newLink(conn)
	msgs := make(chan wire.Message, 64)
	done := make(chan error, 1)
	go func() { done <- l.read(r, msgs) }()
	return l, msgs, done
}

// guestSide opens the guest's port after the host sent its request.
func guestSide(t *testing.T, host *link, conn net.Conn) *guest.Port {
	t.Helper()
	if err := host.send(wire.Request{Test: "TestX/1n1l2c1t"}); err != nil {
		t.Fatal(err)
	}
	p := guest.NewPort(conn, time.Now())
	req, err := p.ReadRequest()
	if err != nil {
		t.Fatal(err)
	}
	if req.Test != "TestX/1n1l2c1t" {
		t.Fatalf("request test %q", req.Test)
	}
	return p
}

// TestResultAcknowledgedOnlyWhenWhole sends a multi-megabyte result to a
// host that reads it in small, slow pieces, while output is still being
// sent: the guest's SendResult must return only once the host has decoded
// the whole result, and the host must hold it intact.
func TestResultAcknowledgedOnlyWhenWhole(t *testing.T) {
	hostConn, guestConn := socketPair(t)
	l, msgs, _ := hostSide(hostConn, slowReader{hostConn, 16 << 10, 200 * time.Microsecond})
	p := guestSide(t, l, guestConn)

	want := bigResult(4 << 20)
	for i := range 50 {
		if err := p.Send(wire.Message{Kind: wire.KindOutput, Text: strings.Repeat("x", i*100)}); err != nil {
			t.Fatal(err)
		}
	}
	sent := make(chan error, 1)
	var heldOnReturn *wire.Result
	go func() {
		err := p.SendResult(want, 30*time.Second)
		heldOnReturn = l.received() // what the host had when the guest would power off
		sent <- err
	}()
	var got *wire.Result
	outputs := 0
	for got == nil {
		m := <-msgs
		switch m.Kind {
		case wire.KindOutput:
			outputs++
		case wire.KindResult:
			got = m.Result
		}
	}
	if err := <-sent; err != nil {
		t.Fatalf("SendResult: %v", err)
	}
	if heldOnReturn == nil {
		t.Fatal("SendResult returned before the host had the result")
	}
	if outputs != 50 {
		t.Errorf("host got %d output messages before the result, want 50", outputs)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("the result the host decoded differs from the one sent")
	}
	if heldOnReturn != got {
		t.Error("received() and the message carry different results")
	}
}

// TestResultWithoutAcknowledgementTimesOut: a host that reads the result
// but never answers (an older host, or one that is stuck) leaves the guest
// waiting only for the bound, then SendResult says so.
func TestResultWithoutAcknowledgementTimesOut(t *testing.T) {
	hostConn, guestConn := socketPair(t)
	l := newLink(hostConn)
	p := guestSide(t, l, guestConn)
	go func() { _, _ = io.Copy(io.Discard, hostConn) }() // reads, never acknowledges

	t0 := time.Now()
	err := p.SendResult(&wire.Result{Passed: true}, 300*time.Millisecond)
	if !errors.Is(err, guest.ErrNoReply) {
		t.Fatalf("SendResult: %v, want ErrNoReply", err)
	}
	if waited := time.Since(t0); waited < 300*time.Millisecond {
		t.Errorf("gave up after %v, before the 300ms bound", waited)
	}
}

// TestResultLinkClosed: when the host's end goes away, the guest learns it
// at once instead of waiting for the bound.
func TestResultLinkClosed(t *testing.T) {
	hostConn, guestConn := socketPair(t)
	l := newLink(hostConn)
	p := guestSide(t, l, guestConn)
	hostConn.Close()
	done := make(chan error, 1)
	go func() { done <- p.SendResult(&wire.Result{Passed: true}, time.Minute) }()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, guest.ErrNoReply) {
			t.Fatalf("SendResult: %v, want an error saying the link closed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SendResult still waits 10 s after the host closed the link")
	}
}

// TestCallsOfDifferentKinds: a reply goes to the call of its kind even
// when another call waits at the same time.
func TestCallsOfDifferentKinds(t *testing.T) {
	hostConn, guestConn := socketPair(t)
	l, msgs, _ := hostSide(hostConn, hostConn)
	p := guestSide(t, l, guestConn)

	watchdog := make(chan wire.Reply, 1)
	go func() {
		r, err := p.Call(wire.Message{Kind: wire.KindWatchdog}, 10*time.Second)
		if err != nil {
			t.Error(err)
		}
		watchdog <- r
	}()
	if m := <-msgs; m.Kind != wire.KindWatchdog {
		t.Fatalf("first message %s", m.Kind)
	}
	// The result is sent and acknowledged while the watchdog call waits.
	if err := p.SendResult(&wire.Result{Passed: true}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := l.send(wire.Reply{Kind: wire.KindWatchdog, Text: "10s"}); err != nil {
		t.Fatal(err)
	}
	if r := <-watchdog; r.Text != "10s" {
		t.Errorf("watchdog reply %+v", r)
	}
}
