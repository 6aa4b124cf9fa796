package node

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"ferry/engine/config"
	"ferry/proto/pair"
	"ferry/web"
)

// offerNode is a node that is not running, enough to make and take offers.
func offerNode(t *testing.T, now *time.Time) *Node {
	t.Helper()
	cfg := config.Default()
	cfg.Name = "a"
	cfg.Folders = []config.Folder{{ID: "docs", Path: "/d"}, {ID: "music", Path: "/m"}}
	return &Node{
		opts: Options{Now: func() time.Time { return *now }},
		log:  slog.New(slog.DiscardHandler), cfg: cfg,
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
	if _, _, ok := n.takeOffer(code.Offer() + 1); ok {
		t.Fatal("an offer was taken by another number")
	}
	o, po, ok := n.takeOffer(code.Offer())
	if !ok || po.Code != code || len(po.Intro.Folders) != 2 || po.Intro.Name != "a" || o.state != web.OfferWaiting {
		t.Fatalf("take: ok %t, offer %+v", ok, po)
	}
	if _, _, ok := n.takeOffer(code.Offer()); ok {
		t.Fatal("an offer was taken twice")
	}
	if err := n.CancelOffer(ctx); err != nil {
		t.Fatal(err)
	}
	if cur, _ := n.CurrentOffer(ctx); cur.State != web.OfferWaiting {
		t.Fatalf("canceling an offer that is being used changed it to %s", cur.State)
	}

	// A new offer replaces the old; it expires by the clock.
	v2, err := n.CreateOffer(ctx, web.OfferRequest{Folders: []string{"music"}, TTL: "1m"})
	if err != nil {
		t.Fatal(err)
	}
	code2, _ := pair.ParseCode(v2.Code)
	now = now.Add(time.Minute)
	if _, _, ok := n.takeOffer(code2.Offer()); ok {
		t.Fatal("an expired offer was taken")
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
	n := offerNode(t, &now)
	offered := pair.Intro{Folders: []pair.Folder{{ID: "docs"}, {ID: "photos"}, {ID: "notes"}}}
	plan, err := n.planJoin(offered, web.JoinRequest{Folders: map[string]string{"photos": "/p"}, Into: "/sync"})
	if err != nil {
		t.Fatal(err)
	}
	want := []web.JoinedFolder{{ID: "docs", Path: "/d"}, {ID: "photos", Path: "/p"}, {ID: "notes", Path: "/sync/notes"}}
	if !slices.Equal(plan.accepted, want) || !plan.existing["docs"] || plan.existing["photos"] {
		t.Fatalf("plan %+v", plan)
	}
	plan, _ = n.planJoin(offered, web.JoinRequest{})
	if !slices.Equal(plan.declined, []string{"photos", "notes"}) {
		t.Fatalf("without paths: declined %q", plan.declined)
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
