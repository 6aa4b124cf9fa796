package node

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ferry/proto"
)

func TestGateBounds(t *testing.T) {
	g := newGate(3, 2)
	l1, ok1 := g.enter("10.0.0.1:5000")
	_, ok2 := g.enter("10.0.0.1:5001")
	if _, ok := g.enter("10.0.0.1:5002"); !ok1 || !ok2 || ok {
		t.Fatalf("third from one address admitted (%t %t %t)", ok1, ok2, ok)
	}
	if _, ok := g.enter("[2001:db8::1]:7"); !ok {
		t.Fatal("another address refused below the total")
	}
	if _, ok := g.enter("10.0.0.2:1"); ok {
		t.Fatal("admitted past the total")
	}
	l1()
	l1() // a second leave changes nothing
	if _, ok := g.enter("10.0.0.2:1"); !ok {
		t.Fatal("refused after a leave")
	}
	if _, ok := g.enter("10.0.0.3:1"); ok {
		t.Fatal("a double leave freed two places")
	}
}

// flakyListener fails its first Accepts as a process out of descriptors
// does, then hands out real connections.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// Accept errors do not end the listener: it waits and accepts again.
func TestListenerSurvivesAcceptErrors(t *testing.T) {
	self := proto.DeviceID{9}
	h := &recordingHandler{paired: make(chan []byte, 1)}
	m := newConnManager(testKeypair(t, self), h, slog.New(slog.DiscardHandler), time.Now)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &flakyListener{Listener: inner}
	ln.fails.Store(6)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.serveListener(ctx, ln); close(done) }()
	c, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(append([]byte{1, 0, 63}, "ferry-pair\x01more"...))
	select {
	case <-h.paired:
	case <-time.After(10 * time.Second):
		t.Fatal("no connection was accepted after the accept errors")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the listener did not stop with its context")
	}
}

// Strangers that open connections and say nothing hold at most the
// per-address share of handshake places; the others are closed at once.
func TestListenerBoundsSilentConnections(t *testing.T) {
	self := proto.DeviceID{9}
	h := &recordingHandler{paired: make(chan []byte, 1)}
	m := newConnManager(testKeypair(t, self), h, slog.New(slog.DiscardHandler), time.Now)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.serveListener(ctx, ln)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range maxUnauthenticatedPerAddr + 10 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	closed := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
			closed++
		}
	}
	if closed != 10 {
		t.Errorf("%d connections closed at once, want the 10 past the per-address bound", closed)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
