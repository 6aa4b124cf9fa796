package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"ferry/engine/config"
	"ferry/platform"
	"ferry/proto"
	"ferry/proto/pair"
	"ferry/web"
)

const (
	// defaultOfferTTL is how long a pairing code works unless asked
	// otherwise; maxOfferTTL is the longest allowed.
	defaultOfferTTL = 10 * time.Minute
	minOfferTTL     = 10 * time.Second
	maxOfferTTL     = 24 * time.Hour
	// findOfferTimeout bounds the wait for an offer to be heard on the LAN.
	findOfferTimeout = 15 * time.Second
	// pairTimeout bounds one pairing exchange.
	pairTimeout = 30 * time.Second
)

// Bounds on pairing attempts. Anyone who hears an offer's number on the
// network can open an attempt, and each costs a CPace exchange and a Noise
// handshake, so attempts are capped at once and rate-limited when they
// open, in all and per source (an IPv4 address or an IPv6 /64). A refused
// opening is answered "busy", which a joiner retries. An honest pairing
// needs one attempt, or a few when its user retries; a joiner has at most
// pair.ProofTimeout to prove the code, so a stalled attempt holds its place
// for no longer.
const (
	maxPairAttempts          = 8               // attempts in progress at once
	maxPairAttemptsPerSource = 2               // of them from one source
	pairOpeningsPerSource    = 10              // attempts a source may open per pairWindow
	pairOpenings             = 60              // attempts all sources together may open per pairWindow
	pairWindow               = time.Minute     // the window of the two rates
	refuseTimeout            = 2 * time.Second // to read a refused opening and answer it
)

// pairing holds the current pairing offer; there is at most one. It keeps
// the offer's one guess: attempts find the offer by its number but only
// one at a time claims it, when its proof of the code has arrived; a wrong
// proof burns the offer, and an attempt that fails otherwise gives it back.
type pairing struct {
	mu    sync.Mutex
	offer *offer
	// Attempts in progress and the rates of new ones; made on first use.
	attempts  *gate
	perSource *rateLimiter
	all       *rateLimiter
}

// offer is a pairing offer and what became of it.
type offer struct {
	code    pair.Code
	folders []string
	expires time.Time
	state   string // a web.Offer* state
	// claimed says an attempt whose proof of the code arrived holds the
	// offer; canceled that the user canceled it meanwhile.
	claimed  bool
	canceled bool
	peer     proto.DeviceID
	name     string
	err      string
	timer    *time.Timer
	qr       string // the code as a QR code in SVG, made once
}

// CreateOffer implements web.Backend.
func (n *Node) CreateOffer(ctx context.Context, req web.OfferRequest) (web.Offer, error) {
	ttl := defaultOfferTTL
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d < minOfferTTL || d > maxOfferTTL {
			return web.Offer{}, web.BadRequest(fmt.Errorf("ttl %q: want a duration from %v to %v", req.TTL, minOfferTTL, maxOfferTTL))
		}
		ttl = d
	}
	folders, err := n.offeredFolders(req.Folders)
	if err != nil {
		return web.Offer{}, err
	}
	code, err := pair.NewCode(rand.Reader)
	if err != nil {
		return web.Offer{}, err
	}
	o := &offer{code: code, folders: folders, expires: n.opts.Now().Add(ttl), state: web.OfferWaiting}
	if o.qr, err = web.QRSVG(code.String()); err != nil {
		return web.Offer{}, err
	}
	p := &n.offers
	p.mu.Lock()
	if old := p.offer; old != nil && old.state == web.OfferWaiting {
		old.state = web.OfferCanceled
		old.timer.Stop()
	}
	p.offer = o
	o.timer = time.AfterFunc(ttl, func() { n.expireOffer(o) })
	view := o.view()
	p.mu.Unlock()
	n.announceOffer(code.Offer())
	n.log.Info("pairing offer made", "offer", code.Offer(), "folders", folders, "expires", o.expires.Format(time.RFC3339))
	return view, nil
}

// offeredFolders checks the folders to offer; none named means all.
func (n *Node) offeredFolders(ids []string) ([]string, error) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if len(ids) == 0 {
		out := []string{}
		for _, f := range n.cfg.Folders {
			out = append(out, f.ID)
		}
		return out, nil
	}
	for _, id := range ids {
		if _, ok := n.cfg.Folder(id); !ok {
			return nil, web.NotFound(fmt.Errorf("folder %q does not exist", id))
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(ids))), nil
}

// CurrentOffer implements web.Backend.
func (n *Node) CurrentOffer(ctx context.Context) (web.Offer, error) {
	p := &n.offers
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.offer == nil {
		return web.Offer{Folders: []string{}}, nil
	}
	return p.offer.view(), nil
}

// CancelOffer implements web.Backend.
func (n *Node) CancelOffer(ctx context.Context) error {
	p := &n.offers
	p.mu.Lock()
	o := p.offer
	switch {
	case o == nil || o.state != web.OfferWaiting:
	case o.claimed: // the attempt under way decides; it does not give the offer back
		o.canceled = true
	default:
		o.state = web.OfferCanceled
		o.timer.Stop()
	}
	p.mu.Unlock()
	n.announceOffer(0)
	return nil
}

func (n *Node) expireOffer(o *offer) {
	p := &n.offers
	p.mu.Lock()
	expired := o.state == web.OfferWaiting && !o.claimed
	if expired {
		o.state = web.OfferExpired
	}
	current := p.offer == o
	p.mu.Unlock()
	if expired && current {
		n.announceOffer(0)
		n.log.Info("pairing offer expired", "offer", o.code.Offer())
	}
}

// announceOffer sets the offer announced on the LAN and in the DHT; 0
// withdraws it.
func (n *Node) announceOffer(number uint32) {
	n.showOffer(number)
	if n.lan == nil {
		return
	}
	var offers []uint32
	if number != 0 {
		offers = []uint32{number}
	}
	if err := n.lan.SetOffers(offers); err != nil {
		n.log.Warn("cannot announce the pairing offer", "err", err)
	}
}

func (o *offer) view() web.Offer {
	v := web.Offer{
		Code: o.code.String(), State: o.state, ExpiresAt: o.expires.UTC().Format(time.RFC3339),
		Folders: slices.Clone(o.folders), PeerName: o.name, Error: o.err, QRSVG: o.qr,
	}
	if !o.peer.IsZero() {
		v.Peer = o.peer.String()
	}
	return v
}

// pairAttempt is one joiner's attempt at the current offer, as pair.Serve
// sees the offers (pair.Offers): it finds the offer by its number, and
// claims it once the joiner's proof of the code has arrived.
type pairAttempt struct {
	n       *Node
	found   *offer
	claimed bool
}

func (a *pairAttempt) Find(number uint32) (pair.Offer, error) {
	o, err := a.n.offers.find(number, a.n.opts.Now())
	if err != nil {
		return pair.Offer{}, err
	}
	a.found = o
	return pair.Offer{Code: o.code, Intro: a.n.offerIntro(o.folders)}, nil
}

func (a *pairAttempt) Claim(number uint32) error {
	if err := a.n.offers.claim(a.found, a.n.opts.Now()); err != nil {
		return err
	}
	a.claimed = true
	return nil
}

// find returns the current offer if it has number and can be tried. It
// does not use the offer up: an opening proves nothing.
func (p *pairing) find(number uint32, now time.Time) (*offer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.offer == nil || p.offer.code.Offer() != number {
		return nil, pair.ErrNoOffer
	}
	if err := p.triable(p.offer, now); err != nil {
		return nil, err
	}
	return p.offer, nil
}

// claim reserves o for checking one proof of its code, if it can still be
// tried and no other attempt holds it.
func (p *pairing) claim(o *offer, now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.triable(o, now); err != nil {
		return err
	}
	o.claimed = true
	return nil
}

// triable says whether o can be tried now: the current offer, waiting,
// unexpired and not held by another attempt. p.mu must be held.
func (p *pairing) triable(o *offer, now time.Time) error {
	switch {
	case o == nil || p.offer != o || o.state != web.OfferWaiting || !now.Before(o.expires):
		return pair.ErrNoOffer
	case o.claimed:
		return pair.ErrBusy
	}
	return nil
}

// settle records the end of the attempt that claimed o: paired on success,
// burnt by a wrong code (one guess per offer). Any other failure came after
// the joiner had proved the code, so the offer is given back, unless it
// was canceled or expired meanwhile. It reports whether o is the current
// offer and closed, so no longer to be announced.
func (p *pairing) settle(o *offer, res pair.Result, serveErr, trustErr error, now time.Time) (withdraw bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o.claimed = false
	switch {
	case serveErr == nil && trustErr != nil:
		o.state, o.err = web.OfferFailed, pairFailure(trustErr)
	case serveErr == nil:
		o.state, o.peer, o.name = web.OfferPaired, res.Peer, res.Intro.Name
	case errors.Is(serveErr, pair.ErrWrongCode):
		o.state, o.err = web.OfferFailed, pairFailure(serveErr)
	case o.state != web.OfferWaiting:
	case o.canceled:
		o.state = web.OfferCanceled
	case !now.Before(o.expires):
		o.state = web.OfferExpired
	}
	if o.state != web.OfferWaiting {
		o.timer.Stop()
	}
	return o.state != web.OfferWaiting && p.offer == o
}

// admit lets an opening from addr start a pairing attempt, unless that
// would break the bounds on attempts; leave ends the attempt.
func (p *pairing) admit(addr string, now time.Time) (leave func(), ok bool) {
	src := pendingSource(addr)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.attempts == nil {
		p.attempts = newGate(maxPairAttempts, maxPairAttemptsPerSource)
		p.perSource = newRateLimiter(pairOpeningsPerSource, pairWindow, maxRateSources)
		p.all = newRateLimiter(pairOpenings, pairWindow, 1)
	}
	leave, ok = p.attempts.enter(src)
	if !ok {
		return nil, false
	}
	if !p.perSource.allow(src, now) || !p.all.allow("", now) {
		leave()
		return nil, false
	}
	return leave, true
}

// offerIntro is what this device tells a joiner of an offer of folders.
func (n *Node) offerIntro(folders []string) pair.Intro {
	intro := n.intro()
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, id := range folders {
		if f, ok := n.cfg.Folder(id); ok {
			intro.Folders = append(intro.Folders, pair.Folder{ID: f.ID, Label: filepath.Base(f.Path)})
		}
	}
	return intro
}

// intro is what this device tells a device it pairs with.
func (n *Node) intro() pair.Intro {
	n.mu.RLock()
	defer n.mu.RUnlock()
	in := pair.Intro{Name: n.cfg.Name}
	for _, a := range n.listening {
		in.Addrs = append(in.Addrs, a.String())
	}
	return in
}

// pairing answers a device that joins with a code.
func (n *Node) pairing(ctx context.Context, nc net.Conn) {
	defer nc.Close()
	addr := nc.RemoteAddr().String()
	leave, ok := n.offers.admit(addr, n.opts.Now())
	if !ok {
		n.log.Debug("pairing attempt refused: too many attempts", "addr", addr)
		rctx, cancel := context.WithTimeout(ctx, refuseTimeout)
		defer cancel()
		pair.Refuse(rctx, nc)
		return
	}
	defer leave()
	ctx, cancel := context.WithTimeout(ctx, pairTimeout)
	defer cancel()
	a := &pairAttempt{n: n}
	res, err := pair.Serve(ctx, nc, n.key, a)
	switch {
	case a.found == nil:
		n.log.Info("pairing attempt for an unknown offer", "addr", addr, "err", err)
		return
	case !a.claimed:
		n.log.Info("pairing attempt ended before a proof of the code; the offer stays open", "addr", addr, "err", err)
		return
	}
	var trustErr error
	if err == nil {
		trustErr = n.trustPaired(res, nc.RemoteAddr(), a.found.folders)
	}
	if n.offers.settle(a.found, res, err, trustErr, n.opts.Now()) {
		n.announceOffer(0)
	}
	switch {
	case errors.Is(err, pair.ErrWrongCode):
		n.log.Warn("pairing failed: a wrong code; the offer is burnt", "addr", addr, "err", err)
	case err != nil:
		n.log.Warn("pairing failed after the other device proved the code", "addr", addr, "err", err)
	case trustErr != nil:
		n.log.Warn("pairing failed", "addr", addr, "err", trustErr)
	default:
		n.log.Info("paired", "device", res.Peer.String(), "name", res.Intro.Name, "folders", res.Intro.Folders)
	}
}

// pairFailure says in plain words why a pairing failed.
func pairFailure(err error) string {
	switch {
	case errors.Is(err, pair.ErrWrongCode):
		return "a device tried a wrong code"
	case errors.Is(err, context.DeadlineExceeded):
		return "the other device stopped answering"
	}
	return err.Error()
}

// trustPaired trusts the device a pairing introduced and shares with it the
// offered folders it accepted.
func (n *Node) trustPaired(res pair.Result, remote net.Addr, offered []string) error {
	var accepted []string
	for _, f := range res.Intro.Folders {
		if !slices.Contains(offered, f.ID) {
			return fmt.Errorf("device accepted folder %q, which was not offered", f.ID)
		}
		accepted = append(accepted, f.ID)
	}
	return n.changeConfig(func(c *config.Config) error {
		if err := trustDevice(c, res.Peer, res.Intro, remote); err != nil {
			return err
		}
		for _, id := range accepted {
			if err := c.ShareFolder(id, res.Peer); err != nil {
				return err
			}
		}
		return nil
	})
}

// trustDevice adds dev to c, or updates its name and addresses if it is
// already trusted. Addresses without a host get the host dev was seen at.
func trustDevice(c *config.Config, dev proto.DeviceID, in pair.Intro, remote net.Addr) error {
	addrs := peerAddrs(in.Addrs, remote)
	if d, ok := c.Device(dev); ok {
		i := slices.IndexFunc(c.Devices, func(x config.Device) bool { return x.ID == dev })
		d.Name = in.Name
		for _, a := range addrs {
			if !slices.Contains(d.Addrs, a) {
				d.Addrs = append(d.Addrs, a)
			}
		}
		c.Devices[i] = d
		return nil
	}
	return c.AddDevice(config.Device{ID: dev, Name: in.Name, Addrs: addrs})
}

// peerAddrs turns the listen addresses a device announced into addresses to
// dial: an unspecified or missing host becomes the host it was seen at.
func peerAddrs(announced []string, remote net.Addr) []string {
	seen := ""
	if ta, ok := remote.(*net.TCPAddr); ok {
		seen = (&net.IPAddr{IP: ta.IP, Zone: ta.Zone}).String() // keeps an IPv6 link-local zone
	}
	var out []string
	for _, a := range announced {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			if seen == "" {
				continue
			}
			host = seen
		}
		if addr := net.JoinHostPort(host, port); !slices.Contains(out, addr) {
			out = append(out, addr)
		}
	}
	return out
}

// Waits between the attempts of a join that the offering device answers
// "busy", doubling from the first to the last, within pairTimeout.
const (
	joinRetryMin = 500 * time.Millisecond
	joinRetryMax = 4 * time.Second
)

// Join implements web.Backend.
func (n *Node) Join(ctx context.Context, req web.JoinRequest) (web.JoinResult, error) {
	code, err := pair.ParseCode(req.Code)
	if err != nil {
		return web.JoinResult{}, web.BadRequest(err)
	}
	addrs, err := n.findOffer(ctx, code.Offer(), req.Addr)
	if err != nil {
		return web.JoinResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, pairTimeout)
	defer cancel()
	var j joined
	for wait := joinRetryMin; ; wait = min(2*wait, joinRetryMax) {
		if j, err = n.joinOnce(ctx, addrs, code, req); !errors.Is(err, pair.ErrBusy) {
			break
		}
		n.log.Info("the offering device is busy with other pairing attempts; trying again", "in", wait)
		select {
		case <-ctx.Done():
			return web.JoinResult{}, fmt.Errorf("pairing failed: %w; try again in a minute", err)
		case <-time.After(wait):
		}
	}
	if err != nil {
		if errors.Is(err, pair.ErrWrongCode) {
			return web.JoinResult{}, web.BadRequest(errors.New("pairing failed: the code is wrong (the other device has burnt it; make a new one there)"))
		}
		if errors.Is(err, pair.ErrNoOffer) {
			return web.JoinResult{}, web.BadRequest(errors.New("pairing failed: the other device has no such offer (expired, used or canceled)"))
		}
		return web.JoinResult{}, fmt.Errorf("pairing failed: %w", err)
	}
	if err := n.applyJoin(j.res, j.remote, j.plan); err != nil {
		return web.JoinResult{}, err
	}
	n.log.Info("paired", "device", j.res.Peer.String(), "name", j.res.Intro.Name)
	if len(j.plan.unconfirmed) > 0 {
		n.log.Info("offered folders that exist here were not joined; the join did not confirm them", "folders", j.plan.unconfirmed)
	}
	out := web.JoinResult{
		Device: j.res.Peer.String(), Name: j.res.Intro.Name,
		Folders: j.plan.accepted, Declined: j.plan.declined, Unconfirmed: j.plan.unconfirmed,
	}
	return out, nil
}

// joined is what one pairing exchange of a join brought.
type joined struct {
	res    pair.Result
	remote net.Addr
	plan   joinPlan
}

// maxWrongProofs bounds the offers one join tries its code against when
// several devices show its number: a stranger's offer of the same number
// (see discovery/dht) fails the proof and the join goes on, but a mistyped
// code must not burn many strangers' offers.
const maxWrongProofs = 3

// joinOnce runs a pairing exchange with each address in turn until one
// pairs: an address that cannot be reached or has no such offer costs
// nothing, one whose offer the code does not open counts against
// maxWrongProofs. The error is the most telling of those met: a wrong code
// over busy over no such offer over a failed connection.
func (n *Node) joinOnce(ctx context.Context, addrs []string, code pair.Code, req web.JoinRequest) (joined, error) {
	var worst error
	rank := func(err error) int {
		switch {
		case errors.Is(err, pair.ErrWrongCode):
			return 3
		case errors.Is(err, pair.ErrBusy):
			return 2
		case errors.Is(err, pair.ErrNoOffer):
			return 1
		}
		return 0
	}
	wrong := 0
	for _, a := range addrs {
		j, err := n.joinAt(ctx, a, code, req)
		if err == nil {
			return j, nil
		}
		if worst == nil || rank(err) >= rank(worst) {
			worst = err
		}
		if errors.Is(err, pair.ErrWrongCode) {
			if wrong++; wrong >= maxWrongProofs {
				break
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	if worst == nil {
		worst = errors.New("no address to try")
	}
	return joined{}, worst
}

// joinAt connects to addr and runs one pairing exchange there.
func (n *Node) joinAt(ctx context.Context, addr string, code pair.Code, req web.JoinRequest) (joined, error) {
	d := net.Dialer{Timeout: handshakeTimeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return joined{}, fmt.Errorf("connect to the offering device: %w", err)
	}
	defer nc.Close()
	j := joined{remote: nc.RemoteAddr()}
	j.res, err = pair.Join(ctx, nc, n.key, code, func(offered pair.Intro) (pair.Intro, error) {
		var err error
		if j.plan, err = n.planJoin(offered, req); err != nil {
			return pair.Intro{}, err
		}
		in := n.intro()
		for _, f := range j.plan.accepted {
			in.Folders = append(in.Folders, pair.Folder{ID: f.ID})
		}
		return in, nil
	})
	return j, err
}

// findOffer returns where devices showing offer number listen: addr if
// given, else those heard on the local network first, then those found
// in the DHT. It waits for the local network up to findOfferTimeout, and
// returns as soon as it hears the offer there, or once the DHT lookup
// found some and the local network has nothing.
func (n *Node) findOffer(ctx context.Context, number uint32, addr string) ([]string, error) {
	if addr != "" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, web.BadRequest(fmt.Errorf("address %q: want HOST:PORT", addr))
		}
		return []string{addr}, nil
	}
	if n.lan == nil && !n.dhtOn() {
		return nil, web.BadRequest(errors.New("local and internet discovery are off; give the other device's address (HOST:PORT)"))
	}
	fctx, cancel := context.WithTimeout(ctx, findOfferTimeout)
	defer cancel()
	lanFound := make(chan []string, 1)
	dhtFound := make(chan []string, 1)
	if n.lan != nil {
		go func() {
			addrs, _, _ := n.lan.FindOffer(fctx, number)
			lanFound <- addrs
		}()
	} else {
		lanFound <- nil
	}
	if n.dhtOn() {
		// An offer just shown may take a moment to reach the DHT nodes
		// the lookup asks: look again until the wait is over.
		go func() {
			for {
				found := n.lookupOffer(fctx, number)
				if len(found) > 0 || fctx.Err() != nil {
					dhtFound <- found
					return
				}
				select {
				case <-fctx.Done():
				case <-time.After(time.Second):
				}
			}
		}()
	} else {
		dhtFound <- nil
	}
	var local, far []string
	lanDone, dhtDone := false, false
	for !lanDone || !dhtDone {
		select {
		case local = <-lanFound:
			lanDone = true
		case far = <-dhtFound:
			dhtDone = true
		}
		if len(local) > 0 || (len(far) > 0 && (lanDone || n.lan == nil)) {
			break
		}
		if len(far) > 0 {
			// Give the local network a moment: an offer heard there is
			// the likelier one.
			select {
			case local = <-lanFound:
			case <-time.After(time.Second):
			}
			break
		}
	}
	out := slices.Clone(local)
	for _, a := range far {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, web.NotFound(fmt.Errorf("no device on the local network or in the DHT shows a code starting with %d (waited %v); is it still waiting? Otherwise give its address (HOST:PORT)", number, findOfferTimeout))
	}
	return out, nil
}

// joinPlan is which offered folders a join accepts, and where they go.
type joinPlan struct {
	accepted    []web.JoinedFolder
	declined    []string
	unconfirmed []web.JoinedFolder // offered folders that exist here, not confirmed: not joined
	existing    map[string]bool    // accepted folders that exist here already, confirmed
	fresh       map[string]bool    // accepted folders put in a new directory, by ID
}

// maxDirTries bounds the directories tried for a folder under Into: ID,
// then ID-2 up to ID-99.
const maxDirTries = 99

// planJoin decides, for each offered folder, where it goes: an explicit
// path, else a new directory under req.Into. A folder that exists here with
// the same ID is joined where it is only when the request confirms it (see
// web.JoinRequest); otherwise it is left alone and listed as unconfirmed.
func (n *Node) planJoin(offered pair.Intro, req web.JoinRequest) (joinPlan, error) {
	plan := joinPlan{
		accepted: []web.JoinedFolder{}, declined: []string{}, unconfirmed: []web.JoinedFolder{},
		existing: map[string]bool{}, fresh: map[string]bool{},
	}
	taken := map[string]bool{} // paths this plan uses
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, f := range offered.Folders {
		// The ID names a directory under req.Into: one from the other
		// device must not lead anywhere else ("../x").
		if err := config.CheckFolderID(f.ID); err != nil {
			return plan, fmt.Errorf("the other device offered a folder with an unusable ID: %w", err)
		}
		path := req.Folders[f.ID]
		if cur, ok := n.cfg.Folder(f.ID); ok {
			switch {
			case path != "" && filepath.Clean(path) != cur.Path:
				return plan, fmt.Errorf("folder %q already exists here at %s", f.ID, cur.Path)
			case path != "" || slices.Contains(req.Existing, f.ID):
				plan.existing[f.ID] = true
				plan.accepted = append(plan.accepted, web.JoinedFolder{ID: f.ID, Path: cur.Path})
			default:
				plan.unconfirmed = append(plan.unconfirmed, web.JoinedFolder{ID: f.ID, Path: cur.Path})
			}
			continue
		}
		if path == "" && req.Into != "" {
			var err error
			if path, err = newDirUnder(req.Into, f.ID, taken); err != nil {
				return plan, err
			}
			plan.fresh[f.ID] = true
		}
		if path == "" {
			plan.declined = append(plan.declined, f.ID)
			continue
		}
		path = filepath.Clean(path)
		taken[path] = true
		plan.accepted = append(plan.accepted, web.JoinedFolder{ID: f.ID, Path: path})
	}
	return plan, nil
}

// newDirUnder picks a new directory for folder id under into: into/id, or
// into/id-2 and so on when that is taken, here or by another folder of the
// same join.
func newDirUnder(into, id string, taken map[string]bool) (string, error) {
	for i := 1; i <= maxDirTries; i++ {
		path := filepath.Join(into, id)
		if i > 1 {
			path = fmt.Sprintf("%s-%d", path, i)
		}
		if !taken[path] && freeDir(path) {
			return path, nil
		}
	}
	return "", fmt.Errorf("folder %q: %s/%s and %d more names are all taken; give it a path", id, into, id, maxDirTries-1)
}

// freeDir reports whether path can become a new folder's directory:
// nothing is there, or an empty directory (not a link to one).
func freeDir(path string) bool {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil || !fi.IsDir() {
		return false
	}
	entries, err := os.ReadDir(path)
	return err == nil && len(entries) == 0
}

// applyJoin trusts the device joined and adds the accepted folders, shared
// with it. The directories it picked must still be free, and the folders
// confirmed to be joined still where they were.
func (n *Node) applyJoin(res pair.Result, remote net.Addr, plan joinPlan) error {
	for _, f := range plan.accepted {
		if err := config.CheckHomeApart(f.Path, n.opts.Home); err != nil {
			return fmt.Errorf("folder %s: %w", f.ID, err)
		}
		if plan.fresh[f.ID] && !freeDir(f.Path) {
			return fmt.Errorf("folder %s: %s was taken meanwhile; pair again", f.ID, f.Path)
		}
	}
	for _, f := range plan.accepted {
		if !plan.existing[f.ID] {
			if err := os.MkdirAll(f.Path, 0o755); err != nil {
				return fmt.Errorf("make folder %s: %w", f.ID, err)
			}
			if err := platform.InitFolder(f.Path); err != nil {
				return fmt.Errorf("make folder %s: %w", f.ID, err)
			}
		}
	}
	return n.changeConfig(func(c *config.Config) error {
		if err := trustDevice(c, res.Peer, res.Intro, remote); err != nil {
			return err
		}
		for _, f := range plan.accepted {
			if plan.existing[f.ID] {
				if cur, ok := c.Folder(f.ID); !ok || cur.Path != f.Path {
					return fmt.Errorf("folder %s changed while pairing; pair again", f.ID)
				}
			} else if _, err := c.AddFolder(config.Folder{ID: f.ID, Path: f.Path}); err != nil {
				return err
			}
			if err := c.ShareFolder(f.ID, res.Peer); err != nil {
				return err
			}
		}
		return nil
	})
}

// IgnoreDevice implements web.Backend.
func (n *Node) IgnoreDevice(ctx context.Context, id string) error {
	dev, err := proto.ParseDeviceID(id)
	if err != nil {
		return web.BadRequest(err)
	}
	return n.changeConfig(func(c *config.Config) error { return c.IgnoreDevice(dev) })
}
