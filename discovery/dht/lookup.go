package dht

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	adht "github.com/anacrolix/dht/v2"

	"ferry/proto"
)

// Announce runs one announce round: it stores self's port under self's key
// of the current window at the nodes closest to it. It returns when those
// nodes were told or ctx ends.
func (d *DHT) Announce(ctx context.Context, self proto.DeviceID, port int) error {
	if port <= 0 || port > 65535 {
		return fmt.Errorf("dht announce: port %d out of range", port)
	}
	d.announces.Add(1)
	err := d.announce(ctx, Key(self, windowAt(d.cfg.Now())), port)
	if err != nil {
		d.failures.Add(1)
		return fmt.Errorf("dht announce %s: %w", self.Abbrev(), err)
	}
	return nil
}

func (d *DHT) announce(ctx context.Context, key [20]byte, port int) error {
	ctx, cancel := context.WithTimeout(ctx, traversalTimeout)
	defer cancel()
	if err := d.acquire(ctx); err != nil {
		return err
	}
	defer d.release()
	a, err := d.srv.AnnounceTraversal(key, adht.AnnouncePeer(adht.AnnouncePeerOpts{Port: port}))
	if err != nil {
		return err
	}
	defer a.Close()
	peers := a.Peers // drained so the traversal proceeds; values unused
	for peers != nil {
		select {
		case _, ok := <-peers:
			if !ok {
				peers = nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-a.Finished():
	case <-ctx.Done():
		return ctx.Err()
	}
	if a.TraversalStats().NumResponses == 0 {
		return errors.New("no node answered")
	}
	return nil
}

// Lookup finds the addresses dev announced in the current and the previous
// key window: at most MaxAddrsPerDevice, without duplicates. They are hints:
// whoever answers there must still prove dev's key. If ctx ends first,
// Lookup returns what it found with ctx's error.
func (d *DHT) Lookup(ctx context.Context, dev proto.DeviceID) ([]netip.AddrPort, error) {
	addrs, err := d.lookupWindows(ctx, func(w int64) [20]byte { return Key(dev, w) })
	if err != nil {
		return addrs, fmt.Errorf("dht lookup %s: %w", dev.Abbrev(), err)
	}
	return addrs, nil
}

// AnnounceOffer shows pairing offer number at port, under its key of the
// current window. A device showing an offer for longer than a window
// announces it again in the next one.
func (d *DHT) AnnounceOffer(ctx context.Context, number uint32, port int) error {
	if port <= 0 || port > 65535 {
		return fmt.Errorf("dht announce offer: port %d out of range", port)
	}
	d.announces.Add(1)
	if err := d.announce(ctx, PairKey(number, windowAt(d.cfg.Now())), port); err != nil {
		d.failures.Add(1)
		return fmt.Errorf("dht announce offer %d: %w", number, err)
	}
	return nil
}

// LookupOffer finds the addresses that showed pairing offer number in the
// current and the previous window: those of every device showing an offer
// with that number, at most MaxAddrsPerDevice.
func (d *DHT) LookupOffer(ctx context.Context, number uint32) ([]netip.AddrPort, error) {
	addrs, err := d.lookupWindows(ctx, func(w int64) [20]byte { return PairKey(number, w) })
	if err != nil {
		return addrs, fmt.Errorf("dht lookup offer %d: %w", number, err)
	}
	return addrs, nil
}

// lookupWindows looks up the key of the current and the previous window.
func (d *DHT) lookupWindows(ctx context.Context, key func(window int64) [20]byte) ([]netip.AddrPort, error) {
	d.lookups.Add(1)
	w := windowAt(d.cfg.Now())
	found := newAddrSet(d.cfg.PublicOnly)
	var err error
	for _, win := range []int64{w, w - 1} {
		if err = d.lookup(ctx, key(win), found); err != nil || found.full() {
			break
		}
	}
	d.droppedAddrs.Add(found.dropped)
	if err != nil {
		d.failures.Add(1)
	}
	return found.addrs, err
}

func (d *DHT) lookup(ctx context.Context, key [20]byte, found *addrSet) error {
	ctx, cancel := context.WithTimeout(ctx, traversalTimeout)
	defer cancel()
	if err := d.acquire(ctx); err != nil {
		return err
	}
	defer d.release()
	a, err := d.srv.AnnounceTraversal(key)
	if err != nil {
		return err
	}
	defer a.Close()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case pv, ok := <-a.Peers:
			if !ok {
				return nil
			}
			// One node adds at most MaxAddrsPerNode: a node that lists
			// thousands cannot crowd out what the others found.
			added := 0
			for _, p := range pv.Peers {
				if added >= MaxAddrsPerNode {
					found.dropped++
					continue
				}
				if found.add(p.ToNodeAddrPort().AddrPort) {
					added++
				}
			}
			if found.full() {
				return nil
			}
		}
	}
}

// addrSet collects found addresses up to MaxAddrsPerDevice.
type addrSet struct {
	publicOnly bool
	addrs      []netip.AddrPort
	seen       map[netip.AddrPort]bool
	dropped    int64
}

func newAddrSet(publicOnly bool) *addrSet {
	return &addrSet{publicOnly: publicOnly, seen: make(map[netip.AddrPort]bool)}
}

func (s *addrSet) full() bool { return len(s.addrs) >= MaxAddrsPerDevice }

// add adds ap unless it was found already or is not usable, and reports
// whether it did.
func (s *addrSet) add(ap netip.AddrPort) bool {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if s.seen[ap] {
		return false
	}
	if !usable(ap, s.publicOnly) || s.full() {
		s.dropped++
		return false
	}
	s.seen[ap] = true
	s.addrs = append(s.addrs, ap)
	return true
}

// usable reports whether ap can be dialled at all and, with publicOnly,
// whether it is a public address.
func usable(ap netip.AddrPort, publicOnly bool) bool {
	a := ap.Addr()
	if !ap.IsValid() || ap.Port() == 0 || a.IsUnspecified() || a.IsMulticast() ||
		a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return false
	}
	if publicOnly && (a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast()) {
		return false
	}
	return true
}
