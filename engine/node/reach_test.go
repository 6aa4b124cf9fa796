package node

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/discovery/dht"
	"ferry/proto/pair"
	"ferry/web"
)

// localDHT starts n DHT nodes on loopback, joined through the first, and
// returns their addresses.
func localDHT(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for i := range n {
		boot := []string{}
		if i > 0 {
			boot = addrs[:1]
		}
		d, err := dht.New(dht.Config{Addr: "127.0.0.1:0", Bootstrap: boot})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		addrs = append(addrs, d.Addr().String())
	}
	return addrs
}

// Two devices that know each other's ID and no address find each other in
// the DHT, connect and say so in the status; the DHT node's routing table
// is saved for the next start.
func TestDevicesFoundInTheDHT(t *testing.T) {
	boot := localDHT(t, 6)
	withDHT := func(o *Options) { o.DHT, o.DHTBootstrap = true, boot }
	base := t.TempDir()
	a := startNodeWith(t, "a", map[string]string{"docs": filepath.Join(base, "a")}, withDHT)
	b := startNodeWith(t, "b", map[string]string{"docs": filepath.Join(base, "b")}, withDHT)
	trust(t, a, b.id, nil, "docs")
	trust(t, b, a.id, nil, "docs")
	deadline := time.Now().Add(60 * time.Second)
	for {
		sa, sb := peerStatus(t, a, b.id), peerStatus(t, b, a.id)
		if sa.Connected && sb.Connected && (sa.Via == "dht" || sb.Via == "dht") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not connected through the dht: a sees %+v, b sees %+v", sa, sb)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var lookups int64
	for _, n := range []*testNode{a, b} {
		st, err := n.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if st.Device.DHT == nil || st.Device.DHT.Nodes == 0 || st.Device.DHT.Announces == 0 {
			t.Fatalf("dht status %+v: want nodes and announces", st.Device.DHT)
		}
		if st.Device.External != "" {
			t.Fatalf("external address %q without port mapping", st.Device.External)
		}
		lookups += st.Device.DHT.Lookups
	}
	if lookups == 0 {
		t.Fatal("connected through the dht with no lookup")
	}
}

// showSameNumber makes n show an offer with the number of code and other
// words: a stranger who drew the same number.
func showSameNumber(t *testing.T, n *testNode, code pair.Code) {
	t.Helper()
	own := offerCode(t, n)
	for slices.Equal(own.Words(), code.Words()) { // one in 16.7 million: draw again
		own = offerCode(t, n)
	}
	clash, err := pair.ParseCode(fmt.Sprintf("%d-%s", code.Offer(), strings.Join(own.Words(), "-")))
	if err != nil {
		t.Fatal(err)
	}
	n.offers.mu.Lock()
	n.offers.offer.code = clash
	n.offers.mu.Unlock()
	n.announceOffer(clash.Offer())
}

// Two devices with no LAN between them pair by code through the DHT,
// although a stranger shows an offer with the same number: the join goes
// past the stranger's offer, which its wrong proof burns, to the right one.
func TestPairOverTheDHT(t *testing.T) {
	boot := localDHT(t, 6)
	withDHT := func(o *Options) { o.DHT, o.DHTBootstrap = true, boot }
	base := t.TempDir()
	a := startNodeWith(t, "a", map[string]string{"docs": filepath.Join(base, "a")}, withDHT)
	b := startNodeWith(t, "b", nil, withDHT)
	stranger := startNodeWith(t, "stranger", nil, withDHT)
	code := offerCode(t, a, "docs")
	showSameNumber(t, stranger, code)

	var found []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		found, err = b.findOffer(t.Context(), code.Offer(), "")
		if err == nil && slices.Contains(found, a.addr) && slices.Contains(found, stranger.addr) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("offer %d found at %v (%v); want %s and %s", code.Offer(), found, err, a.addr, stranger.addr)
		}
	}
	// The stranger's offer first, as the DHT may well return it.
	j, err := b.joinOnce(t.Context(), []string{stranger.addr, a.addr}, code, web.JoinRequest{Into: filepath.Join(base, "b")})
	if err != nil {
		t.Fatalf("join past a stranger's offer: %v", err)
	}
	if j.res.Peer != a.id {
		t.Fatalf("joined %s, want a", j.res.Peer.Abbrev())
	}
	waitOffer(t, a, web.OfferPaired)
	waitOffer(t, stranger, web.OfferFailed)

	// Through the API, a second pairing: with no address given, Join finds
	// the offer in the DHT.
	c := startNodeWith(t, "c", nil, withDHT)
	code = offerCode(t, a, "docs")
	res, err := c.Join(t.Context(), web.JoinRequest{Code: code.String(), Into: filepath.Join(base, "c")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Device != a.id.String() || len(res.Folders) != 1 {
		t.Fatalf("joined %+v, want a's docs", res)
	}
}

// A join stops after maxWrongProofs offers its code did not open, and
// says the code is wrong rather than that the next had no offer.
func TestJoinStopsAfterWrongProofs(t *testing.T) {
	var addrs []string
	var strangers []*testNode
	for i := range maxWrongProofs + 1 {
		s := startNode(t, fmt.Sprint("stranger", i), nil)
		strangers = append(strangers, s)
		addrs = append(addrs, s.addr)
	}
	code := offerCode(t, strangers[0])
	for _, s := range strangers[1:] {
		showSameNumber(t, s, code)
	}
	wrong, err := pair.ParseCode(fmt.Sprintf("%d-%s", code.Offer(), strings.Join(offerCode(t, startNode(t, "x", nil)).Words(), "-")))
	if err != nil {
		t.Fatal(err)
	}
	b := startNode(t, "b", nil)
	_, err = b.joinOnce(t.Context(), append(addrs, "127.0.0.1:1"), wrong, web.JoinRequest{Into: t.TempDir()})
	if !errors.Is(err, pair.ErrWrongCode) {
		t.Fatalf("join with a wrong code: %v, want ErrWrongCode", err)
	}
	for _, s := range strangers[:maxWrongProofs] {
		waitOffer(t, s, web.OfferFailed)
	}
	if v, _ := strangers[maxWrongProofs].CurrentOffer(t.Context()); v.State != web.OfferWaiting {
		t.Errorf("the offer after %d wrong proofs is %s, want still waiting", maxWrongProofs, v.State)
	}
}
