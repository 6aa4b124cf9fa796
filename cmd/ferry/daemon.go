package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ferry/engine/config"
	"ferry/platform"
	"ferry/web"
)

// callTimeout bounds API calls other than scans.
const callTimeout = time.Minute

// apiAddrFile is where a running daemon records the address its API
// actually listens on (it may differ from config.json: serve --gui, port 0).
const apiAddrFile = "api.addr"

// writeAPIAddr records the API's listen address for the other commands.
func writeAPIAddr(home, addr string) error {
	if err := platform.WriteFileAtomic(filepath.Join(home, apiAddrFile), []byte(addr+"\n"), 0o600); err != nil {
		return fmt.Errorf("record API address: %w", err)
	}
	return nil
}

// removeAPIAddr removes the record of addr when the daemon that wrote it
// stops. A record of another address is left alone: it belongs to another
// daemon (one that was running when this one was refused the home).
func removeAPIAddr(home, addr string) {
	name := filepath.Join(home, apiAddrFile)
	if data, err := os.ReadFile(name); err == nil && strings.TrimSpace(string(data)) == addr {
		os.Remove(name)
	}
}

// apiAddr returns where to reach this home's daemon: the address it
// recorded, else the gui address in config.json. An unspecified host
// (0.0.0.0, [::]) is reached on loopback.
func apiAddr(home string, cfg config.Config) string {
	addr := cfg.GUI
	if data, err := os.ReadFile(filepath.Join(home, apiAddrFile)); err == nil && strings.TrimSpace(string(data)) != "" {
		addr = strings.TrimSpace(string(data))
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if err == nil && ip.Is6() {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}

// daemon returns a client for this home's daemon. Without an API key file no
// daemon has run here: that is web.ErrNoDaemon without trying to connect.
func (g *globals) daemon(cfg config.Config) (*web.Client, string, error) {
	key, err := web.ReadAPIKey(g.home)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", web.ErrNoDaemon
	}
	if err != nil {
		return nil, "", err
	}
	addr := apiAddr(g.home, cfg)
	return web.NewClient(addr, key), addr, nil
}

// mustDaemon is daemon for commands that cannot work without one; it prints
// the failure itself and returns ok=false.
func (g *globals) mustDaemon(what string) (c *web.Client, addr string, code int, ok bool) {
	cfg, err := config.Load(g.home)
	if err != nil {
		return nil, "", g.fail(what, err, "Fix or remove the file"), false
	}
	c, addr, err = g.daemon(cfg)
	if err != nil {
		return nil, "", g.apiFail(what, addr, err), false
	}
	return c, addr, exitOK, true
}

// change applies a configuration change through the running daemon, or,
// when none runs, to config.json directly while holding the home lock so a
// daemon cannot start in the middle.
func (g *globals) change(viaAPI func(*web.Client) error, direct func(*config.Config) error) error {
	cfg, err := config.Load(g.home)
	if err != nil {
		return err
	}
	c, addr, err := g.daemon(cfg)
	if err == nil {
		err = viaAPI(c)
	}
	if !errors.Is(err, web.ErrNoDaemon) {
		return explainAPIError(g.home, addr, err)
	}
	unlock, err := platform.LockHome(g.home)
	if err != nil {
		return fmt.Errorf("%w (its API at %s did not answer)", err, apiAddr(g.home, cfg))
	}
	defer unlock()
	if cfg, err = config.Load(g.home); err != nil {
		return err
	}
	if err := direct(&cfg); err != nil {
		return err
	}
	return config.Save(g.home, cfg)
}

// apiFail prints the failure of a command that needs the daemon.
func (g *globals) apiFail(what, addr string, err error) int {
	if errors.Is(err, web.ErrNoDaemon) {
		return g.fail(what, fmt.Errorf("no ferry daemon is running for home %s; start it with `ferry --home %s serve`", g.home, shellQuote(g.home)), "")
	}
	return g.fail(what, explainAPIError(g.home, addr, err), "")
}

// explainAPIError turns a refused API key into advice.
func explainAPIError(home, addr string, err error) error {
	var apiErr *web.APIError
	if errors.As(err, &apiErr) && apiErr.Status == 401 {
		return fmt.Errorf("the daemon at %s refused the API key in %s; is it running with another home? Check the gui address in %s",
			addr, filepath.Join(home, web.APIKeyFile), config.Path(home))
	}
	return err
}

// callContext bounds a quick API call.
func callContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), callTimeout)
}

// shellQuote quotes s for a shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@=,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
