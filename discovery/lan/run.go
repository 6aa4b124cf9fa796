package lan

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
)

// maxReplyGap bounds how often hearing a new device makes us announce
// outside the interval.
const maxReplyGap = time.Second

// targetsRecheck is how often the interfaces are looked at for a new place
// to announce on.
const targetsRecheck = 2 * time.Second

// sockets are the listening sockets; either may be nil.
type sockets struct{ v4, v6 *net.UDPConn }

func (s *sockets) conns() []*net.UDPConn {
	var out []*net.UDPConn
	for _, c := range []*net.UDPConn{s.v4, s.v6} {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

func (s *sockets) close() {
	for _, c := range s.conns() {
		c.Close()
	}
}

// Run listens and announces until ctx ends, then returns nil. It fails
// when it can listen on neither IPv4 nor IPv6, or when reading fails; with
// one family missing it logs that once and goes on with the other. Run may
// be called once.
func (l *LAN) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("lan: run called twice")
	}
	s, err := l.listen(ctx)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range s.conns() {
		g.Go(func() error { return l.readLoop(c) })
	}
	g.Go(func() error {
		defer s.close()
		l.announceLoop(gctx, s)
		return nil
	})
	return g.Wait()
}

func (l *LAN) listen(ctx context.Context) (*sockets, error) {
	lc := net.ListenConfig{Control: reuse}
	s := &sockets{}
	var errs []error
	for _, fam := range []struct {
		network, addr string
		conn          **net.UDPConn
	}{
		{"udp4", fmt.Sprintf("0.0.0.0:%d", l.cfg.Port), &s.v4},
		{"udp6", fmt.Sprintf("[::]:%d", l.cfg.Port), &s.v6},
	} {
		c, err := lc.ListenPacket(ctx, fam.network, fam.addr)
		if err != nil {
			l.log.Warn("lan: discovery unavailable on one address family", "network", fam.network, "err", err)
			errs = append(errs, err)
			continue
		}
		*fam.conn = c.(*net.UDPConn)
	}
	if s.v4 == nil && s.v6 == nil {
		return nil, fmt.Errorf("lan listen on udp port %d: %w", l.cfg.Port, errors.Join(errs...))
	}
	return s, nil
}

func (l *LAN) readLoop(c *net.UDPConn) error {
	buf := make([]byte, MaxPacketSize+1) // one more, to see oversized datagrams
	for {
		n, src, err := c.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("lan read %s: %w", c.LocalAddr(), err)
		}
		l.handle(buf[:n], src)
	}
}

// announceLoop announces at once, then at every interval, when the offers
// change, when an interface or address appears (a network that comes up
// after the daemon, a link-local address that arrives a moment after its
// link), and soon after a new device is heard so that it learns about us
// without waiting for our interval.
func (l *LAN) announceLoop(ctx context.Context, s *sockets) {
	tick := time.NewTicker(l.cfg.Interval)
	defer tick.Stop()
	recheck := time.NewTicker(min(targetsRecheck, l.cfg.Interval))
	defer recheck.Stop()
	st := newSendState(l.log)
	gap := min(maxReplyGap, l.cfg.Interval)
	var held <-chan time.Time // a reply waiting for the gap to pass
	sentTo := l.announce(s, st)
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			l.cache.prune(l.cfg.Now())
		case <-recheck.C:
			if l.targets(s) == sentTo {
				continue
			}
		case <-l.offersChanged:
		case <-l.heardNew:
			if wait := gap - time.Since(last); wait > 0 {
				if held == nil {
					held = time.After(wait)
				}
				continue
			}
		case <-held:
		}
		held = nil
		sentTo = l.announce(s, st)
		last = time.Now()
	}
}

// targets describes where an announcement would go now, "" if nowhere.
func (l *LAN) targets(s *sockets) string {
	ifs, err := interfaces()
	if err != nil {
		return ""
	}
	v4, v6 := l.destinations(s, ifs)
	return fmt.Sprint(v4, v6)
}

// destinations are the broadcast and multicast targets on ifs for the
// sockets we have.
func (l *LAN) destinations(s *sockets, ifs []iface) (v4, v6 []target) {
	port := uint16(l.cfg.Port)
	if s.v4 != nil {
		v4 = broadcastTargets(ifs, port)
	}
	if s.v6 != nil {
		v6 = multicastTargets(ifs, port)
	}
	return v4, v6
}

// announce sends one announcement on every usable interface, listing the
// interfaces afresh since they come and go, and returns where it went (see
// targets).
func (l *LAN) announce(s *sockets, st *sendState) string {
	pkt, err := l.packet()
	if err != nil {
		l.log.Error("lan: build announcement", "err", err)
		return ""
	}
	st.begin()
	defer st.end()
	ifs, err := interfaces()
	if err != nil {
		st.note("interfaces", err)
		return ""
	}
	v4, v6 := l.destinations(s, ifs)
	if s.v4 != nil {
		l.sendAll(s.v4, v4, pkt, st)
	}
	if s.v6 != nil {
		group := netip.MustParseAddr(GroupIPv6)
		for _, t := range v6 {
			st.note("join "+t.iface, st.join(t.index, func() error { return joinGroup(s.v6, group, t.index) }))
		}
		l.sendAll(s.v6, v6, pkt, st)
	}
	return fmt.Sprint(v4, v6)
}

func (l *LAN) sendAll(c *net.UDPConn, targets []target, pkt []byte, st *sendState) {
	for _, t := range targets {
		_, err := c.WriteToUDPAddrPort(pkt, t.dst)
		if err != nil {
			l.stats.sendErrors.Add(1)
		} else {
			l.stats.sent.Add(1)
		}
		st.note("send "+t.iface+" "+t.dst.String(), err)
	}
}

// packet encodes our current announcement.
func (l *LAN) packet() ([]byte, error) {
	l.mu.Lock()
	offers := slices.Clone(l.offers)
	l.mu.Unlock()
	return encode(announcement{Device: l.cfg.Device, Ports: listenPorts(l.cfg.Ports()), Offers: offers})
}

// listenPorts keeps the valid, distinct ports, at most MaxPorts of them.
func listenPorts(ports []int) []uint16 {
	var out []uint16
	for _, p := range ports {
		if p > 0 && p <= 65535 && !slices.Contains(out, uint16(p)) && len(out) < MaxPorts {
			out = append(out, uint16(p))
		}
	}
	return out
}
