package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"ferry/proto"
	"ferry/proto/noise"
	"ferry/proto/pair"
)

const (
	handshakeTimeout = 10 * time.Second
	dialMinBackoff   = 500 * time.Millisecond
	dialEvery        = 500 * time.Millisecond // how often the dial loop looks
	dialMaxBackoff   = 30 * time.Second
	flapWindow       = time.Minute // see unregister
)

// connHandler is what the connection manager needs from the node.
type connHandler interface {
	trusted(dev proto.DeviceID) bool
	// paused reports whether a trusted device is paused: it is not let in.
	paused(dev proto.DeviceID) bool
	addrs(dev proto.DeviceID) []string
	hello(dev proto.DeviceID) *proto.Hello
	up(c *peerConn, h *proto.Hello)
	down(c *peerConn)
	// index takes an index update; an error ends the connection.
	index(c *peerConn, u *proto.IndexUpdate) error
	serveBlock(c *peerConn, req *proto.Request) *proto.Response
	// history answers a question about the versions this device keeps.
	history(c *peerConn, req *proto.HistoryRequest) *proto.HistoryResponse
	// pairing answers a device that joins with a pairing code.
	pairing(ctx context.Context, nc net.Conn)
	// relay takes a Relay message; relayTo opens a stream to dev through
	// the relay at the other end of c.
	relay(c *peerConn, m *proto.Relay)
	relayTo(c *peerConn, dev proto.DeviceID) (*relayStream, error)
}

// pendingDevice is an unknown device that tried to connect.
type pendingDevice struct {
	addr     string
	lastSeen time.Time
}

// Bounds of the pending list, the unknown devices shown for the user to
// accept or ignore. Anyone who reaches the listener can make a fresh key
// for every connection, so the list is capped, forgets a device it has not
// seen for a while, and takes only a few new devices a minute from one
// source: an IPv4 address or an IPv6 /64, which one host usually holds
// whole. 32 entries are far more than a person adds at once, an hour
// outlives the walk to the other device, and four a minute lets a few
// devices behind one NAT appear together. Someone with many sources can
// still churn the list; the bounds keep its size and the status small.
const (
	maxPending       = 32          // entries; a new one evicts the one seen longest ago
	pendingExpiry    = time.Hour   // an entry not seen for this long is dropped
	pendingPerSource = 4           // new entries per source per pendingWindow
	pendingWindow    = time.Minute // the window of pendingPerSource
	maxRateSources   = 1024        // sources whose rate is tracked at once
)

// sourceRate counts the new entries one source made in its current window.
type sourceRate struct {
	start time.Time
	n     int
}

// rateLimiter allows each source perWindow events per window, tracking at
// most maxSources sources; a source it cannot track is refused.
type rateLimiter struct {
	perWindow, maxSources int
	window                time.Duration
	sources               map[string]sourceRate
}

func newRateLimiter(perWindow int, window time.Duration, maxSources int) *rateLimiter {
	return &rateLimiter{perWindow: perWindow, window: window, maxSources: maxSources, sources: make(map[string]sourceRate)}
}

// allow reports whether src may have one more event at now, and counts it.
func (l *rateLimiter) allow(src string, now time.Time) bool {
	r, ok := l.sources[src]
	if ok && now.Sub(r.start) >= l.window {
		r, ok = sourceRate{}, false
	}
	if !ok {
		if len(l.sources) >= l.maxSources {
			for s, r := range l.sources {
				if now.Sub(r.start) >= l.window {
					delete(l.sources, s)
				}
			}
		}
		if len(l.sources) >= l.maxSources {
			return false
		}
		r.start = now
	}
	if r.n >= l.perWindow {
		return false
	}
	r.n++
	l.sources[src] = r
	return true
}

// pendingSource is the source addr counts against: its IPv4 address, or
// the /64 of its IPv6 address.
func pendingSource(addr string) string {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// connManager keeps one connection per trusted device.
type connManager struct {
	key  noise.Keypair
	self proto.DeviceID
	h    connHandler
	log  *slog.Logger
	now  func() time.Time

	gate *gate // connections still in their handshake
	bw   *bandwidth

	mu      sync.Mutex
	conns   map[proto.DeviceID]*peerConn
	stats   map[proto.DeviceID]*counters
	pending map[proto.DeviceID]pendingDevice
	// pendingRate limits the new pending entries per source address.
	pendingRate *rateLimiter
	ignored     map[proto.DeviceID]bool // unknown devices never listed as pending
	backoff     map[proto.DeviceID]dialState
	kick        chan struct{}
	wg          sync.WaitGroup
	// closing is set by closeAll: from then on no connection registers
	// and no dial starts, so its wait ends.
	closing bool
}

type dialState struct {
	next    time.Time
	wait    time.Duration
	dialing bool
}

func newConnManager(key noise.Keypair, h connHandler, log *slog.Logger, now func() time.Time) *connManager {
	return &connManager{
		key: key, self: proto.DeviceID(key.Public), h: h, log: log, now: now, bw: newBandwidth(log),
		gate:  newGate(maxUnauthenticated, maxUnauthenticatedPerAddr),
		conns: make(map[proto.DeviceID]*peerConn), stats: make(map[proto.DeviceID]*counters),
		pending: make(map[proto.DeviceID]pendingDevice), backoff: make(map[proto.DeviceID]dialState),
		ignored: make(map[proto.DeviceID]bool), kick: make(chan struct{}, 1),
		pendingRate: newRateLimiter(pendingPerSource, pendingWindow, maxRateSources),
	}
}

// serveListener accepts connections until ctx ends.
func (m *connManager) serveListener(ctx context.Context, ln net.Listener) {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var wait time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors, say: wait a little and go on accepting.
			wait = min(max(2*wait, acceptBackoffMin), acceptBackoffMax)
			m.log.Warn("accept failed; trying again", "err", err, "in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			continue
		}
		wait = 0
		leave, ok := m.gate.enter(nc.RemoteAddr().String())
		if !ok {
			m.log.Debug("too many connections in their handshake; refused", "addr", nc.RemoteAddr().String())
			nc.Close()
			continue
		}
		// Started under m.mu, which closeAll takes before it waits for
		// m.wg; once it is closing, nothing more is accepted.
		m.mu.Lock()
		if m.closing {
			m.mu.Unlock()
			leave()
			nc.Close()
			return
		}
		m.wg.Go(func() {
			defer leave()
			m.accept(ctx, nc, leave)
		})
		m.mu.Unlock()
	}
}

// Waits between failed accepts, doubling from the first to the last.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// accept routes an accepted connection by its first bytes: a pairing
// attempt, or a device connection.
// authenticated is called once the connection has proved who it is or has
// failed to.
func (m *connManager) accept(ctx context.Context, nc net.Conn, authenticated func()) {
	head := make([]byte, pair.SniffLen)
	nc.SetReadDeadline(time.Now().Add(handshakeTimeout))
	if _, err := io.ReadFull(nc, head); err != nil {
		m.log.Debug("connection closed before its handshake", "addr", nc.RemoteAddr().String(), "err", err)
		nc.Close()
		return
	}
	nc.SetReadDeadline(time.Time{})
	nc = &replayConn{Conn: nc, head: head}
	if pair.IsOpening(head) {
		m.h.pairing(ctx, nc)
		return
	}
	m.handleOpened(ctx, nc, false, proto.DeviceID{}, nil, authenticated)
}

// replayConn is a connection whose first bytes were read already: Read
// returns them again before reading on.
type replayConn struct {
	net.Conn
	head []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.head) > 0 {
		n := copy(p, c.head)
		c.head = c.head[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// dialLoop dials trusted devices that are not connected, with backoff:
// every dialEvery, and at once when kicked (the trusted devices changed).
func (m *connManager) dialLoop(ctx context.Context, devices func() []proto.DeviceID) {
	t := time.NewTicker(dialEvery)
	defer t.Stop()
	for {
		for _, dev := range devices() {
			m.maybeDial(ctx, dev)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.kick:
		}
	}
}

// kickDial makes the dial loop look at the trusted devices now.
func (m *connManager) kickDial() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// dialNow dials dev at once if it is not connected, forgetting any backoff:
// it was just heard of at a new address.
func (m *connManager) dialNow(ctx context.Context, dev proto.DeviceID) {
	m.mu.Lock()
	if st, ok := m.backoff[dev]; ok && !st.dialing {
		st.next = time.Time{}
		m.backoff[dev] = st
	}
	m.mu.Unlock()
	m.maybeDial(ctx, dev)
}

// maybeDial dials dev unless it is connected directly, dialled already or
// waiting out its backoff: at its addresses first, then through each
// device connected directly, which may relay. While dev is connected
// through a relay only its addresses are dialled, so that a direct
// connection replaces the relayed one as soon as one works.
func (m *connManager) maybeDial(ctx context.Context, dev proto.DeviceID) {
	addrs := m.h.addrs(dev)
	m.mu.Lock()
	st := m.backoff[dev]
	cur := m.conns[dev]
	if m.closing || (cur != nil && !cur.relayed()) || st.dialing || m.now().Before(st.next) {
		m.mu.Unlock()
		return
	}
	var relays []*peerConn
	if cur == nil {
		for d, c := range m.conns {
			if d != dev && !c.relayed() {
				relays = append(relays, c)
			}
		}
	}
	if len(addrs) == 0 && len(relays) == 0 {
		m.mu.Unlock()
		return
	}
	st.dialing = true
	m.backoff[dev] = st
	// Started under m.mu, which closeAll takes before it waits for m.wg.
	defer m.mu.Unlock()
	m.wg.Go(func() {
		ok := len(addrs) > 0 && m.dialAny(ctx, dev, addrs)
		for _, via := range relays {
			if ok {
				break
			}
			ok = m.dialRelayed(ctx, dev, via)
		}
		m.mu.Lock()
		st := m.backoff[dev]
		st.dialing = false
		if !ok { // a connection that came up sets the wait when it ends
			st.wait = min(max(dialMinBackoff, st.wait*2), dialMaxBackoff)
			st.next = m.now().Add(st.wait)
		}
		m.backoff[dev] = st
		m.mu.Unlock()
	})
}

// dialRelayed connects to dev through the relay at the other end of via
// and serves the connection in a new goroutine; it reports whether the
// connection came up.
func (m *connManager) dialRelayed(ctx context.Context, dev proto.DeviceID, via *peerConn) bool {
	s, err := m.h.relayTo(via, dev)
	if err != nil {
		m.log.Debug("relay open failed", "device", dev.Abbrev(), "relay", via.dev.Abbrev(), "err", err)
		return false
	}
	up := make(chan bool, 1)
	m.wg.Go(func() { m.handle(ctx, s, true, dev, up) })
	return <-up
}

// serveRelayed serves a stream a relay says arrives from s.peer, like an
// accepted connection whose key must be s.peer's.
func (m *connManager) serveRelayed(ctx context.Context, s *relayStream) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		s.Close()
		return
	}
	// Started under m.mu, which closeAll takes before it waits for m.wg.
	m.wg.Go(func() { m.handleOpened(ctx, s, false, s.peer, nil, func() {}) })
}

// Transports. Everything above the byte stream — the Noise handshake, the
// Hellos, the messages — runs over any net.Conn: a TCP connection, a
// stream relayed through another device (relayconn.go), or one of another
// transport. A transport is named by the scheme of an address
// ("quic://host:port"); an address with none is TCP. Adding one, such as
// QUIC with hole punching, means a dialer here and a listener that hands
// its accepted streams to accept, as serveListener does for TCP.
type dialer func(ctx context.Context, addr string) (net.Conn, error)

var transports = map[string]dialer{
	"tcp": func(ctx context.Context, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: handshakeTimeout}
		return d.DialContext(ctx, "tcp", addr)
	},
}

// dialAddr connects to addr with the transport its scheme names.
func dialAddr(ctx context.Context, addr string) (net.Conn, error) {
	scheme, rest, ok := strings.Cut(addr, "://")
	if !ok {
		scheme, rest = "tcp", addr
	}
	d := transports[scheme]
	if d == nil {
		return nil, fmt.Errorf("dial %s: no transport %q", addr, scheme)
	}
	return d(ctx, rest)
}

// dialParallel bounds the addresses of one device dialled at once.
const dialParallel = 8

// dialAny connects to dev at the first of addrs that proves to be dev, and
// serves the connection in a new goroutine; it reports whether one came
// up. Up to dialParallel addresses are dialled at once, so that addresses
// that never answer (a DHT may give 32, some stale or false) cost one dial
// timeout in all, not one each; the handshake runs on
// each connection as it opens, and the first to come up wins.
func (m *connManager) dialAny(ctx context.Context, dev proto.DeviceID, addrs []string) bool {
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opened := make(chan net.Conn)
	go func() {
		defer close(opened)
		var wg sync.WaitGroup
		defer wg.Wait()
		slots := make(chan struct{}, dialParallel)
		for _, addr := range addrs {
			select {
			case slots <- struct{}{}:
			case <-dctx.Done():
				return
			}
			wg.Go(func() {
				defer func() { <-slots }()
				nc, err := dialAddr(dctx, addr)
				if err != nil {
					m.log.Debug("dial failed", "device", dev.Abbrev(), "addr", addr, "err", err)
					return
				}
				select {
				case opened <- nc:
				case <-dctx.Done():
					nc.Close()
				}
			})
		}
	}()
	// Each connection opened is handshaken at once; once one is up, the
	// others still in their handshake are closed.
	results := make(chan bool, len(addrs))
	pending := 0
	for opened != nil || pending > 0 {
		select {
		case nc, more := <-opened:
			if !more {
				opened = nil
				continue
			}
			pending++
			go func() {
				stop := context.AfterFunc(dctx, func() { nc.Close() })
				up := make(chan bool, 1)
				m.wg.Go(func() { m.handle(ctx, nc, true, dev, up) })
				ok := <-up
				if ok {
					stop()
				}
				results <- ok
			}()
		case ok := <-results:
			pending--
			if ok {
				return true
			}
		}
	}
	return false
}

// handle runs the handshake and Hello exchange, registers the connection
// and reads from it until it ends. If up is not nil, it is told whether the
// connection came up.
func (m *connManager) handle(ctx context.Context, nc net.Conn, dialed bool, want proto.DeviceID, up chan<- bool) {
	m.handleOpened(ctx, nc, dialed, want, up, func() {})
}

// handleOpened is handle that calls opened once the handshake is over.
func (m *connManager) handleOpened(ctx context.Context, nc net.Conn, dialed bool, want proto.DeviceID, up chan<- bool, opened func()) {
	report := func(ok bool) {
		if up != nil {
			up <- ok
		}
	}
	c, hello, err := m.open(ctx, nc, dialed, want)
	opened()
	if err != nil {
		nc.Close()
		m.log.Info("connection refused", "addr", nc.RemoteAddr().String(), "err", err)
		report(false)
		return
	}
	if !m.register(c, hello) {
		report(false)
		return
	}
	report(true)
	m.log.Info("device connected", "device", c.dev.Abbrev(), "name", hello.DeviceName, "addr", c.addr)
	go c.writeLoop()
	err = m.readLoop(ctx, c)
	c.close(errText(err))
	m.unregister(c)
	m.log.Info("device disconnected", "device", c.dev.Abbrev(), "reason", c.closeReason())
}

// open authenticates the connection and exchanges Hellos.
func (m *connManager) open(ctx context.Context, nc net.Conn, dialed bool, want proto.DeviceID) (*peerConn, *proto.Hello, error) {
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	var sc *noise.Conn
	var err error
	if dialed {
		sc, err = noise.Client(hctx, nc, m.key, nil)
	} else {
		sc, err = noise.Server(hctx, nc, m.key, nil)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("handshake: %w", err)
	}
	dev := sc.RemoteStatic()
	if (dialed || !want.IsZero()) && dev != want {
		sc.Close()
		return nil, nil, fmt.Errorf("expected device %s, found %s", want.Abbrev(), dev.Abbrev())
	}
	if dev == m.self {
		// Dialled itself, at an address a DHT or a peer gave for another.
		sc.Close()
		return nil, nil, errors.New("connected to itself")
	}
	if !m.h.trusted(dev) {
		m.addPending(dev, nc.RemoteAddr().String())
		sc.SetWriteDeadline(time.Now().Add(time.Second))
		proto.WriteMessage(sc, &proto.Close{Reason: "unknown device"})
		sc.Close()
		return nil, nil, fmt.Errorf("device %s is not trusted", dev)
	}
	if m.h.paused(dev) {
		sc.SetWriteDeadline(time.Now().Add(time.Second))
		proto.WriteMessage(sc, &proto.Close{Reason: "paused"})
		sc.Close()
		return nil, nil, fmt.Errorf("device %s is paused", dev)
	}
	dialer := m.self
	if !dialed {
		dialer = dev
	}
	rs, relayed := nc.(*relayStream)
	c := newPeerConn(m.bw.wrap(sc, dev, relayed), dev, dialer, m.counters(dev))
	if relayed {
		c.via = rs.via.dev
	}
	hello, err := m.exchangeHello(c)
	if err != nil {
		c.nc.Close()
		return nil, nil, fmt.Errorf("device %s: %w", dev.Abbrev(), err)
	}
	return c, hello, nil
}

func (m *connManager) exchangeHello(c *peerConn) (*proto.Hello, error) {
	c.nc.SetDeadline(time.Now().Add(handshakeTimeout))
	defer c.nc.SetDeadline(time.Time{})
	if err := proto.WriteMessage(countWriter{c.nc, &c.stats.out}, m.h.hello(c.dev)); err != nil {
		return nil, fmt.Errorf("send hello: %w", err)
	}
	msg, err := proto.NewMessageReader(c.nc).Read()
	if err != nil {
		return nil, fmt.Errorf("read hello: %w", err)
	}
	switch msg := msg.(type) {
	case *proto.Hello:
		return msg, nil
	case *proto.Close:
		return nil, fmt.Errorf("peer closed: %s", msg.Reason)
	}
	return nil, fmt.Errorf("expected hello, got %T", msg)
}

// register makes c the device's connection unless a preferred one exists:
// when both sides dialled, both keep the connection dialled by the smaller
// device ID; a new connection in the same direction replaces a stale one.
func (m *connManager) register(c *peerConn, hello *proto.Hello) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closing {
		c.close("shutting down")
		return false
	}
	if old := m.conns[c.dev]; old != nil {
		// A direct connection replaces a relayed one and is never replaced
		// by one; between two of a kind the rule below decides.
		switch {
		case c.relayed() && !old.relayed():
			c.close("connected directly")
			return false
		case c.relayed() == old.relayed() && old.dialer != c.dialer && bytes.Compare(old.dialer[:], c.dialer[:]) < 0:
			c.close("duplicate connection")
			return false
		}
		delete(m.conns, c.dev)
		old.close("replaced by a new connection")
		m.h.down(old)
	}
	c.upAt = m.now()
	m.conns[c.dev] = c
	delete(m.pending, c.dev)
	m.h.up(c, hello)
	return true
}

// unregister forgets c once it has ended. The current connection of a
// device ending within flapWindow of coming up counts as a failed dial:
// a device that closes every connection at once (it refuses what this one
// sends, or this one refuses what it sends) is dialled again after a
// growing wait, not every dialEvery. An end closeDevice chose does not
// count.
func (m *connManager) unregister(c *peerConn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conns[c.dev] != c {
		return
	}
	delete(m.conns, c.dev)
	m.h.down(c)
	st := m.backoff[c.dev]
	if now := m.now(); now.Sub(c.upAt) < flapWindow && !c.chosenEnd.Load() {
		st.wait = min(max(dialMinBackoff, st.wait*2), dialMaxBackoff)
		st.next = now.Add(st.wait)
	} else {
		st.wait, st.next = 0, time.Time{}
	}
	m.backoff[c.dev] = st
}

// readLoop dispatches messages until the connection fails. It starts the
// connection's serve workers, which end with it.
func (m *connManager) readLoop(ctx context.Context, c *peerConn) error {
	for range serveWorkers {
		m.wg.Go(func() { c.serveWorker(m.h.serveBlock, m.log) })
	}
	r := proto.NewMessageReader(countReader{c.nc, &c.stats.in})
	for {
		c.nc.SetReadDeadline(time.Now().Add(readTimeout))
		msg, err := r.Read()
		if err != nil {
			return err
		}
		switch msg := msg.(type) {
		case *proto.IndexUpdate:
			if err := m.h.index(c, msg); err != nil {
				return err
			}
		case *proto.Request:
			m.serveRequest(c, msg)
		case *proto.Response:
			if err := c.deliver(msg); err != nil {
				return err
			}
		case *proto.HistoryRequest:
			res := m.h.history(c, msg)
			res.ID = msg.ID
			c.send(res)
		case *proto.HistoryResponse:
			c.deliverHistory(msg)
		case *proto.Relay:
			m.h.relay(c, msg)
		case *proto.Close:
			return fmt.Errorf("closed by peer: %s", msg.Reason)
		case *proto.Ping:
		case *proto.Hello:
			return errors.New("unexpected second hello")
		}
	}
}

// serveRequest queues a block request for the connection's serve
// workers, so reading never waits on the disk. A request that finds the
// queue full is answered with an error at once: the peer has far more in
// flight than any puller keeps.
func (m *connManager) serveRequest(c *peerConn, req *proto.Request) {
	select {
	case c.serveQ <- req:
	default:
		m.log.Debug("block request refused: too many waiting", "device", c.dev.Abbrev(), "queued", serveQueue, "name", req.Name, "offset", req.Offset)
		c.send(&proto.Response{ID: req.ID, Code: proto.CodeGeneric})
	}
}

func (m *connManager) conn(dev proto.DeviceID) *peerConn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conns[dev]
}

func (m *connManager) counters(dev proto.DeviceID) *counters {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats[dev]
	if s == nil {
		s = &counters{}
		m.stats[dev] = s
	}
	return s
}

// sampleRates feeds every device's byte counts to its rate meters.
func (m *connManager) sampleRates(now time.Time) {
	m.mu.Lock()
	stats := slices.Collect(maps.Values(m.stats))
	m.mu.Unlock()
	for _, s := range stats {
		s.inRate.sample(now, s.in.Load())
		s.outRate.sample(now, s.out.Load())
	}
}

// bytesMoved sums the bytes in and out of every device since start.
func (m *connManager) bytesMoved() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var total int64
	for _, s := range m.stats {
		total += s.in.Load() + s.out.Load()
	}
	return total
}

// setIgnored replaces the set of devices never listed as pending and drops
// them from the list.
func (m *connManager) setIgnored(devs []proto.DeviceID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.ignored)
	for _, d := range devs {
		m.ignored[d] = true
		delete(m.pending, d)
	}
}

// addPending lists dev, an unknown device that connected from addr, or
// refreshes its entry. A new entry is refused when addr's source has added
// pendingPerSource in the last pendingWindow; the list is kept to
// maxPending by evicting the device seen longest ago.
func (m *connManager) addPending(dev proto.DeviceID, addr string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ignored[dev] {
		return
	}
	now := m.now()
	m.expirePending(now)
	if _, ok := m.pending[dev]; !ok {
		if !m.pendingRate.allow(pendingSource(addr), now) {
			m.log.Debug("unknown device not listed as pending: its address adds too many", "device", dev.Abbrev(), "addr", addr)
			return
		}
		if len(m.pending) >= maxPending {
			m.evictPending()
		}
	}
	m.pending[dev] = pendingDevice{addr: addr, lastSeen: now}
}

// expirePending drops the entries not seen for pendingExpiry.
func (m *connManager) expirePending(now time.Time) {
	for dev, p := range m.pending {
		if now.Sub(p.lastSeen) >= pendingExpiry {
			delete(m.pending, dev)
		}
	}
}

// evictPending drops the entry seen longest ago.
func (m *connManager) evictPending() {
	var oldest proto.DeviceID
	var seen time.Time
	for dev, p := range m.pending {
		if seen.IsZero() || p.lastSeen.Before(seen) {
			oldest, seen = dev, p.lastSeen
		}
	}
	m.log.Debug("pending list full; forgetting the device seen longest ago", "device", oldest.Abbrev())
	delete(m.pending, oldest)
}

// pendingList returns the unexpired pending devices.
func (m *connManager) pendingList() map[proto.DeviceID]pendingDevice {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expirePending(m.now())
	return maps.Clone(m.pending)
}

// closeDevice drops dev's connection (for example when its trust changed).
// The end is chosen here, so it does not make the next dial wait.
func (m *connManager) closeDevice(dev proto.DeviceID, reason string) {
	if c := m.conn(dev); c != nil {
		c.chosenEnd.Store(true)
		c.close(reason)
	}
}

// closeAll ends every connection and waits for their goroutines.
func (m *connManager) closeAll() {
	m.mu.Lock()
	m.closing = true
	conns := slices.Collect(maps.Values(m.conns))
	m.mu.Unlock()
	for _, c := range conns {
		c.close("shutting down")
	}
	m.wg.Wait()
}

func errText(err error) string {
	if err == nil {
		return "closed"
	}
	return err.Error()
}
