package node

import (
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"ferry/engine/config"
	"ferry/proto"
)

// Bandwidth limits. Each device connection's application bytes (above the
// encryption) pass through a limitedConn, which takes tokens from the
// buckets that apply to it before it writes and after it reads: the
// device's own, and the one all devices share unless the connection is
// exempt from it. A connection is exempt when its peer is on the local
// network (unless LimitLAN says otherwise), or when it is relayed: its
// bytes then travel inside the connection to the relay, which the shared
// limit counts already.
//
// The buckets a connection uses sit behind an atomic pointer, swapped when
// the config changes, so a new limit applies to live connections at once
// and, with none, Read and Write cost one atomic load more than the bare
// connection: no lock, no allocation.

// Bucket sizes: a tenth of a second of the rate, at least minBurst, at most
// maxBurst. A write is cut into pieces of at most the burst, and a read
// asks for no more, so that no wait is longer than about a tenth of a
// second (at low rates, minBurst's worth) beyond what other connections
// took from a shared bucket.
const (
	minBurst = 4 << 10
	maxBurst = 16 << 20
)

// Directions of the bytes of a connection.
const (
	dirSend = iota
	dirRecv
)

// Scopes of a connection: whether the shared limit applies to it.
const (
	scopeShared = iota
	scopeExempt
)

// bucketSet is the buckets the bytes of one direction pass through, one or
// two; an empty set is never published (nil stands for it).
type bucketSet struct {
	buckets [2]*rate.Limiter
	n       int
}

// piece is the most bytes one wait may ask for: the smallest burst.
func (s *bucketSet) piece() int {
	p := maxBurst
	for _, b := range s.buckets[:s.n] {
		p = min(p, b.Burst())
	}
	return max(p, 1)
}

// reserve takes n tokens from every bucket and returns how long to wait for
// them; ok is false when n is more than a bucket holds (its burst shrank
// meanwhile), with nothing taken.
func (s *bucketSet) reserve(now time.Time, n int) (res [2]*rate.Reservation, wait time.Duration, ok bool) {
	for i, b := range s.buckets[:s.n] {
		r := b.ReserveN(now, n)
		if !r.OK() {
			cancelAll(res[:i], now)
			return res, 0, false
		}
		res[i] = r
		wait = max(wait, r.DelayFrom(now))
	}
	return res, wait, true
}

func cancelAll(res []*rate.Reservation, now time.Time) {
	for _, r := range res {
		if r != nil {
			r.CancelAt(now)
		}
	}
}

// deviceLimits are the buckets of one device's connections.
type deviceLimits struct {
	// sets[scope][dir] is what a connection of that scope passes through
	// in that direction; nil for no limit.
	sets [2][2]atomic.Pointer[bucketSet]
	own  [2]*rate.Limiter // the device's own buckets; nil while unlimited
}

// bandwidth holds the limits and their buckets.
type bandwidth struct {
	log *slog.Logger

	mu     sync.Mutex
	cur    limits
	shared [2]*rate.Limiter // nil while unlimited
	devs   map[proto.DeviceID]*deviceLimits
}

// limits are the bandwidth limits in bytes per second, 0 for none.
type limits struct {
	send, recv int64
	lan        bool                        // the shared limit applies to the local network too
	devices    map[proto.DeviceID][2]int64 // of every trusted device
}

func newBandwidth(log *slog.Logger) *bandwidth {
	return &bandwidth{log: log, devs: make(map[proto.DeviceID]*deviceLimits)}
}

// limitsOf reads the limits of cfg; send and recv, when not nil, replace
// the shared ones.
func limitsOf(cfg config.Config, send, recv *int64) limits {
	l := limits{send: cfg.MaxSend, recv: cfg.MaxRecv, lan: cfg.LimitLAN, devices: make(map[proto.DeviceID][2]int64)}
	if send != nil {
		l.send = *send
	}
	if recv != nil {
		l.recv = *recv
	}
	for _, d := range cfg.Devices {
		l.devices[d.ID] = [2]int64{d.MaxSend, d.MaxRecv}
	}
	return l
}

// equal reports whether l and o limit the same: devices without limits
// do not count.
func (l limits) equal(o limits) bool {
	if l.send != o.send || l.recv != o.recv || l.lan != o.lan {
		return false
	}
	for id, v := range l.devices {
		if o.devices[id] != v {
			return false
		}
	}
	for id, v := range o.devices {
		if l.devices[id] != v {
			return false
		}
	}
	return true
}

// apply makes l the limits of every connection, live ones included, and
// logs them when they changed. start says this is the first call.
func (b *bandwidth) apply(l limits, start bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	changed := !l.equal(b.cur)
	b.cur = l
	b.shared[dirSend] = setRate(b.shared[dirSend], l.send)
	b.shared[dirRecv] = setRate(b.shared[dirRecv], l.recv)
	limited := l.send > 0 || l.recv > 0
	for id, d := range b.devs {
		b.update(id, d)
		if _, ok := l.devices[id]; !ok {
			delete(b.devs, id) // no longer trusted: its connections close
		}
	}
	for _, v := range l.devices {
		limited = limited || v[dirSend] > 0 || v[dirRecv] > 0
	}
	if changed && (limited || !start) {
		b.logLimits(l)
	}
}

func (b *bandwidth) logLimits(l limits) {
	b.log.Info("bandwidth limits", "send", config.FormatRate(l.send), "recv", config.FormatRate(l.recv), "limitLAN", l.lan)
	for id, v := range l.devices {
		if v[dirSend] > 0 || v[dirRecv] > 0 {
			b.log.Info("bandwidth limits of a device", "device", id.Abbrev(), "send", config.FormatRate(v[dirSend]), "recv", config.FormatRate(v[dirRecv]))
		}
	}
}

// device returns the buckets of id, made if needed. b.mu must be held.
func (b *bandwidth) device(id proto.DeviceID) *deviceLimits {
	d := b.devs[id]
	if d == nil {
		d = &deviceLimits{}
		b.devs[id] = d
		b.update(id, d)
	}
	return d
}

// update sets d's buckets to the current limits of id. b.mu must be held.
func (b *bandwidth) update(id proto.DeviceID, d *deviceLimits) {
	own := b.cur.devices[id]
	for dir := range 2 {
		d.own[dir] = setRate(d.own[dir], own[dir])
		exempt := newSet(d.own[dir])
		shared := exempt
		if b.shared[dir] != nil {
			shared = newSet(d.own[dir], b.shared[dir])
		}
		d.sets[scopeExempt][dir].Store(exempt)
		d.sets[scopeShared][dir].Store(shared)
	}
}

// newSet returns the set of the buckets that are not nil, nil if none is.
func newSet(buckets ...*rate.Limiter) *bucketSet {
	var s bucketSet
	for _, b := range buckets {
		if b != nil {
			s.buckets[s.n] = b
			s.n++
		}
	}
	if s.n == 0 {
		return nil
	}
	return &s
}

// setRate returns b with rate r, nil for no limit; a bucket whose rate
// changes keeps what it holds.
func setRate(b *rate.Limiter, r int64) *rate.Limiter {
	if r <= 0 {
		return nil
	}
	burst := int(min(max(r/10, minBurst), maxBurst))
	if b == nil {
		return rate.NewLimiter(rate.Limit(r), burst)
	}
	now := time.Now()
	b.SetLimitAt(now, rate.Limit(r))
	b.SetBurstAt(now, burst)
	return b
}

// wrap returns nc limited as a connection to dev. A connection is exempt
// from the shared limit when relayed or, unless the limits say otherwise,
// when its peer is on the local network.
func (b *bandwidth) wrap(nc net.Conn, dev proto.DeviceID, relayed bool) *limitedConn {
	b.mu.Lock()
	defer b.mu.Unlock()
	scope := scopeShared
	if relayed || (!b.cur.lan && isLAN(nc.RemoteAddr())) {
		scope = scopeExempt
	}
	return newLimitedConn(nc, b.device(dev), scope)
}

// isLAN reports whether addr is on a local network: loopback, RFC 1918
// private, link-local or an IPv6 unique local address.
func isLAN(addr net.Addr) bool {
	var ip netip.Addr
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		if a == nil {
			return false
		}
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return false
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast()
}

// limitedConn is a connection whose bytes pass through the buckets of its
// device and scope. Its waits end at the connection's deadlines and when
// it closes.
type limitedConn struct {
	net.Conn
	limits *deviceLimits
	scope  int
	closed chan struct{}
	once   sync.Once
	rd, wd deadline
}

// deadline is one direction's deadline as the waits see it.
type deadline struct {
	at      atomic.Int64 // Unix nanoseconds; 0 for none
	waiting atomic.Int32 // waits under way, which a change must wake
	wake    chan struct{}
}

func (d *deadline) set(t time.Time) {
	var at int64
	if !t.IsZero() {
		at = t.UnixNano()
	}
	d.at.Store(at)
	if d.waiting.Load() > 0 {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

func newLimitedConn(nc net.Conn, d *deviceLimits, scope int) *limitedConn {
	c := &limitedConn{Conn: nc, limits: d, scope: scope, closed: make(chan struct{})}
	c.rd.wake = make(chan struct{}, 1)
	c.wd.wake = make(chan struct{}, 1)
	return c
}

func (c *limitedConn) Write(p []byte) (int, error) {
	s := c.limits.sets[c.scope][dirSend].Load()
	if s == nil {
		return c.Conn.Write(p)
	}
	return c.writeLimited(p, s)
}

// writeLimited writes p piece by piece, each once its tokens are there.
func (c *limitedConn) writeLimited(p []byte, s *bucketSet) (int, error) {
	written := 0
	for len(p) > 0 {
		if s == nil {
			n, err := c.Conn.Write(p)
			return written + n, err
		}
		chunk := p[:min(len(p), s.piece())]
		if err := c.take(s, len(chunk), &c.wd, true); err != nil {
			return written, err
		}
		n, err := c.Conn.Write(chunk)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
		s = c.limits.sets[c.scope][dirSend].Load()
	}
	return written, nil
}

func (c *limitedConn) Read(p []byte) (int, error) {
	s := c.limits.sets[c.scope][dirRecv].Load()
	if s == nil {
		return c.Conn.Read(p)
	}
	if k := s.piece(); len(p) > k {
		p = p[:k]
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		// The bytes are here: they are returned even if the wait for
		// them ends early, and a bucket in debt slows the next read.
		c.take(s, n, &c.rd, false)
	}
	return n, err
}

// take waits until s has n tokens for this connection, or until its
// deadline dl passes or it closes. With refund, a wait that ends early
// gives its tokens back.
func (c *limitedConn) take(s *bucketSet, n int, dl *deadline, refund bool) error {
	for n > 0 {
		now := time.Now()
		k := min(n, s.piece())
		res, wait, ok := s.reserve(now, k)
		if !ok {
			continue // a burst shrank between piece and reserve
		}
		if err := c.wait(now.Add(wait), dl); err != nil {
			if refund {
				cancelAll(res[:], time.Now())
			}
			return err
		}
		n -= k
	}
	return nil
}

// wait sleeps until until, the deadline dl or the connection's end.
func (c *limitedConn) wait(until time.Time, dl *deadline) error {
	if !time.Now().Before(until) {
		return nil
	}
	dl.waiting.Add(1)
	defer dl.waiting.Add(-1)
	var t *time.Timer
	for {
		end, timeout := until, false
		if at := dl.at.Load(); at != 0 && at < until.UnixNano() {
			end, timeout = time.Unix(0, at), true
		}
		d := time.Until(end)
		if d <= 0 {
			if timeout {
				return os.ErrDeadlineExceeded
			}
			return nil
		}
		if t == nil {
			t = time.NewTimer(d)
			defer t.Stop()
		} else {
			t.Reset(d)
		}
		select {
		case <-t.C:
		case <-dl.wake:
		case <-c.closed:
			return net.ErrClosed
		}
	}
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (c *limitedConn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	c.wd.set(t)
	return c.Conn.SetDeadline(t)
}

func (c *limitedConn) SetReadDeadline(t time.Time) error {
	c.rd.set(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *limitedConn) SetWriteDeadline(t time.Time) error {
	c.wd.set(t)
	return c.Conn.SetWriteDeadline(t)
}
