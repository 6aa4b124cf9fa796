package node

import (
	"context"
	"net"
	"slices"

	"ferry/discovery/lan"
	"ferry/proto"
)

// newLAN makes the local discovery of a node, nil when it is turned off. It
// is made before anything can use it and runs once the node listens.
func (n *Node) newLAN() (*lan.LAN, error) {
	if n.opts.NoLAN {
		return nil, nil
	}
	return lan.New(lan.Config{Device: n.id, Ports: n.listenPorts, Port: n.opts.LANPort, Logger: n.log.With("part", "lan")})
}

// startLAN starts announcing this device on the local network and
// listening for others, unless turned off.
func (n *Node) startLAN(ctx context.Context) {
	l := n.lan
	if l == nil {
		return
	}
	n.wg.Go(func() {
		if err := l.Run(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("local discovery stopped; devices are found only at configured addresses", "err", err)
		}
	})
	n.wg.Go(func() { n.dialHeard(ctx, l) })
}

// dialHeard dials trusted devices as soon as they are heard on the local
// network, instead of waiting out a dial backoff.
func (n *Node) dialHeard(ctx context.Context, l *lan.LAN) {
	for {
		changed := l.Changed()
		for dev := range l.Devices() {
			if n.trusted(dev) && !n.paused(dev) {
				n.conns.dialNow(ctx, dev)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// addrs returns where dev may be reached: configured addresses first, then
// those heard on the local network, then those found in the DHT.
func (n *Node) addrs(dev proto.DeviceID) []string {
	out := n.resolver.Lookup(dev)
	add := func(found []string) {
		for _, a := range found {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	if n.lan != nil {
		add(n.lan.Lookup(dev))
	}
	add(n.dhtAddrs(dev))
	return out
}

// via says how the connection c came about, for the status.
func (n *Node) via(c *peerConn) string {
	switch {
	case c.relayed():
		return "relay"
	case c.dialer != n.id:
		return "incoming"
	case slices.Contains(n.resolver.Lookup(c.dev), c.addr):
		return "address"
	case n.lan != nil && slices.Contains(n.lan.Lookup(c.dev), c.addr):
		return "lan"
	case slices.Contains(n.dhtAddrs(c.dev), c.addr):
		return "dht"
	}
	return "dialled"
}

// listenPorts are the TCP ports of the device listeners.
func (n *Node) listenPorts() []int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	var ports []int
	for _, a := range n.listening {
		if ta, ok := a.(*net.TCPAddr); ok && !slices.Contains(ports, ta.Port) {
			ports = append(ports, ta.Port)
		}
	}
	return ports
}
