package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"filippo.io/cpace"

	"ferry/engine/config"
	"ferry/platform"
	"ferry/proto/noise"
	"ferry/proto/pair"
	"ferry/web"
)

// offerNode is a node that is not running, enough to make and take offers.
func offerNode(t *testing.T, now *time.Time) *Node {
	t.Helper()
	cfg := config.Default()
	cfg.Name = "a"
	cfg.Folders = []config.Folder{{ID: "docs", Path: "/d"}, {ID: "music", Path: "/m"}}
	key, err := noise.GenerateKeypair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Node{
		opts: Options{Now: func() time.Time { return *now }},
		log:  slog.New(slog.DiscardHandler), cfg: cfg, key: key, id: key.ID(),
	}
}

func TestOfferLifecycle(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	n := offerNode(t, &now)
	ctx := context.Background()
	if _, err := n.CreateOffer(ctx, web.OfferRequest{Folders: []string{"nope"}}); err == nil {
		t.Fatal("an offer of a missing folder was made")
	}
	if _, err := n.CreateOffer(ctx, web.OfferRequest{TTL: "1s"}); err == nil {
		t.Fatal("an offer shorter than the minimum was made")
	}
	v, err := n.CreateOffer(ctx, web.OfferRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Folders, []string{"docs", "music"}) || v.State != web.OfferWaiting || v.QRSVG == "" {
		t.Fatalf("offer %+v: want both folders, waiting, with a QR code", v)
	}
	code, err := pair.ParseCode(v.Code)
	if err != nil {
		t.Fatal(err)
	}
	p := &n.offers
	if _, err := p.find(code.Offer()+1, now); !errors.Is(err, pair.ErrNoOffer) {
		t.Fatalf("find by another number: %v", err)
	}
	o, err := p.find(code.Offer(), now)
	if err != nil || o.code != code || o.state != web.OfferWaiting {
		t.Fatalf("find: %+v, %v", o, err)
	}
	if _, err := p.find(code.Offer(), now); err != nil {
		t.Fatalf("an opening used the offer up: %v", err)
	}
	po, err := (&pairAttempt{n: n}).Find(code.Offer())
	if err != nil || po.Code != code || len(po.Intro.Folders) != 2 || po.Intro.Name != "a" {
		t.Fatalf("offer handed to an attempt: %+v, %v", po, err)
	}
	// One attempt at a time holds the offer, from its proof on.
	if err := p.claim(o, now); err != nil {
		t.Fatal(err)
	}
	if err := p.claim(o, now); !errors.Is(err, pair.ErrBusy) {
		t.Fatalf("a second claim: %v, want ErrBusy", err)
	}
	if _, err := p.find(code.Offer(), now); !errors.Is(err, pair.ErrBusy) {
		t.Fatalf("find of a claimed offer: %v, want ErrBusy", err)
	}
	// A failure after the proof gives the offer back.
	if p.settle(o, pair.Result{}, errors.New("the joiner went away"), nil, now) || o.state != web.OfferWaiting {
		t.Fatalf("after a failure past the proof: %s", o.state)
	}
	if err := p.claim(o, now); err != nil {
		t.Fatalf("claim after the offer came back: %v", err)
	}
	// Canceling it while an attempt holds it waits for the attempt, which
	// then does not give it back.
	if err := n.CancelOffer(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _ := n.CurrentOffer(ctx); cur.State != web.OfferWaiting {
		t.Fatalf("canceling an offer that is being used changed it to %s", cur.State)
	}
	if !p.settle(o, pair.Result{}, errors.New("the joiner went away"), nil, now) || o.state != web.OfferCanceled {
		t.Fatalf("a canceled offer came back as %s", o.state)
	}

	// A wrong code burns an offer.
	v, err = n.CreateOffer(ctx, web.OfferRequest{})
	if err != nil {
		t.Fatal(err)
	}
	code, _ = pair.ParseCode(v.Code)
	o, _ = p.find(code.Offer(), now)
	if err := p.claim(o, now); err != nil {
		t.Fatal(err)
	}
	if !p.settle(o, pair.Result{}, fmt.Errorf("serve: %w", pair.ErrWrongCode), nil, now) || o.state != web.OfferFailed {
		t.Fatalf("after a wrong code: %s", o.state)
	}
	if _, err := p.find(code.Offer(), now); !errors.Is(err, pair.ErrNoOffer) {
		t.Fatalf("find after a wrong code: %v", err)
	}

	// A new offer replaces the old; it expires by the clock.
	v2, err := n.CreateOffer(ctx, web.OfferRequest{Folders: []string{"music"}, TTL: "1m"})
	if err != nil {
		t.Fatal(err)
	}
	code2, _ := pair.ParseCode(v2.Code)
	o2, _ := p.find(code2.Offer(), now)
	now = now.Add(time.Minute)
	if _, err := p.find(code2.Offer(), now); !errors.Is(err, pair.ErrNoOffer) {
		t.Fatalf("find of an expired offer: %v", err)
	}
	if err := p.claim(o2, now); !errors.Is(err, pair.ErrNoOffer) {
		t.Fatalf("claim of an expired offer: %v", err)
	}
	if err := n.CancelOffer(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _ := n.CurrentOffer(ctx); cur.State != web.OfferCanceled || cur.Code != v2.Code {
		t.Fatalf("after cancel: %+v", cur)
	}
}

func TestPeerAddrs(t *testing.T) {
	remote := &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 40000}
	got := peerAddrs([]string{"0.0.0.0:22110", "[::]:22111", ":22112", "192.0.2.7:22110", "bogus", "0.0.0.0:22110"}, remote)
	want := []string{"10.1.2.3:22110", "10.1.2.3:22111", "10.1.2.3:22112", "192.0.2.7:22110"}
	if !slices.Equal(got, want) {
		t.Fatalf("peerAddrs = %q, want %q", got, want)
	}
	linkLocal := &net.TCPAddr{IP: net.ParseIP("fe80::2"), Zone: "eth1", Port: 40000}
	if got := peerAddrs([]string{"[::]:22110"}, linkLocal); !slices.Equal(got, []string{"[fe80::2%eth1]:22110"}) {
		t.Fatalf("peerAddrs over IPv6 link-local = %q, want the zone kept", got)
	}
}

func TestPlanJoin(t *testing.T) {
	now := time.Now()
	n := offerNode(t, &now) // has docs at /d
	into := t.TempDir()
	offered := pair.Intro{Folders: []pair.Folder{{ID: "docs"}, {ID: "photos"}, {ID: "notes"}}}
	// An offered folder with the ID of one here is not joined unasked.
	plan, err := n.planJoin(offered, web.JoinRequest{Folders: map[string]string{"photos": "/p"}, Into: into})
	if err != nil {
		t.Fatal(err)
	}
	want := []web.JoinedFolder{{ID: "photos", Path: "/p"}, {ID: "notes", Path: filepath.Join(into, "notes")}}
	if !slices.Equal(plan.accepted, want) || !slices.Equal(plan.unconfirmed, []web.JoinedFolder{{ID: "docs", Path: "/d"}}) || plan.existing["docs"] {
		t.Fatalf("plan %+v", plan)
	}
	// Confirmed, by its ID or by its own path, it is joined where it is.
	for _, req := range []web.JoinRequest{{Existing: []string{"docs"}}, {Folders: map[string]string{"docs": "/d/"}}} {
		plan, err := n.planJoin(offered, req)
		if err != nil || !slices.Equal(plan.accepted, []web.JoinedFolder{{ID: "docs", Path: "/d"}}) || !plan.existing["docs"] || len(plan.unconfirmed) != 0 {
			t.Fatalf("request %+v: plan %+v, %v", req, plan, err)
		}
	}
	plan, _ = n.planJoin(offered, web.JoinRequest{})
	if !slices.Equal(plan.declined, []string{"photos", "notes"}) || len(plan.unconfirmed) != 1 || len(plan.accepted) != 0 {
		t.Fatalf("without paths: %+v", plan)
	}
	if _, err := n.planJoin(offered, web.JoinRequest{Folders: map[string]string{"docs": "/elsewhere"}}); err == nil {
		t.Fatal("an existing folder was moved by a join")
	}
	for _, id := range []string{"../../etc", "..", "a/b", "/abs"} {
		hostile := pair.Intro{Folders: []pair.Folder{{ID: id}}}
		if plan, err := n.planJoin(hostile, web.JoinRequest{Into: "/sync"}); err == nil {
			t.Errorf("offered folder %q accepted as %+v", id, plan.accepted)
		}
	}
}

// TestPlanJoinNewDirectories: a folder put under Into gets a directory of
// its own: one that holds anything already is passed over.
func TestPlanJoinNewDirectories(t *testing.T) {
	now := time.Now()
	n := offerNode(t, &now)
	into := t.TempDir()
	for _, d := range []string{"notes", "notes-2", "photos"} {
		if err := os.Mkdir(filepath.Join(into, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"notes/mine.txt", "notes-2/mine.txt", "songs"} {
		if err := os.WriteFile(filepath.Join(into, f), []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(t.TempDir(), filepath.Join(into, "links")); err != nil {
		t.Fatal(err)
	}
	offered := pair.Intro{Folders: []pair.Folder{{ID: "notes"}, {ID: "notes-3"}, {ID: "photos"}, {ID: "songs"}, {ID: "links"}}}
	plan, err := n.planJoin(offered, web.JoinRequest{Into: into})
	if err != nil {
		t.Fatal(err)
	}
	want := []web.JoinedFolder{
		{ID: "notes", Path: filepath.Join(into, "notes-3")},     // notes and notes-2 hold files
		{ID: "notes-3", Path: filepath.Join(into, "notes-3-2")}, // notes-3 went to notes
		{ID: "photos", Path: filepath.Join(into, "photos")},     // empty: used
		{ID: "songs", Path: filepath.Join(into, "songs-2")},     // a file
		{ID: "links", Path: filepath.Join(into, "links-2")},     // a link
	}
	if !slices.Equal(plan.accepted, want) {
		t.Fatalf("accepted %+v\nwant %+v", plan.accepted, want)
	}
}

// testNode is a running node in a home of its own, listening on loopback.
type testNode struct {
	*Node
	addr string // its device listener
	api  *web.Client
}

// startNode runs a node named name with folders (ID to path, each made
// and marked) until the test ends.
func startNode(t testing.TB, name string, folders map[string]string) *testNode {
	t.Helper()
	return startNodeWith(t, name, folders, nil)
}

// startNodeWith is startNode with options changed by edit, if not nil.
func startNodeWith(t testing.TB, name string, folders map[string]string, edit func(*Options)) *testNode {
	t.Helper()
	home := t.TempDir()
	cfg := config.Default()
	cfg.Name = name
	for id, path := range folders {
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := platform.InitFolder(path); err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.AddFolder(config.Folder{ID: id, Path: path}); err != nil {
			t.Fatal(err)
		}
	}
	if err := config.Save(home, cfg); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	opts := Options{
		Home: home, Listen: []string{"127.0.0.1:0"}, GUI: "127.0.0.1:0", NoLAN: true,
		Logger: slog.New(slog.DiscardHandler), Ready: func(gui string) { ready <- gui },
	}
	if edit != nil {
		edit(&opts)
	}
	n, cleanup, err := open(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		cleanup()
	})
	var gui string
	select {
	case gui = <-ready:
	case err := <-done:
		t.Fatalf("node %s: %v", name, err)
	}
	key, err := web.LoadOrCreateAPIKey(home)
	if err != nil {
		t.Fatal(err)
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return &testNode{Node: n, addr: n.listening[0].String(), api: web.NewClient(gui, key)}
}

// offerCode makes an offer on n and returns its code.
func offerCode(t *testing.T, n *testNode, folders ...string) pair.Code {
	t.Helper()
	v, err := n.CreateOffer(t.Context(), web.OfferRequest{Folders: folders})
	if err != nil {
		t.Fatal(err)
	}
	code, err := pair.ParseCode(v.Code)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// waitOffer waits until n's current offer is in state, and returns it.
func waitOffer(t *testing.T, n *testNode, state string) web.Offer {
	t.Helper()
	var v web.Offer
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		var err error
		if v, err = n.CurrentOffer(t.Context()); err != nil {
			t.Fatal(err)
		}
		if v.State == state {
			return v
		}
	}
	t.Fatalf("the offer is %s (%s), want %s", v.State, v.Error, state)
	return v
}

// joinCode joins the offer at addr with code as a device with a new key
// that accepts no folders and announces no address, so that the offerer
// never dials it.
func joinCode(t *testing.T, addr string, code string) (pair.Result, noise.Keypair, error) {
	t.Helper()
	c, err := pair.ParseCode(code)
	if err != nil {
		t.Fatal(err)
	}
	key, err := noise.GenerateKeypair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nc := dialFrom(t, "127.0.0.1", addr)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := pair.Join(ctx, nc, key, c, func(pair.Intro) (pair.Intro, error) { return pair.Intro{Name: "joiner"}, nil })
	return res, key, err
}

// opening is a joiner's opening for offer number, as anyone who heard the
// number can send: its CPace message is random bytes, or with valid a
// valid message made with a made-up code.
func opening(t *testing.T, number uint32, valid bool) []byte {
	t.Helper()
	body := append([]byte("ferry-pair"), 1)
	body = binary.BigEndian.AppendUint32(body, number)
	msgA := make([]byte, 48)
	rand.Read(msgA)
	if valid {
		var err error
		if msgA, _, err = cpace.Start("made-up", cpace.NewContextInfo("x", "y", nil)); err != nil {
			t.Fatal(err)
		}
	}
	body = append(body, msgA...)
	return append([]byte{1, 0, byte(len(body))}, body...)
}

// dialFrom connects to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

// TestPairingOpeningsProveNothing: openings with the offer's number and
// random bytes, as a flood sends them, leave the offer open, and the device
// with the code joins afterwards.
func TestPairingOpeningsProveNothing(t *testing.T) {
	a := startNode(t, "a", map[string]string{"docs": filepath.Join(t.TempDir(), "docs")})
	code := offerCode(t, a, "docs")
	garbage := make([]byte, 512)
	rand.Read(garbage)
	for i := range 6 {
		nc := dialFrom(t, "127.0.0.2", a.addr)
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		nc.Write(opening(t, code.Offer(), i%3 == 0))
		if i%2 == 0 {
			nc.Read(make([]byte, 256))
			nc.Write(garbage)
			io.Copy(io.Discard, nc)
		}
		nc.Close()
	}
	if v, _ := a.CurrentOffer(t.Context()); v.State != web.OfferWaiting {
		t.Fatalf("after openings of garbage the offer is %s (%s)", v.State, v.Error)
	}
	res, key, err := joinCode(t, a.addr, code.String())
	if err != nil {
		t.Fatalf("join after the garbage: %v", err)
	}
	if res.Peer != a.id || len(res.Intro.Folders) != 1 || res.Intro.Folders[0].ID != "docs" {
		t.Fatalf("join: %+v", res)
	}
	if v := waitOffer(t, a, web.OfferPaired); v.Peer != key.ID().String() || v.PeerName != "joiner" {
		t.Fatalf("offer after the join: %+v", v)
	}
}

// TestPairingWrongCodeBurnsOffer: a wrong code is the one guess an offer
// allows; the right code does not work afterwards.
func TestPairingWrongCodeBurnsOffer(t *testing.T) {
	a := startNode(t, "a", nil)
	code := offerCode(t, a)
	_, words, _ := strings.Cut(code.String(), "-")
	var wrong string
	for wrong == "" {
		other, err := pair.NewCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if _, w, _ := strings.Cut(other.String(), "-"); w != words {
			wrong = fmt.Sprintf("%d-%s", code.Offer(), w)
		}
	}
	if _, _, err := joinCode(t, a.addr, wrong); !errors.Is(err, pair.ErrWrongCode) {
		t.Fatalf("join with a wrong code: %v", err)
	}
	waitOffer(t, a, web.OfferFailed)
	if _, _, err := joinCode(t, a.addr, code.String()); !errors.Is(err, pair.ErrNoOffer) {
		t.Fatalf("join with the right code after a wrong one: %v", err)
	}
}

// TestPairingFloodIsBounded: a flood of openings from one source gets at
// most a few attempts, each holding its place until its deadline, and is
// answered "busy" beyond that, while the device with the code joins from
// another source.
func TestPairingFloodIsBounded(t *testing.T) {
	a := startNode(t, "a", nil)
	code := offerCode(t, a)
	const flood = 30
	var answers [flood][]byte
	var wg sync.WaitGroup
	for i := range flood {
		nc := dialFrom(t, "127.0.0.2", a.addr)
		defer nc.Close() // held: an attempt that got in keeps its place
		hello := opening(t, code.Offer(), true)
		wg.Go(func() {
			nc.SetDeadline(time.Now().Add(20 * time.Second)) // generous: a loaded machine answers late
			nc.Write(hello)
			buf := make([]byte, 4)
			if _, err := io.ReadFull(nc, buf); err == nil {
				answers[i] = buf
			}
		})
	}
	wg.Wait()
	// Past the busy answers, the listener's gate may close openings from
	// the source unanswered while maxUnauthenticatedPerAddr of them are
	// held at once: each is refused one way or the other.
	busy, replied, closed := 0, 0, 0
	for _, ans := range answers {
		switch {
		case slices.Equal(ans, []byte{5, 0, 1, 5}): // a reject: busy
			busy++
		case len(ans) == 4 && slices.Equal(ans[:3], []byte{2, 0, 32}): // the CPace reply: the attempt is on
			replied++
		case ans == nil:
			closed++
		}
	}
	if replied != maxPairAttemptsPerSource || busy+closed != flood-replied || closed > flood-maxUnauthenticatedPerAddr {
		t.Fatalf("of %d openings from one source, %d went on, %d were refused busy and %d closed; want %d, and the rest refused (at most %d closed)",
			flood, replied, busy, closed, maxPairAttemptsPerSource, flood-maxUnauthenticatedPerAddr)
	}
	if _, _, err := joinCode(t, a.addr, code.String()); err != nil {
		t.Fatalf("join during the flood: %v", err)
	}
	waitOffer(t, a, web.OfferPaired)
}

// TestPairAdmit: attempts are capped at once, per source and in all, and
// rate-limited per source and in all over pairWindow.
func TestPairAdmit(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var p pairing
	var leaves []func()
	admit := func(addr string) bool {
		leave, ok := p.admit(addr, now)
		if ok {
			leaves = append(leaves, leave)
		}
		return ok
	}
	if !admit("10.0.0.1:1") || !admit("10.0.0.1:2") || admit("10.0.0.1:3") {
		t.Fatalf("want %d attempts at once from one source", maxPairAttemptsPerSource)
	}
	for _, l := range leaves {
		l()
	}
	leaves = nil
	for i := 2; i < pairOpeningsPerSource; i++ {
		if !admit("10.0.0.1:1") {
			t.Fatalf("opening %d of a source refused", i+1)
		}
		leaves[len(leaves)-1]()
	}
	if admit("10.0.0.1:1") {
		t.Fatalf("opening %d of a source within %v admitted", pairOpeningsPerSource+1, pairWindow)
	}
	// In all: sources together open at most pairOpenings a window.
	opened := pairOpeningsPerSource
	for src := 2; opened < pairOpenings; src++ {
		for range pairOpeningsPerSource {
			if admit(fmt.Sprintf("10.0.0.%d:1", src)) {
				opened++
				leaves[len(leaves)-1]()
			}
		}
	}
	if admit("10.0.1.1:1") {
		t.Fatalf("opening %d in all within %v admitted", pairOpenings+1, pairWindow)
	}
	now = now.Add(pairWindow)
	for i := range maxPairAttempts {
		if !admit(fmt.Sprintf("[2001:db8:%d::1]:1", i)) {
			t.Fatalf("attempt %d refused after the window", i+1)
		}
	}
	if admit("[2001:db8:99::1]:1") {
		t.Fatalf("attempt %d at once admitted", maxPairAttempts+1)
	}
}

// TestPairingDeadlines: an attempt that stops after its opening holds its
// place for pair.ProofTimeout, a refused one for refuseTimeout, and the
// offer stays open.
func TestPairingDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		n := offerNode(t, &now)
		n.opts.Now = time.Now
		v, err := n.CreateOffer(t.Context(), web.OfferRequest{})
		if err != nil {
			t.Fatal(err)
		}
		code, _ := pair.ParseCode(v.Code)
		hello := opening(t, code.Offer(), true)
		// closedAfter runs an attempt, sends it what send sends and
		// returns how long until the node hangs up.
		closedAfter := func(send []byte) time.Duration {
			c, s := net.Pipe()
			defer c.Close()
			go n.pairing(t.Context(), s)
			start := time.Now()
			go c.Write(send)
			io.Copy(io.Discard, c)
			return time.Since(start)
		}
		held := make(chan time.Duration, maxPairAttemptsPerSource)
		for range maxPairAttemptsPerSource {
			go func() { held <- closedAfter(hello) }()
		}
		synctest.Wait()
		if d := closedAfter(nil); d != refuseTimeout {
			t.Errorf("a refused attempt that sends nothing was dropped after %v, want %v", d, refuseTimeout)
		}
		for range maxPairAttemptsPerSource {
			if d := <-held; d != pair.ProofTimeout {
				t.Errorf("an attempt without a proof was dropped after %v, want %v", d, pair.ProofTimeout)
			}
		}
		if cur, _ := n.CurrentOffer(t.Context()); cur.State != web.OfferWaiting {
			t.Fatalf("offer %s after attempts without a proof", cur.State)
		}
		n.CancelOffer(t.Context())
	})
}

// fakeOfferer answers one join at a listener it returns with the offer of
// code, as an offering device would; the offer's intro names no address,
// so the joiner never dials it. The joiner's intro arrives on the channel.
func fakeOfferer(t *testing.T, code string, folders ...string) (addr string, joined <-chan pair.Intro) {
	t.Helper()
	c, err := pair.ParseCode(code)
	if err != nil {
		t.Fatal(err)
	}
	key, err := noise.GenerateKeypair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	offer := fixedOffer{pair.Offer{Code: c, Intro: pair.Intro{Name: "offerer"}}}
	for _, id := range folders {
		offer.Intro.Folders = append(offer.Intro.Folders, pair.Folder{ID: id, Label: id})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan pair.Intro, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if res, err := pair.Serve(ctx, nc, key, offer); err == nil {
			ch <- res.Intro
		}
		close(ch)
	}()
	return ln.Addr().String(), ch
}

// fixedOffer is pair.Offers of one offer that any attempt may try.
type fixedOffer struct{ pair.Offer }

func (f fixedOffer) Find(uint32) (pair.Offer, error) { return f.Offer, nil }
func (f fixedOffer) Claim(uint32) error              { return nil }

// folderDevices returns the devices n shares folder id with.
func folderDevices(t *testing.T, n *testNode, id string) []string {
	t.Helper()
	st, err := n.api.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range st.Folders {
		if f.ID == id {
			return f.Devices
		}
	}
	t.Fatalf("no folder %s", id)
	return nil
}

// TestJoinLeavesExistingFolderUnasked: through the API, a join offered a
// folder with the ID of a folder here (documents, the default ID of
// ~/Documents) does not join it, and says so with the folder's path; only
// a join that confirms it, by ID or by the folder's own path, shares it.
func TestJoinLeavesExistingFolderUnasked(t *testing.T) {
	docs := filepath.Join(t.TempDir(), "Documents")
	b := startNode(t, "b", map[string]string{"documents": docs})
	into := t.TempDir()

	addr, joined := fakeOfferer(t, "7-harp-tulip-violin", "documents", "photos")
	res, err := b.api.Join(t.Context(), web.JoinRequest{Code: "7-harp-tulip-violin", Addr: addr, Into: into})
	if err != nil {
		t.Fatal(err)
	}
	if want := []web.JoinedFolder{{ID: "documents", Path: docs}}; !slices.Equal(res.Unconfirmed, want) {
		t.Fatalf("unconfirmed %+v, want %+v", res.Unconfirmed, want)
	}
	if want := []web.JoinedFolder{{ID: "photos", Path: filepath.Join(into, "photos")}}; !slices.Equal(res.Folders, want) {
		t.Fatalf("joined %+v, want %+v", res.Folders, want)
	}
	if in := <-joined; len(in.Folders) != 1 || in.Folders[0].ID != "photos" {
		t.Fatalf("the offerer heard the joiner accept %+v", in.Folders)
	}
	if devs := folderDevices(t, b, "documents"); len(devs) != 0 {
		t.Fatalf("the existing folder is shared with %q after a join that did not confirm it", devs)
	}

	for i, req := range []web.JoinRequest{
		{Code: "8-harp-tulip-violin", Existing: []string{"documents"}},
		{Code: "9-harp-tulip-violin", Folders: map[string]string{"documents": docs}},
	} {
		addr, joined := fakeOfferer(t, req.Code, "documents")
		req.Addr = addr
		res, err := b.api.Join(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if want := []web.JoinedFolder{{ID: "documents", Path: docs}}; !slices.Equal(res.Folders, want) || len(res.Unconfirmed) != 0 {
			t.Fatalf("confirmed join %d: %+v", i, res)
		}
		if in := <-joined; len(in.Folders) != 1 || in.Folders[0].ID != "documents" {
			t.Fatalf("confirmed join %d: the offerer heard %+v", i, in.Folders)
		}
		if devs := folderDevices(t, b, "documents"); len(devs) != i+1 {
			t.Fatalf("confirmed join %d: documents shared with %q", i, devs)
		}
	}
}
