package dht

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Defaults and bounds. doc.go explains them.
const (
	// DefaultAddr is the UDP address listened on when Config.Conn is nil.
	DefaultAddr = ":22110"
	// DefaultInterval is the time between two announce rounds of Run.
	DefaultInterval = 15 * time.Minute
	// MaxAddrsPerDevice bounds the addresses one Lookup returns.
	MaxAddrsPerDevice = 32
	// MaxAddrsPerNode bounds the addresses one answering node adds to a
	// lookup, so that one node listing thousands leaves room for others.
	MaxAddrsPerNode = 4
	// MaxConcurrent bounds the traversals (lookups and announces) running
	// at once.
	MaxConcurrent = 4
	// MaxSavedNodes bounds the routing table entries written to StateFile.
	MaxSavedNodes = 256
	// maxStateFile bounds the state file read at start (38 bytes a node).
	maxStateFile = MaxSavedNodes * 38
	// traversalTimeout bounds one traversal when the caller's context has
	// no earlier deadline.
	traversalTimeout = 30 * time.Second
)

// DefaultBootstrap are the public Mainline DHT routers.
var DefaultBootstrap = []string{
	"router.bittorrent.com:6881",
	"dht.transmissionbt.com:6881",
	"router.utorrent.com:6881",
}

// Config describes one DHT node.
type Config struct {
	// Conn is the UDP socket to use; the DHT owns it and Close closes it.
	// If nil, New listens on Addr.
	Conn net.PacketConn
	// Addr is the UDP address to listen on when Conn is nil (default
	// DefaultAddr).
	Addr string
	// Bootstrap lists host:port of nodes used to join the DHT when the
	// routing table is empty. nil means DefaultBootstrap; an empty,
	// non-nil slice means none (the state file alone).
	Bootstrap []string
	// StateFile is where Close saves the routing table and New reads it,
	// so a restart needs no bootstrap. "" keeps no state.
	StateFile string
	// PublicOnly drops found addresses that are loopback, private or
	// link-local. Off by default: such addresses are useful on a LAN and
	// in tests.
	PublicOnly bool
	// Interval is the time between two rounds of Run (default
	// DefaultInterval). Run also starts a round when the key window
	// changes.
	Interval time.Duration
	// Logger receives debug traces and warnings (default: none).
	Logger *slog.Logger
	// Now reads the clock that selects the key window (default time.Now).
	Now func() time.Time
}

// Validate fills the defaults into zero fields and refuses invalid ones.
func (c *Config) Validate() error {
	if c.Interval < 0 {
		return fmt.Errorf("dht config: negative interval %v", c.Interval)
	}
	if c.Conn == nil && c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Bootstrap == nil {
		c.Bootstrap = DefaultBootstrap
	}
	for _, hp := range c.Bootstrap {
		if _, _, err := net.SplitHostPort(hp); err != nil {
			return fmt.Errorf("dht config: bootstrap %q: %w", hp, err)
		}
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

var errClosed = errors.New("dht closed")
