package dht

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	adht "github.com/anacrolix/dht/v2"
	"golang.org/x/time/rate"

	"ferry/proto"
)

// startSwarm starts n plain Mainline DHT nodes on loopback that know each
// other, and returns their addresses.
func startSwarm(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	var servers []*adht.Server
	for i := range n {
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		first := addrs
		if i == 0 {
			first = nil
		}
		srv, err := adht.NewServer(&adht.ServerConfig{
			Conn:       conn,
			NoSecurity: true,
			PeerStore:  newPeerStore(time.Now, new(atomic.Int64)),
			StartingNodes: func() ([]adht.Addr, error) {
				return adht.ResolveHostPorts(first[:1])
			},
			Logger:           libLogger(slog.New(slog.DiscardHandler)),
			SendLimiter:      rate.NewLimiter(rate.Inf, 0),
			QueryResendDelay: func() time.Duration { return 200 * time.Millisecond },
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		servers = append(servers, srv)
		addrs = append(addrs, conn.LocalAddr().String())
	}
	for _, srv := range servers[1:] {
		if _, err := srv.Bootstrap(); err != nil {
			t.Fatal(err)
		}
	}
	return addrs
}

// clock is a settable test clock.
type clock struct{ t atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Date(2030, 1, 1, 12, 10, 0, 0, time.UTC).Unix())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(c.t.Load(), 0) }
func (c *clock) Advance(d time.Duration) { c.t.Add(int64(d / time.Second)) }

func newTestDHT(t *testing.T, cfg Config) *DHT {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func device(b byte) proto.DeviceID {
	var id proto.DeviceID
	for i := range id {
		id[i] = b ^ byte(i*7)
	}
	return id
}

// lookupUntil repeats Lookup until it returns want or a deadline passes:
// announced peers are stored asynchronously by the receiving nodes.
func lookupUntil(t *testing.T, d *DHT, dev proto.DeviceID, want netip.AddrPort) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := d.Lookup(ctx, dev)
		cancel()
		if slices.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lookup %s: got %v, %v; want %v", dev.Abbrev(), got, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAnnounceLookup(t *testing.T) {
	swarm := startSwarm(t, 10)
	clk := newClock()
	a := newTestDHT(t, Config{Bootstrap: swarm, Now: clk.Now})
	b := newTestDHT(t, Config{Bootstrap: swarm, Now: clk.Now})
	x := device(1)
	ctx := context.Background()
	if err := a.Announce(ctx, x, 22111); err != nil {
		t.Fatal(err)
	}
	want := netip.MustParseAddrPort("127.0.0.1:22111")
	lookupUntil(t, b, x, want)

	got, err := b.Lookup(ctx, device(2))
	if err != nil || len(got) != 0 {
		t.Fatalf("unknown device: %v, %v", got, err)
	}

	// One window later the previous window's key still finds x; two
	// windows later it does not, until x announces again.
	clk.Advance(Window)
	lookupUntil(t, b, x, want)
	clk.Advance(Window)
	if got, err := b.Lookup(ctx, x); err != nil || len(got) != 0 {
		t.Fatalf("stale window: %v, %v", got, err)
	}
	if err := a.Announce(ctx, x, 22112); err != nil {
		t.Fatal(err)
	}
	lookupUntil(t, b, x, netip.MustParseAddrPort("127.0.0.1:22112"))

	if s := b.Stats(); s.Nodes == 0 || s.Lookups < 4 || a.Stats().Announces != 2 {
		t.Fatalf("stats a %+v b %+v", a.Stats(), s)
	}
}

// An offer announced under its number is found by its number, with the
// offers of strangers that showed the same number, and not under another.
func TestAnnounceLookupOffer(t *testing.T) {
	swarm := startSwarm(t, 10)
	a := newTestDHT(t, Config{Bootstrap: swarm})
	stranger := newTestDHT(t, Config{Bootstrap: swarm})
	b := newTestDHT(t, Config{Bootstrap: swarm})
	ctx := context.Background()
	if err := a.AnnounceOffer(ctx, 7, 22111); err != nil {
		t.Fatal(err)
	}
	if err := stranger.AnnounceOffer(ctx, 7, 22112); err != nil {
		t.Fatal(err)
	}
	want := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:22111"), netip.MustParseAddrPort("127.0.0.1:22112")}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := b.LookupOffer(ctx, 7)
		if len(got) == 2 && slices.Contains(got, want[0]) && slices.Contains(got, want[1]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("offer 7: got %v, %v; want %v", got, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, err := b.LookupOffer(ctx, 8); err != nil || len(got) != 0 {
		t.Fatalf("offer 8: %v, %v", got, err)
	}
	if got, err := b.Lookup(ctx, device(7)); err != nil || len(got) != 0 {
		t.Fatalf("a device lookup found an offer: %v, %v", got, err)
	}
	if a.AnnounceOffer(ctx, 7, 0) == nil {
		t.Fatal("announced an offer at port 0")
	}
}

func TestPublicOnly(t *testing.T) {
	swarm := startSwarm(t, 8)
	a := newTestDHT(t, Config{Bootstrap: swarm})
	b := newTestDHT(t, Config{Bootstrap: swarm, PublicOnly: true})
	x := device(3)
	ctx := context.Background()
	if err := a.Announce(ctx, x, 22113); err != nil {
		t.Fatal(err)
	}
	lookupUntil(t, a, x, netip.MustParseAddrPort("127.0.0.1:22113"))
	if got, err := b.Lookup(ctx, x); err != nil || len(got) != 0 {
		t.Fatalf("public only: %v, %v", got, err)
	}
	if b.Stats().DroppedAddrs == 0 {
		t.Fatal("loopback address not counted as dropped")
	}
}

func TestStateFileRestart(t *testing.T) {
	swarm := startSwarm(t, 8)
	state := filepath.Join(t.TempDir(), "dht-nodes")
	a := newTestDHT(t, Config{Bootstrap: swarm, StateFile: state})
	b := newTestDHT(t, Config{Bootstrap: swarm})
	x := device(4)
	ctx := context.Background()
	if err := b.Announce(ctx, x, 22114); err != nil {
		t.Fatal(err)
	}
	lookupUntil(t, a, x, netip.MustParseAddrPort("127.0.0.1:22114"))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	// Without bootstrap nodes, only the saved table can find x.
	none := newTestDHT(t, Config{Bootstrap: []string{}})
	if got, err := none.Lookup(ctx, x); err == nil || len(got) != 0 {
		t.Fatalf("no state, no bootstrap: %v, %v", got, err)
	}
	restarted := newTestDHT(t, Config{Bootstrap: []string{}, StateFile: state})
	if restarted.Stats().Nodes == 0 {
		t.Fatal("no nodes read from the state file")
	}
	lookupUntil(t, restarted, x, netip.MustParseAddrPort("127.0.0.1:22114"))
}

func TestRun(t *testing.T) {
	swarm := startSwarm(t, 8)
	a := newTestDHT(t, Config{Bootstrap: swarm})
	b := newTestDHT(t, Config{Bootstrap: swarm, Interval: 100 * time.Millisecond})
	x, y := device(5), device(6)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := a.Announce(ctx, x, 22115); err != nil {
		t.Fatal(err)
	}
	got := make(chan []netip.AddrPort, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Run(ctx, y, 22116, func() []proto.DeviceID { return []proto.DeviceID{x, y} },
			func(dev proto.DeviceID, addrs []netip.AddrPort) {
				if dev != x {
					t.Errorf("found %s", dev.Abbrev())
				}
				if slices.Contains(addrs, netip.MustParseAddrPort("127.0.0.1:22115")) {
					select {
					case got <- addrs:
					default:
					}
				}
			})
	}()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("Run found nothing")
	}
	lookupUntil(t, a, y, netip.MustParseAddrPort("127.0.0.1:22116"))
	cancel()
	<-done
}
