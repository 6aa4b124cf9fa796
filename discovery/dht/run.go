package dht

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"ferry/proto"
)

// Run announces self's port and looks up every device that devices
// returns, every Interval and whenever the key window changes, until ctx
// ends. found receives each non-empty lookup result; it is called from
// several goroutines at once.
func (d *DHT) Run(ctx context.Context, self proto.DeviceID, port int,
	devices func() []proto.DeviceID, found func(proto.DeviceID, []netip.AddrPort)) {
	for {
		d.round(ctx, self, port, devices, found)
		timer := time.NewTimer(d.nextRound())
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// nextRound returns the wait until the next round: Interval, or less if
// the key window changes before.
func (d *DHT) nextRound() time.Duration {
	now := d.cfg.Now()
	wait := d.cfg.Interval
	if untilWindow := windowEnd(now).Sub(now) + time.Second; untilWindow < wait {
		wait = untilWindow
	}
	return wait
}

// round announces and looks up all devices once; lookups run in parallel,
// bounded by the traversal slots.
func (d *DHT) round(ctx context.Context, self proto.DeviceID, port int,
	devices func() []proto.DeviceID, found func(proto.DeviceID, []netip.AddrPort)) {
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := d.Announce(ctx, self, port); err != nil && ctx.Err() == nil {
			d.cfg.Logger.Debug("dht: announce failed", "err", err)
		}
	})
	for _, dev := range devices() {
		if dev == self {
			continue
		}
		wg.Go(func() {
			addrs, err := d.Lookup(ctx, dev)
			if err != nil && ctx.Err() == nil {
				d.cfg.Logger.Debug("dht: lookup failed", "device", dev.Abbrev(), "err", err)
			}
			if len(addrs) > 0 {
				found(dev, addrs)
			}
		})
	}
	wg.Wait()
}
