package lan

import (
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"ferry/proto"
)

// Bounds on what a LAN full of announcements can make us remember.
const (
	maxPeers        = 1024
	maxAddrsPerPeer = 32
)

// peer is what we heard from one device.
type peer struct {
	addrs  map[netip.AddrPort]time.Time // address → expiry
	offers []uint32                     // from the latest announcement
	seen   time.Time                    // latest announcement
}

// cache maps devices to the addresses they were heard from. Every change
// that teaches something new (a device, an address, different offers)
// closes the current changed channel and starts a new one, so any number of
// waiters can sleep until the next one.
type cache struct {
	ttl     time.Duration
	mu      sync.Mutex
	peers   map[proto.DeviceID]*peer
	changed chan struct{}
}

func newCache(ttl time.Duration) *cache {
	return &cache{ttl: ttl, peers: make(map[proto.DeviceID]*peer), changed: make(chan struct{})}
}

// update records a heard at now from src. It reports whether the device
// was unknown (or forgotten) before.
func (c *cache) update(a announcement, src netip.Addr, now time.Time) (isNew bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.peers[a.Device]
	if p != nil && !c.fresh(p, now) {
		delete(c.peers, a.Device)
		p = nil
	}
	if p == nil {
		if len(c.peers) >= maxPeers {
			c.pruneLocked(now)
		}
		if len(c.peers) >= maxPeers {
			return false
		}
		p = &peer{addrs: make(map[netip.AddrPort]time.Time)}
		c.peers[a.Device] = p
		isNew = true
	}
	changed := isNew
	p.seen = now
	maps.DeleteFunc(p.addrs, func(_ netip.AddrPort, exp time.Time) bool { return !now.Before(exp) })
	for _, port := range a.Ports {
		ap := netip.AddrPortFrom(src, port)
		if _, ok := p.addrs[ap]; !ok {
			if len(p.addrs) >= maxAddrsPerPeer {
				continue
			}
			changed = true
		}
		p.addrs[ap] = now.Add(c.ttl)
	}
	if !slices.Equal(p.offers, a.Offers) {
		p.offers = slices.Clone(a.Offers)
		changed = true
	}
	if changed {
		close(c.changed)
		c.changed = make(chan struct{})
	}
	return isNew
}

func (c *cache) fresh(p *peer, now time.Time) bool { return now.Before(p.seen.Add(c.ttl)) }

// addrsLocked returns the fresh addresses of p, sorted.
func (c *cache) addrsLocked(p *peer, now time.Time) []string {
	var out []string
	for ap, exp := range p.addrs {
		if now.Before(exp) {
			out = append(out, ap.String())
		}
	}
	slices.Sort(out)
	return out
}

// lookup returns the fresh addresses of dev.
func (c *cache) lookup(dev proto.DeviceID, now time.Time) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.peers[dev]
	if p == nil {
		return nil
	}
	return c.addrsLocked(p, now)
}

// devices returns every device with a fresh address.
func (c *cache) devices(now time.Time) map[proto.DeviceID][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[proto.DeviceID][]string)
	for dev, p := range c.peers {
		if addrs := c.addrsLocked(p, now); len(addrs) > 0 {
			out[dev] = addrs
		}
	}
	return out
}

// findOffer returns the device that most recently announced offer, with
// its fresh addresses, and the channel closed at the next change.
func (c *cache) findOffer(offer uint32, now time.Time) (proto.DeviceID, []string, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best proto.DeviceID
	var bestAddrs []string
	var bestSeen time.Time
	for dev, p := range c.peers {
		if !c.fresh(p, now) || !slices.Contains(p.offers, offer) || !p.seen.After(bestSeen) {
			continue
		}
		if addrs := c.addrsLocked(p, now); len(addrs) > 0 {
			best, bestAddrs, bestSeen = dev, addrs, p.seen
		}
	}
	return best, bestAddrs, c.changed
}

// watch returns the channel closed at the next change.
func (c *cache) watch() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// prune forgets stale devices and addresses.
func (c *cache) prune(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruneLocked(now)
}

func (c *cache) pruneLocked(now time.Time) {
	for dev, p := range c.peers {
		if !c.fresh(p, now) {
			delete(c.peers, dev)
			continue
		}
		maps.DeleteFunc(p.addrs, func(_ netip.AddrPort, exp time.Time) bool { return !now.Before(exp) })
	}
}
