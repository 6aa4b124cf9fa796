package portmap

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// Map asks the router to forward cfg.Port. NAT-PMP and UPnP are tried at
// once; the first mapping made wins and a later one is removed again.
func Map(ctx context.Context, cfg Config) (Mapping, error) {
	if err := cfg.Validate(); err != nil {
		return Mapping{}, err
	}
	var tries []func(context.Context, *Config) (Mapping, error)
	if !cfg.DisableNATPMP {
		tries = append(tries, mapNATPMP)
	}
	if !cfg.DisableUPnP {
		tries = append(tries, mapUPnP)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		m   Mapping
		err error
	}
	results := make(chan result, len(tries))
	for _, try := range tries {
		go func() {
			m, err := try(ctx, &cfg)
			results <- result{m, err}
		}()
	}
	var (
		won  Mapping
		errs []error
	)
	for range tries {
		r := <-results
		switch {
		case r.err != nil:
			errs = append(errs, r.err)
		case !won.Valid():
			won = r.m
			cancel()
		default:
			removeQuietly(ctx, &cfg, r.m) // lost the race
		}
	}
	if won.Valid() {
		return won, nil
	}
	return Mapping{}, fmt.Errorf("portmap: map port %d: %w", cfg.Port, errors.Join(errs...))
}

// removeQuietly removes m, even after ctx has ended, and logs a failure.
func removeQuietly(ctx context.Context, cfg *Config, m Mapping) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Timeout)
	defer cancel()
	if err := Unmap(ctx, m); err != nil {
		cfg.Logger.Warn("remove port mapping", "protocol", m.Protocol, "err", err)
	}
}

// Unmap asks the router to remove m.
func Unmap(ctx context.Context, m Mapping) error {
	if !m.Valid() {
		return errors.New("portmap: unmap: no mapping")
	}
	return m.router.remove(ctx, m)
}

// renew asks m's router for m again, keeping its external port.
func renew(ctx context.Context, cfg *Config, m Mapping) (Mapping, error) {
	return m.router.add(ctx, m.internal, m.External.Port(), cfg.Lifetime)
}

func mapNATPMP(ctx context.Context, cfg *Config) (Mapping, error) {
	gw := cfg.NATPMPGateway
	if !gw.IsValid() {
		var err error
		if gw, err = defaultGateway(); err != nil {
			return Mapping{}, fmt.Errorf("nat-pmp: %w", err)
		}
	}
	c := &natpmp{
		gw:      netip.AddrPortFrom(gw, uint16(cfg.NATPMPPort)),
		timeout: cfg.Timeout,
		now:     cfg.Now,
	}
	return c.add(ctx, uint16(cfg.Port), uint16(cfg.Port), cfg.Lifetime)
}
