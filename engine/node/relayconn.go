package node

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"ferry/proto"
)

// relayWindow is how many bytes of one relayed stream may be on their way
// in each direction, not yet consumed by the reader: the sender waits for
// credit beyond it, the receiver and the relay drop a stream that sends
// more. It bounds what a relay holds for a stream at two windows, and the
// throughput of a relayed connection at a window per round trip (10 MiB/s
// at 50 ms).
const relayWindow = 512 << 10

// relayStream is one end of a connection relayed through another device:
// a net.Conn whose bytes travel as Relay messages on the connection to
// the relay. The Noise session runs over it end to end, so the relay sees
// only ciphertext.
type relayStream struct {
	id    uint32
	via   *peerConn // the connection to the relay
	peer  proto.DeviceID
	local net.Addr
	// forget removes the stream from its registry once it is closed.
	forget func()

	mu sync.Mutex
	// changed is closed and replaced whenever the state below changes,
	// waking readers and writers.
	changed  chan struct{}
	in       [][]byte // received, not yet read
	inBytes  int
	unacked  int // read since the last ack
	credit   int // bytes this end may still send
	closed   bool
	eof      bool   // the other end closed
	reason   string // why the other end closed
	rdl, wdl time.Time
}

func newRelayStream(id uint32, via *peerConn, peer proto.DeviceID, forget func()) *relayStream {
	return &relayStream{
		id: id, via: via, peer: peer, forget: forget, credit: relayWindow,
		local: relayAddr{via.dev}, changed: make(chan struct{}),
	}
}

// relayAddr is the address of a relayed connection: the relay's device.
type relayAddr struct{ relay proto.DeviceID }

func (relayAddr) Network() string  { return "relay" }
func (a relayAddr) String() string { return "relay:" + a.relay.Abbrev() }

var (
	errRelayClosed = errors.New("relayed connection closed")
	errOverWindow  = errors.New("relayed stream sent more than its window")
)

// wake tells waiters the state changed. s.mu must be held.
func (s *relayStream) wake() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait waits for a change, the deadline, or the outer connection's end,
// with s.mu held on entry and on return.
func (s *relayStream) wait(deadline time.Time) error {
	ch := s.changed
	s.mu.Unlock()
	defer s.mu.Lock()
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ch:
		return nil
	case <-timeout:
		return os.ErrDeadlineExceeded
	case <-s.via.closed:
		return errRelayClosed
	}
}

// push takes bytes the other end sent; false if they exceed its window.
func (s *relayStream) push(b []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.eof {
		return true // late bytes of a stream closing: dropped
	}
	if s.inBytes+len(b) > relayWindow {
		return false
	}
	s.in = append(s.in, b)
	s.inBytes += len(b)
	s.wake()
	return true
}

// ack takes credit the other end gave.
func (s *relayStream) ack(n uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.credit = min(s.credit+int(n), relayWindow)
	s.wake()
}

// remoteClosed marks the other end as closed: reads return what is left,
// then io.EOF.
func (s *relayStream) remoteClosed(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.eof {
		s.eof, s.reason = true, reason
		s.wake()
	}
}

func (s *relayStream) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.in) == 0 {
		switch {
		case s.closed:
			return 0, net.ErrClosed
		case s.eof:
			return 0, io.EOF
		}
		if err := s.wait(s.rdl); err != nil {
			return 0, err
		}
	}
	n := 0
	for n < len(p) && len(s.in) > 0 {
		c := copy(p[n:], s.in[0])
		n += c
		if c == len(s.in[0]) {
			s.in[0] = nil
			s.in = s.in[1:]
		} else {
			s.in[0] = s.in[0][c:]
		}
	}
	s.inBytes -= n
	s.unacked += n
	if s.unacked >= relayWindow/4 || (s.inBytes == 0 && s.unacked > 0) {
		s.via.send(&proto.Relay{Stream: s.id, Kind: proto.RelayAck, Credit: uint32(s.unacked)})
		s.unacked = 0
	}
	return n, nil
}

func (s *relayStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	written := 0
	for written < len(p) {
		switch {
		case s.closed:
			return written, net.ErrClosed
		case s.eof:
			return written, errRelayClosed
		case isClosed(s.via.closed):
			return written, errRelayClosed
		}
		if s.credit == 0 {
			if err := s.wait(s.wdl); err != nil {
				return written, err
			}
			continue
		}
		if !s.wdl.IsZero() && !time.Now().Before(s.wdl) {
			return written, os.ErrDeadlineExceeded
		}
		n := min(len(p)-written, s.credit, proto.MaxRelayData)
		// The queue keeps the message until the write loop sends it; p
		// is the caller's again when Write returns.
		data := append([]byte(nil), p[written:written+n]...)
		s.via.send(&proto.Relay{Stream: s.id, Kind: proto.RelayData, Data: data})
		s.credit -= n
		written += n
	}
	return written, nil
}

// Close ends the stream and tells the other end.
func (s *relayStream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.in, s.inBytes = nil, 0
	s.wake()
	eof := s.eof
	s.mu.Unlock()
	if !eof {
		s.via.send(&proto.Relay{Stream: s.id, Kind: proto.RelayClose, Reason: "closed"})
	}
	s.forget()
	return nil
}

// drop closes the stream without telling the other end, which is gone or
// broke the rules.
func (s *relayStream) drop(reason string) {
	s.remoteClosed(reason)
	s.Close()
}

func (s *relayStream) LocalAddr() net.Addr  { return s.local }
func (s *relayStream) RemoteAddr() net.Addr { return s.local }

func (s *relayStream) SetDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rdl, s.wdl = t, t
	s.wake()
	return nil
}

func (s *relayStream) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rdl = t
	s.wake()
	return nil
}

func (s *relayStream) SetWriteDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wdl = t
	s.wake()
	return nil
}
