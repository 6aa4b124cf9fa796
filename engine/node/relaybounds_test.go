package node

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/engine/config"
	"ferry/proto"
)

// queuedRelays takes the Relay messages queued on c, which has no write
// loop.
func queuedRelays(c *peerConn) []*proto.Relay {
	var out []*proto.Relay
	for m := c.dequeue(); m != nil; m = c.dequeue() {
		if r, ok := m.(*proto.Relay); ok {
			out = append(out, r)
		}
	}
	return out
}

// relayFixture is a running node with two trusted devices connected to
// it over connections of which the test plays the far ends.
type relayFixture struct {
	n      *testNode
	a, b   proto.DeviceID
	ca, cb *peerConn
}

func newRelayFixture(t *testing.T) *relayFixture {
	t.Helper()
	f := &relayFixture{n: startNode(t, "relay", nil), a: proto.DeviceID{0xa}, b: proto.DeviceID{0xb}}
	trust(t, f.n, f.a, nil)
	trust(t, f.n, f.b, nil)
	// Both dialled the relay: their streams are odd, the relay's even.
	f.ca, f.cb = testConn(t, "a", f.a, f.a), testConn(t, "b", f.b, f.b)
	m := f.n.conns
	m.mu.Lock()
	m.conns[f.a], m.conns[f.b] = f.ca, f.cb
	m.mu.Unlock()
	return f
}

// open has a open stream id to b and returns the arrival b was sent.
func (f *relayFixture) open(t *testing.T, id uint32) *proto.Relay {
	t.Helper()
	f.n.relay(f.ca, &proto.Relay{Stream: id, Kind: proto.RelayOpen, Peer: f.b})
	if got := queuedRelays(f.ca); len(got) != 0 {
		t.Fatalf("open %d refused: %+v", id, got[0])
	}
	got := queuedRelays(f.cb)
	if len(got) != 1 || got[0].Kind != proto.RelayArrive || got[0].Peer != f.a || got[0].Stream%2 != 0 {
		t.Fatalf("b was sent %+v, want one arrival from a on an even stream", got)
	}
	return got[0]
}

// refused checks that the last message to c closes stream id, saying why.
func refused(t *testing.T, c *peerConn, id uint32, why string) {
	t.Helper()
	got := queuedRelays(c)
	if len(got) == 0 || got[len(got)-1].Kind != proto.RelayClose || got[len(got)-1].Stream != id || !strings.Contains(got[len(got)-1].Reason, why) {
		t.Fatalf("sent %+v, want stream %d closed because %q", got, id, why)
	}
}

// A relay forwards only what the rules allow: streams numbered by the
// side that opens them, to devices it trusts and reaches directly, within
// its window, its bounds and its budget, and it ends a pair when either
// connection does.
func TestRelayBounds(t *testing.T) {
	f := newRelayFixture(t)
	n := f.n

	n.relay(f.ca, &proto.Relay{Stream: 2, Kind: proto.RelayOpen, Peer: f.b})
	refused(t, f.ca, 2, "wrong side")
	n.relay(f.ca, &proto.Relay{Stream: 1, Kind: proto.RelayOpen, Peer: proto.DeviceID{0xc}})
	refused(t, f.ca, 1, "not connected")
	n.relay(f.ca, &proto.Relay{Stream: 1, Kind: proto.RelayOpen, Peer: f.a})
	refused(t, f.ca, 1, "oneself")

	arrival := f.open(t, 1)
	chunk := bytes.Repeat([]byte{7}, proto.MaxRelayData)
	for range relayWindow / proto.MaxRelayData {
		n.relay(f.ca, &proto.Relay{Stream: 1, Kind: proto.RelayData, Data: chunk})
	}
	if got := queuedRelays(f.cb); len(got) != relayWindow/proto.MaxRelayData || got[0].Stream != arrival.Stream {
		t.Fatalf("b got %d messages, want the %d of a window", len(got), relayWindow/proto.MaxRelayData)
	}
	// b's credit lets a send a chunk more; a second chunk beyond it ends
	// the pair at both ends.
	n.relay(f.cb, &proto.Relay{Stream: arrival.Stream, Kind: proto.RelayAck, Credit: proto.MaxRelayData})
	if got := queuedRelays(f.ca); len(got) != 1 || got[0].Kind != proto.RelayAck || got[0].Stream != 1 {
		t.Fatalf("a got %+v, want the ack", got)
	}
	n.relay(f.ca, &proto.Relay{Stream: 1, Kind: proto.RelayData, Data: chunk})
	queuedRelays(f.cb)
	n.relay(f.ca, &proto.Relay{Stream: 1, Kind: proto.RelayData, Data: chunk})
	refused(t, f.ca, 1, "window")
	refused(t, f.cb, arrival.Stream, "window")
	if pairs, _, _ := n.relays.stats(); pairs != 0 {
		t.Fatalf("%d pairs left after the window was broken", pairs)
	}

	// Four pairs with one device at an end, then no more.
	for i := range maxRelayPairsPerDevice {
		f.open(t, uint32(2*i+3))
	}
	n.relay(f.ca, &proto.Relay{Stream: 99, Kind: proto.RelayOpen, Peer: f.b})
	refused(t, f.ca, 99, "too many")
	// a's connection ends: b hears of every pair, and the slots free up.
	n.relaysDown(f.ca)
	if got := queuedRelays(f.cb); len(got) != maxRelayPairsPerDevice {
		t.Fatalf("b heard of %d pairs ending, want %d", len(got), maxRelayPairsPerDevice)
	}

	// A relayed connection relays nothing.
	relayed := testConn(t, "a relayed", f.a, f.a)
	relayed.via = proto.DeviceID{0xd}
	n.relay(relayed, &proto.Relay{Stream: 101, Kind: proto.RelayOpen, Peer: f.b})
	refused(t, relayed, 101, "relayed")

	// A budget of 1 MiB a day: a window's worth goes through, then the
	// budget ends the pair, and new opens are refused.
	n.relays.setBudget(relayWindow + proto.MaxRelayData)
	n.relays.budget.left = float64(relayWindow + proto.MaxRelayData)
	arrival = f.open(t, 103)
	ack := &proto.Relay{Stream: arrival.Stream, Kind: proto.RelayAck, Credit: proto.MaxRelayData}
	sent, why := 0, ""
	for sent < 2*relayWindow && why == "" {
		n.relay(f.ca, &proto.Relay{Stream: 103, Kind: proto.RelayData, Data: chunk})
		sent += len(chunk)
		for _, r := range queuedRelays(f.ca) {
			if r.Kind == proto.RelayClose {
				why = r.Reason
			}
		}
		n.relay(f.cb, ack)
		queuedRelays(f.cb)
	}
	if !strings.Contains(why, "budget") || sent != relayWindow+2*proto.MaxRelayData {
		t.Fatalf("the pair ended after %d bytes because %q, want the budget to end it after %d", sent, why, relayWindow+2*proto.MaxRelayData)
	}
	n.relay(f.ca, &proto.Relay{Stream: 105, Kind: proto.RelayOpen, Peer: f.b})
	refused(t, f.ca, 105, "budget")
	if err := n.changeConfig(func(c *config.Config) error { c.Relay = &config.Relay{Off: true}; return nil }); err != nil {
		t.Fatal(err)
	}
	n.relay(f.ca, &proto.Relay{Stream: 107, Kind: proto.RelayOpen, Peer: f.b})
	refused(t, f.ca, 107, "does not relay")
}

// pumpRelay carries what from's stream sends to the stream at the other
// end, as a relay would, until from's connection closes.
func pumpRelay(from *peerConn, to *relayStream, overWindow chan<- struct{}) {
	for {
		select {
		case <-from.queued:
		case <-from.closed:
			return
		}
		for _, r := range queuedRelays(from) {
			switch r.Kind {
			case proto.RelayData:
				if !to.push(r.Data) {
					overWindow <- struct{}{}
				}
			case proto.RelayAck:
				to.ack(r.Credit)
			case proto.RelayClose:
				to.remoteClosed(r.Reason)
			}
		}
	}
}

// Bytes written to a relayed stream arrive whole and in order at the
// other end, never more than a window ahead of the reader; deadlines and
// a close at the other end behave as on a socket.
func TestRelayStream(t *testing.T) {
	ca, cb := testConn(t, "a", proto.DeviceID{1}, proto.DeviceID{1}), testConn(t, "b", proto.DeviceID{2}, proto.DeviceID{2})
	sa := newRelayStream(1, ca, proto.DeviceID{2}, func() {})
	sb := newRelayStream(2, cb, proto.DeviceID{1}, func() {})
	over := make(chan struct{}, 1)
	go pumpRelay(ca, sb, over)
	go pumpRelay(cb, sa, over)

	want := make([]byte, 8<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(200<<10))
			if _, err := sa.Write(rest[:n]); err != nil {
				t.Error(err)
				return
			}
			rest = rest[n:]
		}
		sa.Close()
	})
	got, err := io.ReadAll(sb)
	wg.Wait()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes (%v), want the %d written", len(got), err, len(want))
	}
	select {
	case <-over:
		t.Fatal("a writer went beyond its window")
	default:
	}

	// A read waits until its deadline; a write with no credit too.
	sc := newRelayStream(3, ca, proto.DeviceID{2}, func() {})
	sc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := sc.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past its deadline: %v", err)
	}
	sc.credit = 0
	sc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := sc.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write without credit past its deadline: %v", err)
	}
	// The connection to the relay ending ends a waiting read.
	sc.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() { _, err := sc.Read(make([]byte, 1)); done <- err }()
	ca.close("test")
	select {
	case err := <-done:
		if !errors.Is(err, errRelayClosed) {
			t.Fatalf("read after the relay connection ended: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a read outlived the connection to the relay")
	}
}
