package portmap

import (
	"context"
	"time"
)

// Run keeps cfg.Port mapped until ctx ends, then removes the mapping. It
// renews at half the granted lifetime, maps afresh when a renewal fails,
// and calls onChange with each new external address, or with the zero
// Mapping when the mapping is lost. It returns an error only for an invalid
// cfg.
func Run(ctx context.Context, cfg Config, onChange func(Mapping)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	var cur Mapping
	for {
		next, err := refresh(ctx, &cfg, cur)
		if ctx.Err() != nil {
			if err == nil {
				cur = next // made just before the end: remove it below
			}
			break
		}
		wait := cfg.Retry
		switch {
		case err != nil:
			cfg.Logger.Warn("port mapping failed", "port", cfg.Port, "err", err)
			if cur.Valid() {
				cur = Mapping{}
				onChange(cur)
			}
		default:
			if next.Protocol != cur.Protocol || next.External != cur.External {
				cfg.Logger.Info("port mapped", "protocol", next.Protocol, "external", next.External)
				onChange(next)
			}
			cur = next
			wait = max(next.Lifetime/2, time.Second)
		}
		select {
		case <-ctx.Done():
		case <-cfg.After(wait):
			continue
		}
		break
	}
	if cur.Valid() {
		removeQuietly(ctx, &cfg, cur)
	}
	return nil
}

// refresh renews cur on its router, or maps anew when that fails.
func refresh(ctx context.Context, cfg *Config, cur Mapping) (Mapping, error) {
	if cur.Valid() {
		m, err := renew(ctx, cfg, cur)
		if err == nil {
			return m, nil
		}
		cfg.Logger.Info("port mapping renewal failed", "protocol", cur.Protocol, "err", err)
	}
	return Map(ctx, *cfg)
}
