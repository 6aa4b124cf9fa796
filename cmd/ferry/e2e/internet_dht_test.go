//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"

	"ferry/discovery/dht"
	"ferry/proto"
)

// The local Mainline DHT of the internet test bed: honest nodes made with
// ferry/discovery/dht (which wraps anacrolix/dht) on public addresses of
// the internet namespace, and hostile KRPC nodes beside them.

// localDHTNodes is how many honest nodes the local DHT has.
const localDHTNodes = 8

// dhtBootstrap starts the local DHT on first use and returns its nodes as
// a comma-separated host:port list, as --dht-bootstrap takes it. The nodes
// bootstrap from each other and form one network before it returns.
func (n *internet) dhtBootstrap() string {
	n.t.Helper()
	if n.dht == nil {
		n.startDHT()
	}
	return strings.Join(n.dht, ",")
}

// startDHT starts the local DHT's nodes, each bootstrapped from all the
// others, and waits until each has the others in its routing table.
func (n *internet) startDHT() {
	n.t.Helper()
	addrs := make([]string, localDHTNodes)
	for i, a := range n.bridgeAddrs(localDHTNodes) {
		addrs[i] = netip.AddrPortFrom(a, dhtNodePort).String()
	}
	conns := n.udpIn(n.ns, addrs...)
	nodes := make([]*dht.DHT, len(conns))
	for i, c := range conns {
		d, err := dht.New(dht.Config{Conn: c, Bootstrap: slices.Delete(slices.Clone(addrs), i, i+1)})
		if err != nil {
			n.t.Fatalf("local DHT node %s: %v", addrs[i], err)
		}
		n.t.Cleanup(func() { d.Close() })
		nodes[i] = d
	}
	waitFor(n.t, 10*time.Second, "the local DHT's nodes to know each other", func() bool {
		for _, d := range nodes {
			if d.Stats().Nodes < localDHTNodes-1 {
				return false
			}
		}
		return true
	})
	n.dht = addrs
}

// udpIn opens UDP sockets on addrs in namespace ns, closed when the test
// ends.
func (n *internet) udpIn(ns string, addrs ...string) []net.PacketConn {
	n.t.Helper()
	return udpIn(n.t, ns, addrs...)
}

func udpIn(t *testing.T, ns string, addrs ...string) []net.PacketConn {
	t.Helper()
	conns := make([]net.PacketConn, 0, len(addrs))
	err := inNetns(ns, func() error {
		for _, a := range addrs {
			c, err := net.ListenPacket("udp4", a)
			if err != nil {
				return err
			}
			conns = append(conns, c)
		}
		return nil
	})
	for _, c := range conns {
		t.Cleanup(func() { c.Close() })
	}
	if err != nil {
		t.Fatalf("listen in %s: %v", ns, err)
	}
	return conns
}

// dhtNode starts a ferry/discovery/dht node in namespace ns (a home
// device's, say) on UDP port, bootstrapped from the local DHT only.
func (n *internet) dhtNode(ns string, port int) *dht.DHT {
	n.t.Helper()
	boot := strings.Split(n.dhtBootstrap(), ",")
	c := n.udpIn(ns, fmt.Sprintf(":%d", port))[0]
	d, err := dht.New(dht.Config{Conn: c, Bootstrap: boot})
	if err != nil {
		n.t.Fatalf("DHT node in %s: %v", ns, err)
	}
	n.t.Cleanup(func() { d.Close() })
	return d
}

// hostileDHT says how a hostile KRPC node answers queries.
type hostileDHT struct {
	// Garbage sends undecodable datagrams and malformed KRPC messages
	// before each answer.
	Garbage bool
	// Silent sends no well-formed answer at all (only garbage, if any).
	Silent bool
	// Values are the peers every get_peers answer lists, whatever the key:
	// manyPeers for a huge list, foreignPeers for hosts of the test bed
	// that run no ferry.
	Values []netip.AddrPort
}

// addHostileDHT starts a hostile KRPC node on a new public address of the
// internet namespace and returns its host:port, to put in a bootstrap list
// beside dhtBootstrap's.
func (n *internet) addHostileDHT(h hostileDHT) string {
	n.t.Helper()
	addr := netip.AddrPortFrom(n.bridgeAddrs(1)[0], dhtNodePort).String()
	conn := n.udpIn(n.ns, addr)[0]
	var values []krpc.NodeAddr
	for _, ap := range h.Values {
		values = append(values, krpc.NodeAddr{IP: ap.Addr().AsSlice(), Port: int(ap.Port())})
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); serveHostile(conn, h, values) }()
	n.t.Cleanup(func() { conn.Close(); wg.Wait() })
	return addr
}

// hostileJunk is what a hostile node with Garbage sends before answering a
// query with transaction ID tid: not bencode, a reply whose r is a list, an
// empty dictionary, and a reply with a short node ID.
func hostileJunk(tid string) [][]byte {
	t := fmt.Sprintf("1:t%d:%s", len(tid), tid)
	return [][]byte{
		{0xff, 0x00, 0x13},
		[]byte("d" + t + "1:y1:r1:rli1eee"),
		[]byte("de"),
		[]byte("d1:rd2:id3:abce" + t + "1:y1:re"),
	}
}

// serveHostile answers the queries arriving on conn until it is closed.
func serveHostile(conn net.PacketConn, h hostileDHT, values []krpc.NodeAddr) {
	id := krpc.RandomNodeID()
	buf := make([]byte, 1<<16)
	for {
		k, from, err := conn.ReadFrom(buf)
		if err != nil {
			return
		}
		var m krpc.Msg
		if bencode.Unmarshal(buf[:k], &m) != nil || m.Y != "q" {
			continue
		}
		if h.Garbage {
			for _, junk := range hostileJunk(m.T) {
				conn.WriteTo(junk, from)
			}
		}
		if h.Silent {
			continue
		}
		r := krpc.Return{ID: id}
		if m.Q == "get_peers" {
			tok := "tok"
			r.Token = &tok
			r.Values = values
		}
		if b, err := bencode.Marshal(krpc.Msg{T: m.T, Y: "r", R: &r}); err == nil {
			conn.WriteTo(b, from)
		}
	}
}

// manyPeers returns count distinct peer addresses in 100.64.0.0/10 (shared
// address space, which nothing in the test bed uses), more than a DHT
// lookup keeps when count is in the thousands. A datagram holds up to
// about 10,000.
func manyPeers(count int) []netip.AddrPort {
	peers := make([]netip.AddrPort, count)
	for i := range peers {
		a := netip.AddrFrom4([4]byte{100, 64 + byte(i>>16&63), byte(i >> 8), byte(i)})
		peers[i] = netip.AddrPortFrom(a, uint16(1024+i%60000))
	}
	return peers
}

// foreignPeers returns the addresses of hosts of the test bed made so far
// that run no ferry where a hostile node says: every router, public device
// and local DHT node at ports, and the homes' private addresses.
func (n *internet) foreignPeers(ports ...uint16) []netip.AddrPort {
	var hosts []netip.Addr
	for _, h := range n.homes {
		hosts = append(hosts, h.wan, h.addr)
	}
	for _, p := range n.publics {
		hosts = append(hosts, p.addr)
	}
	for _, s := range n.dht {
		hosts = append(hosts, netip.MustParseAddrPort(s).Addr())
	}
	var peers []netip.AddrPort
	for _, a := range hosts {
		for _, p := range ports {
			peers = append(peers, netip.AddrPortFrom(a, p))
		}
	}
	return peers
}

// Two devices behind NAT, in different homes, meet on the local DHT: one
// announces its port, the other finds it at its router's public address.
func TestInternetLocalDHT(t *testing.T) {
	n := newInternet(t)
	a := n.addHome("A", homeOptions{})
	b := n.addHome("B", homeOptions{})
	da, db := n.dhtNode(a.ns, 22110), n.dhtNode(b.ns, 22110)
	var id proto.DeviceID
	copy(id[:], "internet test device A.........")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := da.Announce(ctx, id, 22110); err != nil {
		t.Fatal(err)
	}
	got, err := db.Lookup(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := netip.AddrPortFrom(a.wan, 22110); !slices.Contains(got, want) {
		t.Fatalf("B found A at %v; want %v, A's router", got, want)
	}
}
