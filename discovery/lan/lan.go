package lan

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"ferry/proto"
)

// LAN announces this device on the local network and remembers the
// devices it hears. It implements discovery.Resolver.
type LAN struct {
	cfg   Config
	log   *slog.Logger
	cache *cache
	stats counters

	mu     sync.Mutex
	offers []uint32 // sorted, distinct

	offersChanged chan struct{} // cap 1: announce at once
	heardNew      chan struct{} // cap 1: a device appeared, answer it
	running       atomic.Bool
}

// Stats counts datagrams since New.
type Stats struct {
	Received   uint64 // datagrams read
	Accepted   uint64 // valid announcements of other devices
	Own        uint64 // our own announcements, looped back and ignored
	Dropped    uint64 // malformed, oversized or from an unusable source
	Sent       uint64 // announcements sent, one per interface and family
	SendErrors uint64 // announcements that failed to send
}

type counters struct {
	received, accepted, own, dropped, sent, sendErrors atomic.Uint64
}

// New returns a LAN for cfg; Run starts it.
func New(cfg Config) (*LAN, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &LAN{
		cfg:           cfg,
		log:           cfg.Logger,
		cache:         newCache(cfg.Expiry),
		offersChanged: make(chan struct{}, 1),
		heardNew:      make(chan struct{}, 1),
	}, nil
}

// Lookup returns the fresh addresses ("ip:port") dev was heard at, sorted.
func (l *LAN) Lookup(dev proto.DeviceID) []string {
	return l.cache.lookup(dev, l.cfg.Now())
}

// Devices returns every device with a fresh address.
func (l *LAN) Devices() map[proto.DeviceID][]string {
	return l.cache.devices(l.cfg.Now())
}

// Changed returns a channel closed when a device, an address or a
// device's offers are next heard for the first time. Take it before
// reading Devices so that nothing heard in between is missed.
func (l *LAN) Changed() <-chan struct{} { return l.cache.watch() }

// SetOffers replaces the pairing offers we announce and announces them at
// once. Offers are numbers only and carry nothing secret.
func (l *LAN) SetOffers(offers []uint32) error {
	offers = slices.Clone(offers)
	slices.Sort(offers)
	offers = slices.Compact(offers)
	if len(offers) > MaxOffers {
		return fmt.Errorf("set %d offers: at most %d", len(offers), MaxOffers)
	}
	l.mu.Lock()
	changed := !slices.Equal(l.offers, offers)
	l.offers = offers
	l.mu.Unlock()
	if changed {
		poke(l.offersChanged)
	}
	return nil
}

// FindOffer waits until a device announcing offer has been heard, or
// returns at once if one is known, and returns its addresses. When several
// devices announce the same offer, the one heard last wins.
func (l *LAN) FindOffer(ctx context.Context, offer uint32) ([]string, proto.DeviceID, error) {
	for {
		dev, addrs, changed := l.cache.findOffer(offer, l.cfg.Now())
		if len(addrs) > 0 {
			return addrs, dev, nil
		}
		select {
		case <-ctx.Done():
			return nil, proto.DeviceID{}, fmt.Errorf("find offer %d: %w", offer, ctx.Err())
		case <-changed:
		}
	}
}

// Stats returns the counters.
func (l *LAN) Stats() Stats {
	c := &l.stats
	return Stats{
		Received: c.received.Load(), Accepted: c.accepted.Load(), Own: c.own.Load(),
		Dropped: c.dropped.Load(), Sent: c.sent.Load(), SendErrors: c.sendErrors.Load(),
	}
}

// handle takes one received datagram from src.
func (l *LAN) handle(b []byte, src netip.AddrPort) {
	l.stats.received.Add(1)
	a, err := decode(b)
	if err != nil {
		l.stats.dropped.Add(1)
		return
	}
	if a.Device == l.cfg.Device {
		l.stats.own.Add(1)
		return
	}
	ip := src.Addr().Unmap()
	if !dialable(ip) {
		l.stats.dropped.Add(1)
		return
	}
	l.stats.accepted.Add(1)
	if l.cache.update(a, ip, l.cfg.Now()) {
		l.log.Debug("lan: heard device", "device", a.Device.Abbrev(), "from", ip)
		poke(l.heardNew)
	}
}

// dialable reports whether ip can be dialled back: a unicast address, with
// its interface if it is IPv6 link-local.
func dialable(ip netip.Addr) bool {
	switch {
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsMulticast(), ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return false
	case ip.Is6() && ip.IsLinkLocalUnicast():
		return ip.Zone() != ""
	}
	return true
}

// poke signals c without blocking; signals coalesce.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
