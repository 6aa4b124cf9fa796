package lan

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"ferry/proto"
)

// FuzzEncode builds an announcement from fuzzed fields. Encode refuses it
// exactly when it breaks a documented bound (a zero device, more than
// MaxPorts ports or MaxOffers offers, a port 0); what it accepts fits a
// datagram and decodes to the same announcement.
func FuzzEncode(f *testing.F) {
	f.Add(idBytes(1), []byte{0x55, 0xf0, 0x55, 0xf1}, []byte{0, 0, 0, 42})
	f.Add(idBytes(2), []byte{}, []byte{})
	f.Add([]byte{}, []byte{0, 1}, []byte{})
	f.Add(idBytes(3), []byte{0, 0}, []byte{})
	f.Add(idBytes(4), make([]byte, 2*(MaxPorts+1)), make([]byte, 4*(MaxOffers+1)))
	f.Fuzz(func(t *testing.T, dev, ports, offers []byte) {
		var a announcement
		copy(a.Device[:], dev)
		for ; len(ports) >= 2; ports = ports[2:] {
			a.Ports = append(a.Ports, binary.BigEndian.Uint16(ports))
		}
		for ; len(offers) >= 4; offers = offers[4:] {
			a.Offers = append(a.Offers, binary.BigEndian.Uint32(offers))
		}
		broken := a.Device.IsZero() || len(a.Ports) > MaxPorts || len(a.Offers) > MaxOffers || slices.Contains(a.Ports, 0)
		b, err := encode(a)
		switch {
		case broken && !errors.Is(err, errMalformed):
			t.Fatalf("encode(%+v) = %v, want errMalformed", a, err)
		case broken:
			return
		case err != nil:
			t.Fatalf("encode(%+v) refuses a valid announcement: %v", a, err)
		case len(b) > MaxPacketSize:
			t.Fatalf("encode(%+v) gives %d bytes, more than a datagram's %d", a, len(b), MaxPacketSize)
		}
		got, err := decode(b)
		if err != nil {
			t.Fatalf("decode(encode(%+v)) = %v", a, err)
		}
		if got.Device != a.Device || !slices.Equal(got.Ports, a.Ports) || !slices.Equal(got.Offers, a.Offers) {
			t.Fatalf("round trip changed %+v to %+v", a, got)
		}
	})
}

// handleSources are the senders FuzzHandle picks from, with whether an
// announcement from each may be kept.
var handleSources = []struct {
	addr     string
	dialable bool
}{
	{"10.0.0.1:21025", true},
	{"10.0.0.2:21025", true},
	{"192.168.1.7:40000", true},
	{"[fe80::1%eth0]:21025", true},
	{"[2001:db8::5]:21025", true},
	{"[::ffff:10.0.0.3]:21025", true},
	{"[fe80::1]:21025", false},
	{"0.0.0.0:21025", false},
	{"[::]:21025", false},
	{"224.0.0.251:21025", false},
	{"[ff02::1]:21025", false},
	{"255.255.255.255:21025", false},
}

// FuzzHandle feeds a sequence of datagrams to a LAN, each from one of
// handleSources after the clock moved on. The input is a list of
// datagrams, each a source byte, a byte of seconds to wait, a length byte
// and that many bytes. The counters always add up, what is remembered
// stays within its bounds and is dialable, our own announcements are never
// remembered, and a valid announcement of another device from a usable
// source is found at once by Lookup and FindOffer.
func FuzzHandle(f *testing.F) {
	own := devID(100)
	var seed []byte
	for i, a := range []announcement{
		{Device: devID(1), Ports: []uint16{22000, 22001}, Offers: []uint32{7}},
		{Device: own, Ports: []uint16{22000}},
		{Device: devID(2), Offers: []uint32{7, 9}},
		{Device: devID(1), Ports: []uint16{22000}},
	} {
		b := mustEncode(f, a)
		seed = append(append(seed, byte(i), byte(10*i), byte(len(b))), b...)
	}
	f.Add(seed)
	f.Add(append([]byte{6, 0, 3}, 1, 2, 3))
	f.Fuzz(func(t *testing.T, in []byte) {
		clk := &clock{now: time.Unix(1_700_000_000, 0)}
		l := newTestLAN(t, own, clk)
		for len(in) >= 3 {
			src := handleSources[int(in[0])%len(handleSources)]
			clk.advance(time.Duration(in[1]) * time.Second)
			n := min(int(in[2]), len(in)-3)
			b := in[3 : 3+n]
			in = in[3+n:]
			before := l.Stats()
			l.handle(b, netip.MustParseAddrPort(src.addr))
			checkHeard(t, l, own, before, b, src.addr, src.dialable)
		}
	})
}

// checkHeard checks l after it handled b from src.
func checkHeard(t *testing.T, l *LAN, own proto.DeviceID, before Stats, b []byte, src string, dialable bool) {
	t.Helper()
	s := l.Stats()
	if s.Received != before.Received+1 || s.Received != s.Accepted+s.Own+s.Dropped {
		t.Fatalf("stats %+v after %+v do not add up", s, before)
	}
	devices := l.Devices()
	if len(devices) > maxPeers {
		t.Fatalf("%d devices remembered, at most %d", len(devices), maxPeers)
	}
	if _, ok := devices[own]; ok {
		t.Fatalf("our own device is remembered: %v", devices[own])
	}
	for dev, addrs := range devices {
		checkAddrs(t, dev, addrs)
	}
	a, err := decode(b)
	if err != nil || a.Device == own || !dialable {
		if s.Accepted != before.Accepted {
			t.Fatalf("%x from %s accepted", b, src)
		}
		return
	}
	if s.Accepted != before.Accepted+1 {
		t.Fatalf("%+v from %s not accepted: stats %+v", a, src, s)
	}
	addrs := l.Lookup(a.Device)
	ip := netip.MustParseAddrPort(src).Addr().Unmap()
	for _, p := range a.Ports {
		if want := netip.AddrPortFrom(ip, p).String(); len(addrs) < maxAddrsPerPeer && !slices.Contains(addrs, want) {
			t.Fatalf("%+v from %s: Lookup gives %v, without %s", a, src, addrs, want)
		}
	}
	for _, o := range a.Offers {
		if _, found, _ := l.cache.findOffer(o, l.cfg.Now()); len(a.Ports) > 0 && len(found) == 0 {
			t.Fatalf("offer %d announced by %+v from %s not found", o, a, src)
		}
	}
}

// checkAddrs checks the addresses remembered for dev.
func checkAddrs(t *testing.T, dev proto.DeviceID, addrs []string) {
	t.Helper()
	if len(addrs) == 0 || len(addrs) > maxAddrsPerPeer || !slices.IsSorted(addrs) {
		t.Fatalf("device %s: addresses %v", dev.Abbrev(), addrs)
	}
	for _, s := range addrs {
		ap, err := netip.ParseAddrPort(s)
		if err != nil || ap.Port() == 0 || !dialable(ap.Addr()) || ap.Addr().Is4In6() {
			t.Fatalf("device %s: address %q is not one to dial", dev.Abbrev(), s)
		}
	}
}

// idBytes returns devID(b) as a slice, for seeds.
func idBytes(b byte) []byte {
	d := devID(b)
	return d[:]
}
