package lan

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"ferry/proto"
)

// Defaults for Config.
const (
	// DefaultPort is the UDP port announcements are sent to and heard on.
	DefaultPort = 21025
	// DefaultInterval is the time between two announcements.
	DefaultInterval = 30 * time.Second
	// expiryFactor times the interval is how long a heard address lives.
	expiryFactor = 3
)

// Config describes one announcer and listener.
type Config struct {
	// Device is our own device ID, announced to others; announcements
	// carrying it are ignored. Required.
	Device proto.DeviceID
	// Ports returns the TCP ports we listen on. It is called at every
	// announcement; nil announces no ports (offers only).
	Ports func() []int
	// Port is the UDP port used to send and to listen (default
	// DefaultPort). Every device on a LAN must use the same one.
	Port int
	// Interval is the time between two announcements (default
	// DefaultInterval).
	Interval time.Duration
	// Expiry is how long a heard address stays fresh (default three
	// intervals).
	Expiry time.Duration
	// Now reads the clock that ages the cache (default time.Now).
	Now func() time.Time
	// Logger receives debug traces and warnings (default: none).
	Logger *slog.Logger
}

// Validate fills the defaults into zero fields and refuses invalid ones.
func (c *Config) Validate() error {
	if c.Device.IsZero() {
		return errors.New("lan config: zero device ID")
	}
	if c.Port < 0 || c.Port > 65535 || c.Interval < 0 || c.Expiry < 0 {
		return fmt.Errorf("lan config: out of range (port %d, interval %v, expiry %v)",
			c.Port, c.Interval, c.Expiry)
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Expiry == 0 {
		c.Expiry = expiryFactor * c.Interval
	}
	if c.Ports == nil {
		c.Ports = func() []int { return nil }
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
