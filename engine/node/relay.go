package node

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"ferry/proto"
)

// Bounds of relaying. A relay forwards at most maxRelayPairs streams at
// once, maxRelayPairsPerDevice of them with any one device at an end, and
// the bytes of its daily budget; a device keeps at most maxRelayedStreams
// relayed streams of its own (connections and attempts).
const (
	maxRelayPairs          = 16
	maxRelayPairsPerDevice = 4
	maxRelayedStreams      = 32
)

// streamKey names a relayed stream: its number on one connection.
type streamKey struct {
	conn *peerConn
	id   uint32
}

// relayPair is a stream this device forwards between two others: a on the
// connection to the device that opened it, b on the connection to the
// device it reaches. inflight counts, per direction (0: a to b), the
// bytes forwarded and not yet acknowledged.
type relayPair struct {
	a, b     streamKey
	inflight [2]int
}

// relays is the node's relay state: the streams it forwards for others and
// the relayed streams of its own connections.
type relays struct {
	mu     sync.Mutex
	pairs  map[streamKey]*relayPair
	own    map[streamKey]*relayStream
	nextID map[*peerConn]uint32
	// budget limits the bytes forwarded for others; nil relays nothing.
	budget *byteBudget

	forwarded atomic.Int64 // bytes forwarded for others
	refused   atomic.Int64 // streams refused
}

func (r *relays) init() {
	r.pairs = make(map[streamKey]*relayPair)
	r.own = make(map[streamKey]*relayStream)
	r.nextID = make(map[*peerConn]uint32)
}

// setBudget sets how many bytes a day this device forwards for others; 0
// turns relaying off.
func (r *relays) setBudget(perDay int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case perDay <= 0:
		r.budget = nil
	case r.budget == nil:
		r.budget = &byteBudget{perDay: perDay, left: float64(perDay), at: time.Now()}
	default:
		r.budget.perDay = perDay
	}
}

// byteBudget is a rolling daily budget of bytes: it holds at most a day's
// worth and refills at a day's worth a day.
type byteBudget struct {
	perDay int64
	left   float64
	at     time.Time
}

// remaining returns the bytes the budget holds at now.
func (b *byteBudget) remaining(now time.Time) float64 {
	if d := now.Sub(b.at); d > 0 {
		b.left = min(b.left+float64(b.perDay)*d.Hours()/24, float64(b.perDay))
		b.at = now
	}
	return b.left
}

// take spends n bytes if the budget holds them.
func (b *byteBudget) take(now time.Time, n int) bool {
	if b.remaining(now) < float64(n) {
		return false
	}
	b.left -= float64(n)
	return true
}

// newID returns a free stream number on c for a stream this device opens:
// odd if it dialled c, even if it did not. r.mu must be held.
func (r *relays) newID(c *peerConn, self proto.DeviceID) (uint32, bool) {
	parity := uint32(0)
	if c.dialer == self {
		parity = 1
	}
	for range maxRelayedStreams + maxRelayPairs + 1 {
		id := r.nextID[c]*2 + parity
		r.nextID[c]++
		if id == 0 {
			continue
		}
		k := streamKey{c, id}
		if r.own[k] == nil && r.pairs[k] == nil {
			return id, true
		}
	}
	return 0, false
}

// openedByPeer reports whether stream id on c is one the peer may open.
func openedByPeer(c *peerConn, self proto.DeviceID, id uint32) bool {
	return id != 0 && (id%2 == 1) == (c.dialer != self)
}

// relayTo opens a stream to dev through the relay's connection c.
func (n *Node) relayTo(c *peerConn, dev proto.DeviceID) (*relayStream, error) {
	r := &n.relays
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.own) >= maxRelayedStreams {
		return nil, fmt.Errorf("relay: %d relayed streams open", len(r.own))
	}
	id, ok := r.newID(c, n.id)
	if !ok {
		return nil, fmt.Errorf("relay: no free stream number")
	}
	k := streamKey{c, id}
	s := newRelayStream(id, c, dev, func() { r.forgetOwn(k) })
	r.own[k] = s
	c.send(&proto.Relay{Stream: id, Kind: proto.RelayOpen, Peer: dev})
	return s, nil
}

func (r *relays) forgetOwn(k streamKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.own, k)
}

// relay handles a Relay message that arrived on c. It never blocks: it
// runs in c's read loop.
func (n *Node) relay(c *peerConn, m *proto.Relay) {
	r := &n.relays
	k := streamKey{c, m.Stream}
	r.mu.Lock()
	if s := r.own[k]; s != nil {
		r.mu.Unlock()
		n.ownStream(s, m)
		return
	}
	if p := r.pairs[k]; p != nil {
		r.forward(p, k, m)
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	switch {
	case m.Kind != proto.RelayOpen && m.Kind != proto.RelayArrive:
		// A stream closed here already; the peer learns it from our close.
	case !openedByPeer(c, n.id, m.Stream):
		c.send(&proto.Relay{Stream: m.Stream, Kind: proto.RelayClose, Reason: "stream number of the wrong side"})
	case m.Kind == proto.RelayArrive:
		n.acceptRelayed(c, m)
	default:
		n.startForward(c, m)
	}
}

// ownStream gives a message to a stream of this device.
func (n *Node) ownStream(s *relayStream, m *proto.Relay) {
	switch m.Kind {
	case proto.RelayData:
		if !s.push(m.Data) {
			n.log.Warn("relayed stream sent more than its window; closed", "relay", s.via.dev.Abbrev(), "device", s.peer.Abbrev())
			s.via.send(&proto.Relay{Stream: s.id, Kind: proto.RelayClose, Reason: errOverWindow.Error()})
			s.drop(errOverWindow.Error())
		}
	case proto.RelayAck:
		s.ack(m.Credit)
	case proto.RelayClose:
		s.drop(m.Reason)
	default:
		s.via.send(&proto.Relay{Stream: s.id, Kind: proto.RelayClose, Reason: "stream number in use"})
		s.drop("stream number reused")
	}
}

// acceptRelayed takes a stream that the relay on c says arrives from
// m.Peer, and serves it like an accepted connection. The Noise handshake
// must then prove the other end is m.Peer.
func (n *Node) acceptRelayed(c *peerConn, m *proto.Relay) {
	r := &n.relays
	refuse := func(why string) {
		r.refused.Add(1)
		n.log.Debug("relayed connection refused", "relay", c.dev.Abbrev(), "from", m.Peer.Abbrev(), "why", why)
		c.send(&proto.Relay{Stream: m.Stream, Kind: proto.RelayClose, Reason: why})
	}
	switch {
	case c.relayed():
		refuse("a relayed connection relays nothing")
		return
	case m.Peer == n.id || m.Peer == c.dev || !n.trusted(m.Peer):
		refuse("not a device this one trusts")
		return
	}
	if cur := n.conns.conn(m.Peer); cur != nil && !cur.relayed() {
		refuse("connected directly")
		return
	}
	k := streamKey{c, m.Stream}
	r.mu.Lock()
	if len(r.own) >= maxRelayedStreams {
		r.mu.Unlock()
		refuse("too many relayed connections")
		return
	}
	s := newRelayStream(m.Stream, c, m.Peer, func() { r.forgetOwn(k) })
	r.own[k] = s
	r.mu.Unlock()
	n.conns.serveRelayed(n.runCtx, s)
}

// startForward relays the stream m opens on c to the device it names, if
// this device relays for the two: both trusted and connected directly,
// within the bounds and the budget.
func (n *Node) startForward(c *peerConn, m *proto.Relay) {
	r := &n.relays
	refuse := func(why string) {
		r.refused.Add(1)
		n.log.Debug("relay refused", "from", c.dev.Abbrev(), "to", m.Peer.Abbrev(), "why", why)
		c.send(&proto.Relay{Stream: m.Stream, Kind: proto.RelayClose, Reason: why})
	}
	if c.relayed() {
		refuse("a relayed connection relays nothing")
		return
	}
	to := n.conns.conn(m.Peer)
	switch {
	case m.Peer == n.id || m.Peer == c.dev:
		refuse("no relay to oneself")
		return
	case to == nil || to.relayed() || !n.trusted(m.Peer):
		refuse("not connected to that device")
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.budget == nil:
		refuse("this device does not relay")
		return
	case r.budget.remaining(time.Now()) < relayWindow:
		refuse("relay budget used up for today")
		return
	case len(r.pairs)/2 >= maxRelayPairs:
		refuse("relaying too many connections")
		return
	case r.pairsWith(c.dev) >= maxRelayPairsPerDevice || r.pairsWith(m.Peer) >= maxRelayPairsPerDevice:
		refuse("relaying too many connections of that device")
		return
	}
	id, ok := r.newID(to, n.id)
	if !ok {
		refuse("no free stream number")
		return
	}
	p := &relayPair{a: streamKey{c, m.Stream}, b: streamKey{to, id}}
	r.pairs[p.a], r.pairs[p.b] = p, p
	to.send(&proto.Relay{Stream: id, Kind: proto.RelayArrive, Peer: c.dev})
	n.log.Info("relaying a connection", "from", c.dev.Abbrev(), "to", m.Peer.Abbrev())
}

// pairsWith counts the pairs with dev at one end. r.mu must be held.
func (r *relays) pairsWith(dev proto.DeviceID) int {
	count := 0
	for k, p := range r.pairs {
		if k == p.a && (p.a.conn.dev == dev || p.b.conn.dev == dev) {
			count++
		}
	}
	return count
}

// forward passes a message of pair p, arriving on k, to the other end.
// A stream that sends beyond its window, or past the budget, is closed at
// both ends. r.mu must be held.
func (r *relays) forward(p *relayPair, k streamKey, m *proto.Relay) {
	dir, to := 0, p.b
	if k == p.b {
		dir, to = 1, p.a
	}
	switch m.Kind {
	case proto.RelayData:
		p.inflight[dir] += len(m.Data)
		switch {
		case p.inflight[dir] > relayWindow:
			r.end(p, errOverWindow.Error())
			return
		case r.budget == nil || !r.budget.take(time.Now(), len(m.Data)):
			r.end(p, "relay budget used up for today")
			return
		}
		r.forwarded.Add(int64(len(m.Data)))
		to.conn.send(&proto.Relay{Stream: to.id, Kind: proto.RelayData, Data: m.Data})
	case proto.RelayAck:
		// Credit for the bytes flowing the other way.
		p.inflight[1-dir] = max(p.inflight[1-dir]-int(m.Credit), 0)
		to.conn.send(&proto.Relay{Stream: to.id, Kind: proto.RelayAck, Credit: m.Credit})
	case proto.RelayClose:
		r.drop(p)
		to.conn.send(&proto.Relay{Stream: to.id, Kind: proto.RelayClose, Reason: m.Reason})
	default:
		r.end(p, "stream number in use")
	}
}

// end closes both streams of p, telling both ends. r.mu must be held.
func (r *relays) end(p *relayPair, reason string) {
	r.drop(p)
	for _, k := range []streamKey{p.a, p.b} {
		k.conn.send(&proto.Relay{Stream: k.id, Kind: proto.RelayClose, Reason: reason})
	}
}

func (r *relays) drop(p *relayPair) {
	delete(r.pairs, p.a)
	delete(r.pairs, p.b)
}

// relaysDown ends what went through c, a connection that ended: the pairs
// with an end on it (telling the other end) and its own streams.
func (n *Node) relaysDown(c *peerConn) {
	r := &n.relays
	r.mu.Lock()
	var own []*relayStream
	for k, s := range r.own {
		if k.conn == c {
			own = append(own, s)
		}
	}
	for k, p := range r.pairs {
		if k.conn != c {
			continue
		}
		r.drop(p)
		other := p.a
		if other == k {
			other = p.b
		}
		other.conn.send(&proto.Relay{Stream: other.id, Kind: proto.RelayClose, Reason: "the relay lost the other device"})
	}
	delete(r.nextID, c)
	r.mu.Unlock()
	for _, s := range own {
		s.drop("the connection to the relay ended")
	}
}

// relayStats are the relay's counts for the status.
func (r *relays) stats() (pairs int, forwarded, refused int64) {
	r.mu.Lock()
	pairs = len(r.pairs) / 2
	r.mu.Unlock()
	return pairs, r.forwarded.Load(), r.refused.Load()
}
