package lan

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ferry/discovery"
	"ferry/proto"
)

var _ discovery.Resolver = (*LAN)(nil)

// clock is a settable clock for the cache.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestLAN(t *testing.T, dev proto.DeviceID, clk *clock) *LAN {
	t.Helper()
	cfg := Config{Device: dev, Interval: 10 * time.Second}
	if clk != nil {
		cfg.Now = clk.Now
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// hear feeds an announcement into the receive path as if from src.
func hear(t *testing.T, l *LAN, src string, a announcement) {
	t.Helper()
	l.handle(mustEncode(t, a), netip.MustParseAddrPort(src))
}

func TestConfigValidate(t *testing.T) {
	c := Config{Device: devID(1)}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Port != DefaultPort || c.Interval != DefaultInterval || c.Expiry != 3*DefaultInterval || c.Now == nil || c.Logger == nil || c.Ports == nil {
		t.Errorf("defaults not filled: %+v", c)
	}
	for name, bad := range map[string]Config{
		"zero device":     {},
		"negative port":   {Device: devID(1), Port: -1},
		"port too large":  {Device: devID(1), Port: 65536},
		"negative period": {Device: devID(1), Interval: -time.Second},
		"negative expiry": {Device: devID(1), Expiry: -time.Second},
	} {
		if _, err := New(bad); err == nil {
			t.Errorf("%s: New accepted %+v", name, bad)
		}
	}
}

func TestLookupAndExpiry(t *testing.T) {
	clk := &clock{now: time.Unix(1000, 0)}
	l := newTestLAN(t, devID(100), clk) // expiry 30 s
	a := devID(1)
	hear(t, l, "10.0.0.2:21025", announcement{Device: a, Ports: []uint16{22001, 22000}})
	clk.advance(20 * time.Second)
	hear(t, l, "[fe80::2%eth0]:21025", announcement{Device: a, Ports: []uint16{22000}})
	want := []string{"10.0.0.2:22000", "10.0.0.2:22001", "[fe80::2%eth0]:22000"}
	if got := l.Lookup(a); !slices.Equal(got, want) {
		t.Fatalf("Lookup = %v, want %v", got, want)
	}
	if got := l.Lookup(devID(2)); got != nil {
		t.Errorf("unknown device resolved to %v", got)
	}
	clk.advance(10 * time.Second) // the IPv4 addresses are 30 s old
	if got := l.Lookup(a); !slices.Equal(got, want[2:]) {
		t.Fatalf("after 30 s Lookup = %v, want %v", got, want[2:])
	}
	clk.advance(20 * time.Second)
	if got, devs := l.Lookup(a), l.Devices(); got != nil || len(devs) != 0 {
		t.Fatalf("after 50 s Lookup = %v, Devices = %v; want nothing", got, devs)
	}
	hear(t, l, "10.0.0.3:21025", announcement{Device: a, Ports: []uint16{22000}})
	if got := l.Devices(); len(got) != 1 || !slices.Equal(got[a], []string{"10.0.0.3:22000"}) {
		t.Fatalf("Devices = %v", got)
	}
}

func TestOwnAnnouncementIgnored(t *testing.T) {
	me := devID(100)
	l := newTestLAN(t, me, nil)
	hear(t, l, "10.0.0.1:21025", announcement{Device: me, Ports: []uint16{22000}, Offers: []uint32{7}})
	if got := l.Lookup(me); got != nil {
		t.Errorf("own announcement resolved to %v", got)
	}
	if s := l.Stats(); s.Own != 1 || s.Accepted != 0 || s.Dropped != 0 {
		t.Errorf("stats %+v, want one own", s)
	}
}

func TestUnusableSourceDropped(t *testing.T) {
	l := newTestLAN(t, devID(100), nil)
	for _, src := range []string{"[fe80::2]:21025", "0.0.0.0:21025", "[ff02::1%eth0]:21025", "255.255.255.255:21025"} {
		hear(t, l, src, announcement{Device: devID(1), Ports: []uint16{22000}})
	}
	hear(t, l, "[::ffff:10.0.0.2]:21025", announcement{Device: devID(2), Ports: []uint16{22000}})
	if s := l.Stats(); s.Dropped != 4 || s.Accepted != 1 {
		t.Errorf("stats %+v, want 4 dropped and 1 accepted", s)
	}
	if got := l.Lookup(devID(2)); !slices.Equal(got, []string{"10.0.0.2:22000"}) {
		t.Errorf("mapped source gave %v, want it unmapped", got)
	}
}

func TestOversizedDatagramDropped(t *testing.T) {
	l := newTestLAN(t, devID(100), nil)
	b := append(mustEncode(t, announcement{Device: devID(1)}), make([]byte, MaxPacketSize)...)
	l.handle(b, netip.MustParseAddrPort("10.0.0.2:21025"))
	if s := l.Stats(); s.Dropped != 1 {
		t.Errorf("stats %+v, want one dropped", s)
	}
}

func TestAddressesPerDeviceBounded(t *testing.T) {
	l := newTestLAN(t, devID(100), nil)
	ports := []uint16{1, 2, 3, 4, 5, 6, 7, 8}
	for i := range 10 {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 21025)
		l.handle(mustEncode(t, announcement{Device: devID(1), Ports: ports}), src)
	}
	if got := len(l.Lookup(devID(1))); got != maxAddrsPerPeer {
		t.Errorf("%d addresses remembered, want the bound %d", got, maxAddrsPerPeer)
	}
}

func TestChanged(t *testing.T) {
	l := newTestLAN(t, devID(100), nil)
	a := announcement{Device: devID(1), Ports: []uint16{22000}}
	steps := []struct {
		name    string
		src     string
		a       announcement
		changes bool
	}{
		{"new device", "10.0.0.2:21025", a, true},
		{"same again", "10.0.0.2:21025", a, false},
		{"new address", "10.0.0.3:21025", a, true},
		{"new offers", "10.0.0.3:21025", announcement{Device: a.Device, Ports: a.Ports, Offers: []uint32{9}}, true},
		{"offers kept", "10.0.0.2:21025", announcement{Device: a.Device, Ports: a.Ports, Offers: []uint32{9}}, false},
	}
	for _, s := range steps {
		ch := l.Changed()
		hear(t, l, s.src, s.a)
		select {
		case <-ch:
			if !s.changes {
				t.Errorf("%s: Changed fired", s.name)
			}
		default:
			if s.changes {
				t.Errorf("%s: Changed did not fire", s.name)
			}
		}
	}
}

func TestSetOffers(t *testing.T) {
	l := newTestLAN(t, devID(100), nil)
	if err := l.SetOffers(make([]uint32, 0, MaxOffers+1)); err != nil {
		t.Fatal(err)
	}
	many := make([]uint32, MaxOffers+1)
	for i := range many {
		many[i] = uint32(i)
	}
	if err := l.SetOffers(many); err == nil {
		t.Error("SetOffers accepted too many offers")
	}
	if err := l.SetOffers([]uint32{9, 3, 9}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.offersChanged:
	default:
		t.Error("changed offers did not ask for an announcement")
	}
	if err := l.SetOffers([]uint32{3, 9}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.offersChanged:
		t.Error("unchanged offers asked for an announcement")
	default:
	}
	b, err := l.packet()
	if err != nil {
		t.Fatal(err)
	}
	a, err := decode(b)
	if err != nil || !slices.Equal(a.Offers, []uint32{3, 9}) || a.Device != devID(100) {
		t.Errorf("packet decodes to %+v, %v", a, err)
	}
}

func TestListenPorts(t *testing.T) {
	got := listenPorts([]int{22000, 0, -1, 70000, 22000, 1, 2, 3, 4, 5, 6, 7, 8})
	want := []uint16{22000, 1, 2, 3, 4, 5, 6, 7}
	if !slices.Equal(got, want) {
		t.Errorf("listenPorts = %v, want %v", got, want)
	}
}

func TestFindOfferCached(t *testing.T) {
	clk := &clock{now: time.Unix(1000, 0)}
	l := newTestLAN(t, devID(100), clk)
	hear(t, l, "10.0.0.2:21025", announcement{Device: devID(1), Ports: []uint16{22000}, Offers: []uint32{5, 7}})
	clk.advance(time.Second) // the device heard last wins offer 7
	hear(t, l, "10.0.0.3:21025", announcement{Device: devID(2), Ports: []uint16{22000}, Offers: []uint32{7}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // a cached offer needs no waiting
	for offer, want := range map[uint32]proto.DeviceID{5: devID(1), 7: devID(2)} {
		addrs, dev, err := l.FindOffer(ctx, offer)
		if err != nil || dev != want || len(addrs) != 1 {
			t.Errorf("FindOffer(%d) = %v, %v, %v; want %v", offer, addrs, dev.Abbrev(), err, want.Abbrev())
		}
	}
	if _, _, err := l.FindOffer(ctx, 6); !errors.Is(err, context.Canceled) {
		t.Errorf("FindOffer of an unknown offer = %v, want context.Canceled", err)
	}
}

func TestFindOfferWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newTestLAN(t, devID(100), nil)
		type result struct {
			addrs []string
			dev   proto.DeviceID
			err   error
		}
		done := make(chan result, 1)
		go func() {
			addrs, dev, err := l.FindOffer(t.Context(), 42)
			done <- result{addrs, dev, err}
		}()
		synctest.Wait()
		hear(t, l, "10.0.0.2:21025", announcement{Device: devID(1), Ports: []uint16{22000}, Offers: []uint32{41}})
		hear(t, l, "10.0.0.3:21025", announcement{Device: devID(2), Offers: []uint32{42}}) // no address yet
		synctest.Wait()
		select {
		case r := <-done:
			t.Fatalf("FindOffer returned early: %+v", r)
		default:
		}
		hear(t, l, "10.0.0.3:21025", announcement{Device: devID(2), Ports: []uint16{22000}, Offers: []uint32{42}})
		r := <-done
		if r.err != nil || r.dev != devID(2) || !slices.Equal(r.addrs, []string{"10.0.0.3:22000"}) {
			t.Errorf("FindOffer = %+v", r)
		}
	})
}

func TestFindOfferDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newTestLAN(t, devID(100), nil)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if _, _, err := l.FindOffer(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("FindOffer = %v, want deadline exceeded", err)
		}
	})
}
