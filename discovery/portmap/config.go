package portmap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Config says which port to map and where to look for the router.
type Config struct {
	Port     int           // internal TCP port to map
	Lifetime time.Duration // lease asked for; default 1h, renewed at half of what is granted

	Timeout   time.Duration // deadline of one request to the router; default 3s
	Discovery time.Duration // deadline of the SSDP search; 2s at least (the default)
	Retry     time.Duration // Run's wait after a failure; default 1m

	Logger *slog.Logger                         // default: discard
	Now    func() time.Time                     // default time.Now
	After  func(time.Duration) <-chan time.Time // default time.After; Run's timers

	UPnPRootURL   string     // device description URL; empty means SSDP discovery
	NATPMPGateway netip.Addr // gateway to ask; invalid means the default route's
	NATPMPPort    int        // default 5351
	DisableUPnP   bool
	DisableNATPMP bool
}

// Validate checks c and fills in its defaults.
func (c *Config) Validate() error {
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("portmap: port %d out of range", c.Port)
	}
	if c.DisableUPnP && c.DisableNATPMP {
		return errors.New("portmap: both UPnP and NAT-PMP disabled")
	}
	if c.Lifetime <= 0 {
		c.Lifetime = time.Hour
	}
	c.Lifetime = max(c.Lifetime.Round(time.Second), 2*time.Second)
	setDefault(&c.Timeout, 3*time.Second)
	// goupnp's search asks devices to answer within the whole seconds
	// left before its deadline, and refuses less than one: a shorter
	// search could never find a router.
	c.Discovery = max(c.Discovery, 2*time.Second)
	setDefault(&c.Retry, time.Minute)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.After == nil {
		c.After = time.After
	}
	if c.NATPMPPort == 0 {
		c.NATPMPPort = natpmpPort
	}
	if c.NATPMPPort < 1 || c.NATPMPPort > 65535 {
		return fmt.Errorf("portmap: NAT-PMP port %d out of range", c.NATPMPPort)
	}
	return nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Mapping is a port forwarded by the router.
type Mapping struct {
	Protocol string         // "upnp" or "nat-pmp"
	External netip.AddrPort // where the internet reaches the port
	Lifetime time.Duration  // lease granted
	Expires  time.Time

	internal uint16
	router   router
}

// Valid reports whether m is a mapping rather than the zero value.
func (m Mapping) Valid() bool { return m.router != nil }

// router is one gateway speaking one protocol.
type router interface {
	add(ctx context.Context, internal, external uint16, lifetime time.Duration) (Mapping, error)
	remove(ctx context.Context, m Mapping) error
}
