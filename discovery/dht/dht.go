package dht

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	adht "github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/krpc"
	"golang.org/x/time/rate"
)

// Send rate of one node, in packets a second and burst.
const (
	sendRate  = 50
	sendBurst = 50
)

// DHT is one node of the Mainline DHT that announces and finds devices.
type DHT struct {
	cfg   Config
	srv   *adht.Server
	slots chan struct{} // MaxConcurrent traversal slots

	announces, lookups, failures atomic.Int64
	droppedPackets, droppedAddrs atomic.Int64

	closeOnce sync.Once
	closeErr  error
}

// Stats counts what a DHT did since New.
type Stats struct {
	Nodes     int   // nodes in the routing table
	GoodNodes int   // of which answered lately
	Announces int64 // announce rounds run
	Lookups   int64 // lookups run
	Failures  int64 // announces and lookups that failed
	// DroppedPackets counts datagrams that were not KRPC messages.
	DroppedPackets int64
	// DroppedAddrs counts found addresses refused (invalid, over the
	// bound, or filtered by PublicOnly) and peers we refused to store.
	DroppedAddrs int64
}

// New starts a DHT node. It joins the DHT in the background from the
// saved routing table and the bootstrap nodes.
func New(cfg Config) (*DHT, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &DHT{cfg: cfg, slots: make(chan struct{}, MaxConcurrent)}
	conn := cfg.Conn
	if conn == nil {
		var err error
		if conn, err = net.ListenPacket("udp", cfg.Addr); err != nil {
			return nil, fmt.Errorf("dht listen %s: %w", cfg.Addr, err)
		}
	}
	srv, err := adht.NewServer(&adht.ServerConfig{
		Conn:          filterConn{PacketConn: conn, dropped: &d.droppedPackets},
		StartingNodes: d.startingNodes,
		// BEP 42 node IDs are not common enough on the live DHT to insist
		// on, and they refuse loopback peers; the library default is off.
		NoSecurity:  true,
		PeerStore:   newPeerStore(cfg.Now, &d.droppedAddrs),
		Logger:      libLogger(cfg.Logger),
		SendLimiter: rate.NewLimiter(sendRate, sendBurst),
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("dht server: %w", err)
	}
	d.srv = srv
	if n, err := d.loadState(); err != nil {
		cfg.Logger.Warn("dht: reading saved nodes", "file", cfg.StateFile, "err", err)
	} else if n > 0 {
		cfg.Logger.Debug("dht: saved nodes", "added", n)
	}
	go srv.TableMaintainer() // returns when srv is closed
	return d, nil
}

// startingNodes resolves the bootstrap nodes; the library calls it when
// the routing table is empty.
func (d *DHT) startingNodes() ([]adht.Addr, error) {
	if len(d.cfg.Bootstrap) == 0 {
		return nil, errors.New("no bootstrap nodes")
	}
	return adht.ResolveHostPorts(d.cfg.Bootstrap)
}

// Stats returns the counters.
func (d *DHT) Stats() Stats {
	s := d.srv.Stats()
	return Stats{
		Nodes:          s.Nodes,
		GoodNodes:      s.GoodNodes,
		Announces:      d.announces.Load(),
		Lookups:        d.lookups.Load(),
		Failures:       d.failures.Load(),
		DroppedPackets: d.droppedPackets.Load(),
		DroppedAddrs:   d.droppedAddrs.Load(),
	}
}

// Addr returns the local UDP address.
func (d *DHT) Addr() net.Addr { return d.srv.Addr() }

// Close saves the routing table and stops the node, closing its socket.
func (d *DHT) Close() error {
	d.closeOnce.Do(func() {
		d.closeErr = d.saveState()
		d.srv.Close()
	})
	return d.closeErr
}

// loadState adds the nodes saved in StateFile to the routing table.
func (d *DHT) loadState() (int, error) {
	if d.cfg.StateFile == "" {
		return 0, nil
	}
	b, err := os.ReadFile(d.cfg.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(b) > maxStateFile {
		b = b[:maxStateFile-maxStateFile%38]
	}
	var nodes krpc.CompactIPv6NodeInfo
	if err := nodes.UnmarshalBinary(b); err != nil {
		return 0, fmt.Errorf("decode %s: %w", d.cfg.StateFile, err)
	}
	added := 0
	for _, n := range nodes {
		if d.srv.AddNode(n) == nil {
			added++
		}
	}
	return added, nil
}

// saveState writes up to MaxSavedNodes nodes of the routing table to
// StateFile, atomically.
func (d *DHT) saveState() error {
	if d.cfg.StateFile == "" {
		return nil
	}
	nodes := d.srv.Nodes()
	if len(nodes) == 0 {
		return nil // keep what an earlier run saved
	}
	if len(nodes) > MaxSavedNodes {
		nodes = nodes[:MaxSavedNodes]
	}
	tmp, err := os.CreateTemp(filepath.Dir(d.cfg.StateFile), ".dht-nodes-*")
	if err != nil {
		return fmt.Errorf("save dht nodes: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := adht.WriteNodesToFile(nodes, tmp.Name()); err != nil {
		return fmt.Errorf("save dht nodes %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), d.cfg.StateFile); err != nil {
		return fmt.Errorf("save dht nodes: %w", err)
	}
	return nil
}

// acquire takes a traversal slot.
func (d *DHT) acquire(ctx context.Context) error {
	select {
	case d.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *DHT) release() { <-d.slots }
