package node

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"ferry/discovery/dht"
	"ferry/discovery/portmap"
	"ferry/proto"
	"ferry/web"
)

// How often a trusted device that is not connected is looked up in the
// DHT: at once, then after a wait that doubles from lookupMinWait to
// lookupMaxWait. A connection that ends starts it again at once. Each
// lookup is a traversal of a few dozen packets; a device away for a day
// costs about a hundred lookups.
const (
	lookupMinWait = 30 * time.Second
	lookupMaxWait = 15 * time.Minute
	lookupEvery   = 2 * time.Second // how often the lookup loop looks
	// foundLifetime is how long an address found in the DHT is dialled
	// after the lookup that found it.
	foundLifetime = 2 * time.Hour
)

// reach is what this device knows about reaching others beyond the LAN:
// the DHT node, the addresses it found and the router's port mapping.
type reach struct {
	mu sync.Mutex
	// dht is the DHT node, nil when it is off or could not start.
	dht *dht.DHT
	// found are the addresses the DHT gave for each trusted device.
	found map[proto.DeviceID]foundAddrs
	// lookups are the waits of the devices looked up.
	lookups map[proto.DeviceID]dialState
	// mapping is the router's forwarding of the sync port, if any.
	mapping portmap.Mapping
	// announceChanged wakes the announcer when the announced port changes.
	announceChanged chan struct{}
	// stopOffer ends the announcing of the pairing offer shown, if any.
	stopOffer context.CancelFunc
}

// offerAnnounceEvery is how often a pairing offer shown is announced
// again, so that it stays findable in each new key window.
const offerAnnounceEvery = 10 * time.Minute

type foundAddrs struct {
	addrs []string
	at    time.Time
}

// startReach starts the DHT node and the port mapping, each unless turned
// off. The DHT listens on UDP at DHTPort, by default the number of the
// first device listener's port.
func (n *Node) startReach(ctx context.Context) {
	n.reach.found = make(map[proto.DeviceID]foundAddrs)
	n.reach.lookups = make(map[proto.DeviceID]dialState)
	n.reach.announceChanged = make(chan struct{}, 1)
	port, host := n.syncPort()
	if port == 0 {
		return
	}
	if n.opts.Portmap {
		n.wg.Go(func() { n.keepMapped(ctx, port) })
	}
	if !n.opts.DHT {
		return
	}
	d, err := n.newDHT(host, port)
	if err != nil {
		n.log.Warn("internet discovery is off: devices are found only on the local network and at configured addresses", "err", err)
		return
	}
	n.reach.mu.Lock()
	n.reach.dht = d
	n.reach.mu.Unlock()
	n.log.Info("internet discovery on", "udp", d.Addr().String())
	n.wg.Go(func() {
		<-ctx.Done()
		if err := d.Close(); err != nil {
			n.log.Warn("dht: saving the routing table", "err", err)
		}
	})
	n.wg.Go(func() { n.announce(ctx, d, port) })
	n.wg.Go(func() { n.lookupLoop(ctx, d) })
}

// syncPort returns the port and host of the first TCP device listener.
func (n *Node) syncPort() (int, string) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, a := range n.listening {
		if ta, ok := a.(*net.TCPAddr); ok {
			host := ""
			if !ta.IP.IsUnspecified() {
				host = ta.IP.String()
			}
			return ta.Port, host
		}
	}
	return 0, ""
}

func (n *Node) newDHT(host string, syncPort int) (*dht.DHT, error) {
	port := n.opts.DHTPort
	if port == 0 {
		port = syncPort
	}
	boot := n.opts.DHTBootstrap
	if boot == nil {
		n.mu.RLock()
		boot = n.cfg.DHTBootstrap()
		n.mu.RUnlock()
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on UDP %s: %w (set another port with --dht-port)", addr, err)
	}
	return dht.New(dht.Config{
		Conn: conn, Bootstrap: boot, StateFile: filepath.Join(n.opts.Home, "dht-nodes"),
		Logger: n.log.With("part", "dht"), Now: n.opts.Now,
	})
}

// announcedPort is the port others reach this device on: the router's
// external port while one is mapped, the listener's otherwise.
func (n *Node) announcedPort(port int) int {
	n.reach.mu.Lock()
	defer n.reach.mu.Unlock()
	if m := n.reach.mapping; m.Valid() {
		return int(m.External.Port())
	}
	return port
}

// announce keeps this device announced at announcedPort.
func (n *Node) announce(ctx context.Context, d *dht.DHT, port int) {
	for {
		p := n.announcedPort(port)
		actx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			d.Run(actx, n.id, p, func() []proto.DeviceID { return nil }, nil)
		}()
		select {
		case <-ctx.Done():
		case <-n.reach.announceChanged:
		}
		cancel()
		<-done
		if ctx.Err() != nil {
			return
		}
	}
}

// lookupLoop looks up the trusted devices that are not connected, each
// after its wait, at most dht.MaxConcurrent at once.
func (n *Node) lookupLoop(ctx context.Context, d *dht.DHT) {
	t := time.NewTicker(lookupEvery)
	defer t.Stop()
	slots := make(chan struct{}, dht.MaxConcurrent)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		for _, dev := range n.dueLookups() {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Go(func() {
				defer func() { <-slots }()
				n.lookup(ctx, d, dev)
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// dueLookups returns the trusted devices not connected whose lookup wait
// is over, marking them as being looked up. It forgets what it knows of
// devices no longer trusted and resets the wait of connected ones.
func (n *Node) dueLookups() []proto.DeviceID {
	trusted := n.trustedDevices()
	now := n.opts.Now()
	n.reach.mu.Lock()
	defer n.reach.mu.Unlock()
	for dev := range n.reach.lookups {
		if !slices.Contains(trusted, dev) {
			delete(n.reach.lookups, dev)
		}
	}
	for dev, f := range n.reach.found {
		if !slices.Contains(trusted, dev) || now.Sub(f.at) > foundLifetime {
			delete(n.reach.found, dev)
		}
	}
	var due []proto.DeviceID
	for _, dev := range trusted {
		if dev == n.id {
			continue
		}
		st := n.reach.lookups[dev]
		if c := n.conns.conn(dev); c != nil && !c.relayed() {
			if !st.dialing {
				delete(n.reach.lookups, dev)
			}
			continue
		}
		if st.dialing || now.Before(st.next) {
			continue
		}
		st.dialing = true
		n.reach.lookups[dev] = st
		due = append(due, dev)
	}
	return due
}

// lookup looks dev up once, keeps what it finds and dials it there.
func (n *Node) lookup(ctx context.Context, d *dht.DHT, dev proto.DeviceID) {
	found, err := d.Lookup(ctx, dev)
	if err != nil && ctx.Err() == nil {
		n.log.Debug("dht lookup failed", "device", dev.Abbrev(), "err", err)
	}
	addrs := make([]string, 0, len(found))
	for _, ap := range found {
		addrs = append(addrs, ap.String())
	}
	now := n.opts.Now()
	n.reach.mu.Lock()
	st := n.reach.lookups[dev]
	st.dialing = false
	st.wait = min(max(lookupMinWait, st.wait*2), lookupMaxWait)
	st.next = now.Add(st.wait)
	n.reach.lookups[dev] = st
	fresh := false
	if len(addrs) > 0 {
		old := n.reach.found[dev].addrs
		fresh = !slices.Equal(old, addrs)
		n.reach.found[dev] = foundAddrs{addrs: addrs, at: now}
	}
	n.reach.mu.Unlock()
	if fresh {
		n.log.Debug("found in the dht", "device", dev.Abbrev(), "addrs", addrs)
		n.conns.dialNow(ctx, dev)
	}
}

// showOffer announces pairing offer number in the DHT until another
// offer replaces it; 0 stops announcing. It does nothing with the DHT off.
func (n *Node) showOffer(number uint32) {
	n.reach.mu.Lock()
	defer n.reach.mu.Unlock()
	if n.reach.stopOffer != nil {
		n.reach.stopOffer()
		n.reach.stopOffer = nil
	}
	d := n.reach.dht
	port, _ := n.syncPort()
	if d == nil || number == 0 || n.runCtx == nil {
		return
	}
	ctx, cancel := context.WithCancel(n.runCtx)
	n.reach.stopOffer = cancel
	// Not in n.wg: an offer may end while the node shuts down, after its
	// wait has begun. The goroutine ends with n.runCtx.
	go func() {
		for {
			if err := d.AnnounceOffer(ctx, number, n.announcedPort(port)); err != nil && ctx.Err() == nil {
				n.log.Warn("cannot show the pairing offer in the DHT; devices on this network can still join", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(offerAnnounceEvery):
			}
		}
	}()
}

// lookupOffer returns the addresses that show pairing offer number in the
// DHT; nil with the DHT off.
func (n *Node) lookupOffer(ctx context.Context, number uint32) []string {
	n.reach.mu.Lock()
	d := n.reach.dht
	n.reach.mu.Unlock()
	if d == nil {
		return nil
	}
	found, err := d.LookupOffer(ctx, number)
	if err != nil && ctx.Err() == nil {
		n.log.Debug("dht lookup of a pairing offer failed", "offer", number, "err", err)
	}
	out := make([]string, 0, len(found))
	for _, ap := range found {
		out = append(out, ap.String())
	}
	return out
}

// dhtOn reports whether the DHT node runs.
func (n *Node) dhtOn() bool {
	n.reach.mu.Lock()
	defer n.reach.mu.Unlock()
	return n.reach.dht != nil
}

// dhtAddrs returns the addresses the DHT gave for dev.
func (n *Node) dhtAddrs(dev proto.DeviceID) []string {
	n.reach.mu.Lock()
	defer n.reach.mu.Unlock()
	return slices.Clone(n.reach.found[dev].addrs)
}

// keepMapped keeps the sync port mapped on the router until ctx ends, and
// removes the mapping then.
func (n *Node) keepMapped(ctx context.Context, port int) {
	err := portmap.Run(ctx, portmap.Config{Port: port, Logger: n.log.With("part", "portmap")}, func(m portmap.Mapping) {
		n.reach.mu.Lock()
		n.reach.mapping = m
		n.reach.mu.Unlock()
		select {
		case n.reach.announceChanged <- struct{}{}:
		default:
		}
	})
	if err != nil {
		n.log.Warn("port mapping is off", "err", err)
	}
}

// reachStatus is this device's part of the status: its external address
// and what its DHT node knows.
func (n *Node) reachStatus() (external string, mapping string, d *web.DHTStatus) {
	n.reach.mu.Lock()
	m, node := n.reach.mapping, n.reach.dht
	n.reach.mu.Unlock()
	if m.Valid() {
		external, mapping = m.External.String(), m.Protocol
	}
	if node != nil {
		s := node.Stats()
		d = &web.DHTStatus{Addr: node.Addr().String(), Nodes: s.Nodes, GoodNodes: s.GoodNodes, Lookups: s.Lookups, Announces: s.Announces}
	}
	return external, mapping, d
}
