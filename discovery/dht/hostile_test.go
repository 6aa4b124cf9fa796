package dht

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
)

// hostileNode answers every KRPC query with garbage first, then with a
// well-formed reply whose get_peers values list thousands of addresses.
func hostileNode(t *testing.T) string {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	id := krpc.RandomNodeID()
	var values []krpc.NodeAddr
	for i := range 3000 {
		values = append(values, krpc.NodeAddr{IP: net.IPv4(10, 0, byte(i>>8), byte(i)).To4(), Port: 1000 + i})
	}
	values = append(values, krpc.NodeAddr{IP: net.IPv4(10, 9, 9, 9).To4(), Port: 0})
	go func() {
		buf := make([]byte, 1<<16)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			var m krpc.Msg
			if bencode.Unmarshal(buf[:n], &m) != nil || m.Y != "q" {
				continue
			}
			for _, junk := range [][]byte{
				{0xff, 0x00, 0x13},
				[]byte("d1:t" + "2:" + m.T + "1:y1:r1:rli1eee"),
				[]byte("de"),
				[]byte("d1:rd2:id3:abce1:t" + "2:" + m.T + "1:y1:re"),
			} {
				conn.WriteTo(junk, from)
			}
			r := krpc.Return{ID: id}
			if m.Q == "get_peers" {
				tok := "tok"
				r.Token = &tok
				r.Values = values
			}
			b, err := bencode.Marshal(krpc.Msg{T: m.T, Y: "r", R: &r})
			if err != nil {
				panic(err)
			}
			conn.WriteTo(b, from)
		}
	}()
	return conn.LocalAddr().String()
}

func TestHostileNode(t *testing.T) {
	evil := hostileNode(t)
	d := newTestDHT(t, Config{Bootstrap: []string{evil}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := d.Lookup(ctx, device(9))
	if err != nil {
		t.Fatal(err)
	}
	// The node lists 3,001 peers for each of the two windows looked up;
	// it adds MaxAddrsPerNode for each.
	if len(got) != 2*MaxAddrsPerNode {
		t.Fatalf("got %d addresses, want the bound of %d per node and window", len(got), MaxAddrsPerNode)
	}
	seen := map[netip.AddrPort]bool{}
	for _, ap := range got {
		if seen[ap] || ap.Port() == 0 {
			t.Fatalf("duplicate or invalid %v", ap)
		}
		seen[ap] = true
	}
	s := d.Stats()
	if s.DroppedPackets == 0 {
		t.Fatalf("garbage datagrams not dropped: %+v", s)
	}

	// Raw garbage sent straight at the node does not stop it.
	c, err := net.Dial("udp", d.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, junk := range []string{"", "x", "d", "de", "d1:y1:qe", "li1ee", "d1:q4:ping1:t1:x1:y1:qe"} {
		c.Write([]byte(junk))
	}
	if got, err := d.Lookup(ctx, device(10)); err != nil || len(got) > MaxAddrsPerDevice {
		t.Fatalf("after garbage: %d addresses, %v", len(got), err)
	}
}
