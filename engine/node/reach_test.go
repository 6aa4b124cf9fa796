package node

import (
	"path/filepath"
	"testing"
	"time"

	"ferry/discovery/dht"
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
	st, err := a.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Device.DHT == nil || st.Device.DHT.Nodes == 0 || st.Device.DHT.Lookups == 0 {
		t.Fatalf("dht status %+v: want nodes and lookups", st.Device.DHT)
	}
	if st.Device.External != "" {
		t.Fatalf("external address %q without port mapping", st.Device.External)
	}
}
