package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"ferry/web"
)

var pairUsage = usage{
	name:     "pair",
	synopsis: "[--folder ID]... [--ttl DURATION] [--json] | pair CODE [--addr HOST:PORT] [--into DIR] [--folder ID=PATH]... [--json]",
	help: "Pair this device with another one by a short code, instead of exchanging device IDs by hand.\n\n" +
		"Without CODE: show a pairing code (and its QR code) and wait until the other device joins with it.\n" +
		"The joining device is trusted and gets the folders named by --folder (all folders when none is named).\n" +
		"A code works once, and a wrong code burns it: make a new one.\n\n" +
		"With CODE: join the device that shows it, found on the local network (or at --addr). Its folders\n" +
		"are accepted into --folder ID=PATH, or else into a new directory DIR/ID for --into DIR (default\n" +
		"~/Ferry; DIR/ID-2 and so on when DIR/ID holds something). An offered folder with the ID of a folder\n" +
		"this device has is joined with it only when --folder ID=PATH names that folder's path: its files are\n" +
		"then shared with the other device. Otherwise it is left alone, and the output says so.\n\n" +
		"--json prints JSON lines instead: the offer (code, state, expiresAt, folders) when shown and again\n" +
		"once a device joined (state paired, peer, peerName); or what joining set up (device, name, folders,\n" +
		"declined, unconfirmed).",
}

// pairPoll is how often `ferry pair` asks the daemon whether someone joined.
const pairPoll = 250 * time.Millisecond

func runPair(g *globals, args []string) int {
	fs := newFlagSet("pair")
	var folders stringList
	fs.Var(&folders, "folder", "offer: a folder ID to share (repeatable); join: ID=PATH to accept a folder at PATH")
	ttl := fs.Duration("ttl", 10*time.Minute, "offer: how long the code stays valid")
	addr := fs.String("addr", "", "join: the other device's address (HOST:PORT), skipping discovery")
	into := fs.String("into", "", "join: put accepted folders under this directory (default ~/Ferry)")
	asJSON := jsonFlag(fs, "one object per line, see above")
	pos, code, ok := g.parse(pairUsage, fs, args, 0, 1)
	if !ok {
		return code
	}
	if len(pos) == 0 && (*addr != "" || *into != "") {
		return g.usageError(pairUsage, fs, errors.New("--addr and --into go with a CODE to join"))
	}
	var req web.JoinRequest
	if len(pos) == 1 {
		var err error
		if req, err = joinRequest(pos[0], *addr, *into, folders); err != nil {
			return g.usageError(pairUsage, fs, err)
		}
	}
	c, apiAddr, code, ok := g.mustDaemon("pair")
	if !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(pos) == 0 {
		return offerPairing(ctx, g, c, apiAddr, folders, *ttl, *asJSON)
	}
	return joinPairing(ctx, g, c, apiAddr, req, *asJSON)
}

// offerPairing shows a code and waits for the other device.
func offerPairing(ctx context.Context, g *globals, c *web.Client, apiAddr string, folders []string, ttl time.Duration, asJSON bool) int {
	callCtx, cancel := callContext()
	offer, err := c.CreateOffer(callCtx, web.OfferRequest{Folders: folders, TTL: ttl.String()})
	cancel()
	if err != nil {
		return g.apiFail("pair", apiAddr, err)
	}
	if asJSON {
		offer.QRSVG = ""
		g.printJSONLine(offer)
	} else {
		if qr, err := web.QRText(offer.Code); err == nil {
			fmt.Fprint(g.stdout, qr)
		}
		fmt.Fprintf(g.stdout, "\nPairing code:  %s\n\n", offer.Code)
		fmt.Fprintf(g.stdout, "On the other device run:  ferry pair %s\n", offer.Code)
		if len(offer.Folders) > 0 {
			fmt.Fprintf(g.stdout, "It will get:  %s\n", strings.Join(offer.Folders, ", "))
		}
		fmt.Fprintf(g.stdout, "Waiting until %s (Ctrl-C to cancel)...\n", localTime(offer.ExpiresAt))
	}
	for {
		select {
		case <-ctx.Done():
			cctx, cancel := callContext()
			c.CancelOffer(cctx)
			cancel()
			return g.fail("pair", errors.New("canceled; the code no longer works"), "")
		case <-time.After(pairPoll):
		}
		callCtx, cancel := callContext()
		cur, err := c.CurrentOffer(callCtx)
		cancel()
		if err != nil {
			return g.apiFail("pair", apiAddr, err)
		}
		if cur.Code != offer.Code {
			return g.fail("pair", errors.New("another pairing code replaced this one"), "")
		}
		switch cur.State {
		case web.OfferWaiting:
			continue
		case web.OfferPaired:
			if asJSON {
				cur.QRSVG = ""
				g.printJSONLine(cur)
				return exitOK
			}
			fmt.Fprintf(g.stdout, "Paired with %s (%s).\n", cur.Peer, orDash(cur.PeerName))
			return exitOK
		case web.OfferExpired:
			return g.fail("pair", errors.New("the code expired before a device joined"), "Run `ferry pair` again")
		case web.OfferFailed:
			return g.fail("pair", fmt.Errorf("%s; the code no longer works", orText(cur.Error, "a device tried a wrong code")), "Run `ferry pair` again")
		default:
			return g.fail("pair", fmt.Errorf("the code was %s", cur.State), "")
		}
	}
}

// joinRequest builds a join from the command line: --folder ID=PATH
// entries and the --into directory, both made absolute.
func joinRequest(code, addr, into string, folders []string) (web.JoinRequest, error) {
	req := web.JoinRequest{Code: code, Addr: addr, Folders: map[string]string{}}
	for _, f := range folders {
		id, path, ok := strings.Cut(f, "=")
		if !ok || id == "" || path == "" {
			return req, fmt.Errorf("--folder %q: want ID=PATH when joining", f)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return req, fmt.Errorf("--folder %s: %w", f, err)
		}
		req.Folders[id] = abs
	}
	if into == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return req, fmt.Errorf("no home directory for the default --into: %w", err)
		}
		into = filepath.Join(home, "Ferry")
	}
	abs, err := filepath.Abs(into)
	if err != nil {
		return req, fmt.Errorf("--into %s: %w", into, err)
	}
	req.Into = abs
	return req, nil
}

// joinPairing joins the device showing req.Code and says what was set up.
func joinPairing(ctx context.Context, g *globals, c *web.Client, apiAddr string, req web.JoinRequest, asJSON bool) int {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	res, err := c.Join(ctx, req)
	if err != nil {
		return g.apiFail("pair", apiAddr, err)
	}
	if asJSON {
		g.printJSONLine(res)
		return exitOK
	}
	fmt.Fprintf(g.stdout, "Paired with %s (%s).\n", res.Device, orDash(res.Name))
	for _, f := range res.Folders {
		fmt.Fprintf(g.stdout, "  folder %s -> %s\n", f.ID, f.Path)
	}
	for _, id := range res.Declined {
		fmt.Fprintf(g.stdout, "  folder %s declined (accept it with --folder %s=PATH next time)\n", id, id)
	}
	for _, f := range res.Unconfirmed {
		fmt.Fprintf(g.stdout, "  folder %s not joined: this device has a folder %s at %s (to sync that one with the other device, pair again with --folder %s)\n",
			f.ID, f.ID, f.Path, shellQuote(f.ID+"="+f.Path))
	}
	return exitOK
}

// localTime renders an RFC 3339 time in the local zone, or as given.
func localTime(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.Local().Format("15:04:05")
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
