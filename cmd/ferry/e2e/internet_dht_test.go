//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
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
	conns := udpIn(n.t, n.ns, addrs...)
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
// device's, say) on UDP port, bootstrapped from boot, or from the local
// DHT only if boot is empty.
func (n *internet) dhtNode(ns string, port int, boot ...string) *dht.DHT {
	n.t.Helper()
	if len(boot) == 0 {
		boot = strings.Split(n.dhtBootstrap(), ",")
	}
	c := udpIn(n.t, ns, fmt.Sprintf(":%d", port))[0]
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
	conn := udpIn(n.t, n.ns, addr)[0]
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

// Each kind of hostile node answers as it says: garbage only, a huge peer
// list, the test bed's own hosts.
func TestInternetHostileDHT(t *testing.T) {
	n := newInternet(t)
	p := n.addPublic("P")
	h := n.addHome("H", homeOptions{})
	silent := n.addHostileDHT(hostileDHT{Garbage: true, Silent: true})
	huge := n.addHostileDHT(hostileDHT{Garbage: true, Values: manyPeers(5000)})
	foreign := n.foreignPeers(22110, 80)
	liar := n.addHostileDHT(hostileDHT{Values: foreign})
	var id proto.DeviceID
	copy(id[:], "a device nobody announced......")
	lookup := func(boot string) ([]netip.AddrPort, dht.Stats, error) {
		t.Helper()
		d := n.dhtNode(h.ns, 0, boot)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		got, err := d.Lookup(ctx, id)
		return got, d.Stats(), err
	}

	if got, s, _ := lookup(silent); len(got) != 0 || s.DroppedPackets == 0 {
		t.Errorf("through a node that sends garbage only: found %v, dropped %d datagrams", got, s.DroppedPackets)
	}
	// A lookup asks for two key windows; each answer adds at most the
	// bound of one node.
	if got, _, err := lookup(huge); err != nil || len(got) != 2*dht.MaxAddrsPerNode {
		t.Errorf("through a node with a huge list: found %d addresses (%v); want %d, the bound of one node's two answers", len(got), err, 2*dht.MaxAddrsPerNode)
	}
	got, _, err := lookup(liar)
	if err != nil || len(got) == 0 {
		t.Fatalf("through a node that lists the test bed's hosts: found %v, %v", got, err)
	}
	for _, ap := range got {
		if !slices.Contains(foreign, ap) {
			t.Errorf("through a node that lists the test bed's hosts: found %v, which it did not list", ap)
		}
	}
	if !slices.Contains(foreign, netip.AddrPortFrom(p.addr, 22110)) {
		t.Errorf("foreignPeers lists no public device: %v", foreign)
	}
}

// device makes a device whose daemon and CLI run in namespace ns (a home
// device's or a public device's), listening on all its addresses at port
// 22110 (its DHT node on UDP 22110), with local discovery off and the
// local DHT as its only bootstrap. Port mapping stays on: a router without
// miniupnpd does not answer it. The first call starts the local DHT, with
// n's test: make one device before starting parallel subtests.
func (n *internet) device(t *testing.T, name, ns string) *device {
	t.Helper()
	boot := n.dhtBootstrap()
	base := t.TempDir()
	d := &device{
		t: t, name: name, home: filepath.Join(base, "home"), folder: filepath.Join(base, "folder"),
		listen: ":22110", gui: "127.0.0.1:8484", netns: ns,
		serve: []string{"--no-lan", "--dht-bootstrap", boot}, internet: true,
	}
	if err := os.MkdirAll(d.folder, 0o755); err != nil {
		t.Fatal(err)
	}
	d.id = strings.TrimSpace(d.ferry("id"))
	t.Cleanup(func() { d.stop() })
	return d
}

// reach is what a daemon's status says about how others reach it.
type reach struct {
	External string               `json:"external"`
	Mapping  string               `json:"mapping"`
	DHT      *struct{ Nodes int } `json:"dht"`
}

// reachOf reads d's reach from its status.
func reachOf(t *testing.T, d *device) reach {
	t.Helper()
	var s struct {
		Device reach `json:"device"`
	}
	if err := json.Unmarshal([]byte(d.ferry("status", "--json")), &s); err != nil {
		t.Fatalf("%s: status --json: %v", d.name, err)
	}
	return s.Device
}

// The daemon in the test bed: behind a router with miniupnpd it maps its
// sync port and says where the internet reaches it, and it joins the local
// DHT; on the internet it joins the DHT too.
func TestInternetDaemonJoins(t *testing.T) {
	n := newInternet(t)
	h := n.addHome("H", homeOptions{PortMapping: true})
	p := n.addPublic("P")
	dh, dp := n.device(t, "H", h.ns), n.device(t, "P", p.ns)
	dh.start()
	dp.start()
	t.Cleanup(func() {
		if t.Failed() {
			for _, d := range []*device{dh, dp} {
				t.Logf("%s %q log:\n%s", d.name, d.cmd.Args, tail(d.log.String(), 3000))
			}
		}
	})
	want := netip.AddrPortFrom(h.wan, 22110).String()
	waitFor(t, 20*time.Second, "H mapped and in the DHT", func() bool {
		r := reachOf(t, dh)
		return r.External == want && r.Mapping != "" && r.DHT != nil && r.DHT.Nodes > 0
	})
	waitFor(t, 20*time.Second, "P in the DHT", func() bool {
		r := reachOf(t, dp)
		return r.DHT != nil && r.DHT.Nodes > 0
	})
	mustOpen(t, p.ns, netip.MustParseAddrPort(want))
}

// mustOpen checks that a TCP call from namespace ns to ap opens.
func mustOpen(t *testing.T, ns string, ap netip.AddrPort) {
	t.Helper()
	err := inNetns(ns, func() error {
		c, err := net.DialTimeout("tcp4", ap.String(), 5*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err != nil {
		t.Fatalf("from %s, call %v: %v", ns, ap, err)
	}
}
