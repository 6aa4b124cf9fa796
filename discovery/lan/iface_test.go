package lan

import (
	"net"
	"net/netip"
	"slices"
	"testing"
)

func TestDirectedBroadcast(t *testing.T) {
	for _, tc := range []struct {
		prefix, want string
	}{
		{"10.1.2.3/24", "10.1.2.255"},
		{"192.168.7.9/16", "192.168.255.255"},
		{"172.16.5.1/20", "172.16.15.255"},
		{"10.0.0.1/8", "10.255.255.255"},
		{"10.0.0.5/30", "10.0.0.7"},
		{"10.0.0.5/31", ""},
		{"10.0.0.5/32", ""},
		{"fe80::1/64", ""},
	} {
		got, ok := directedBroadcast(netip.MustParsePrefix(tc.prefix))
		if (tc.want == "") == ok || (ok && got.String() != tc.want) {
			t.Errorf("directedBroadcast(%s) = %v, %v; want %q", tc.prefix, got, ok, tc.want)
		}
	}
}

func testInterfaces() []iface {
	pfx := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	up := net.FlagUp | net.FlagBroadcast | net.FlagMulticast
	return []iface{
		{name: "lo", index: 1, flags: net.FlagUp | net.FlagLoopback | net.FlagMulticast, prefixes: pfx("127.0.0.1/8", "::1/128")},
		{name: "eth0", index: 2, flags: up, prefixes: pfx("10.1.2.3/24", "192.168.0.9/16", "fe80::1/64")},
		{name: "eth1", index: 3, flags: up &^ net.FlagUp, prefixes: pfx("10.9.0.1/24", "fe80::9/64")},
		{name: "wg0", index: 4, flags: net.FlagUp | net.FlagPointToPoint, prefixes: pfx("10.8.0.1/24", "fd00::1/64")},
		{name: "eth2", index: 5, flags: up, prefixes: pfx("10.3.0.1/32")},
		{name: "eth3", index: 6, flags: up, prefixes: pfx("2001:db8::1/64")},
	}
}

func dsts(ts []target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.iface+" "+t.dst.String())
	}
	return out
}

func TestBroadcastTargets(t *testing.T) {
	got := dsts(broadcastTargets(testInterfaces(), 21025))
	want := []string{"eth0 10.1.2.255:21025", "eth0 192.168.255.255:21025"}
	if !slices.Equal(got, want) {
		t.Errorf("broadcast targets %v, want %v", got, want)
	}
}

func TestMulticastTargets(t *testing.T) {
	got := dsts(multicastTargets(testInterfaces(), 21025))
	want := []string{"eth0 [ff12::6665:7279%eth0]:21025", "eth3 [ff12::6665:7279%eth3]:21025"}
	if !slices.Equal(got, want) {
		t.Errorf("multicast targets %v, want %v", got, want)
	}
}

func TestGroupIsLinkLocalMulticast(t *testing.T) {
	g := netip.MustParseAddr(GroupIPv6)
	if !g.IsLinkLocalMulticast() {
		t.Errorf("%s is not a link-local multicast group", g)
	}
}

func TestInterfacesListsLoopback(t *testing.T) {
	ifs, err := interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifs {
		if ifc.flags&net.FlagLoopback != 0 {
			return
		}
	}
	t.Errorf("no loopback interface among %+v", ifs)
}
