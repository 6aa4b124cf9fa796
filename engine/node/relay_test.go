package node

import (
	"bytes"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ferry/engine/config"
	"ferry/proto"
	"ferry/web"
)

// trust makes n trust dev at addrs, sharing the folders listed.
func trust(t testing.TB, n *testNode, dev proto.DeviceID, addrs []string, folders ...string) {
	t.Helper()
	err := n.changeConfig(func(c *config.Config) error {
		if _, ok := c.Device(dev); !ok {
			if err := c.AddDevice(config.Device{ID: dev, Addrs: addrs}); err != nil {
				return err
			}
		} else {
			for i := range c.Devices {
				if c.Devices[i].ID == dev {
					c.Devices[i].Addrs = addrs
				}
			}
		}
		for _, f := range folders {
			if err := c.ShareFolder(f, dev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// peerStatus is n's status of dev.
func peerStatus(t testing.TB, n *testNode, dev proto.DeviceID) web.DeviceStatus {
	t.Helper()
	st, err := n.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range st.Devices {
		if d.ID == dev.String() {
			return d
		}
	}
	return web.DeviceStatus{}
}

// relayedTrio runs a relay and two devices that know only the relay's
// address: each trusts the other two, and a and b share "docs".
func relayedTrio(t testing.TB) (relay, a, b *testNode) {
	t.Helper()
	base := t.TempDir()
	relay = startNode(t, "relay", nil)
	a = startNode(t, "a", map[string]string{"docs": filepath.Join(base, "a")})
	b = startNode(t, "b", map[string]string{"docs": filepath.Join(base, "b")})
	trust(t, relay, a.id, nil)
	trust(t, relay, b.id, nil)
	trust(t, a, relay.id, []string{relay.addr})
	trust(t, b, relay.id, []string{relay.addr})
	trust(t, a, b.id, nil, "docs")
	trust(t, b, a.id, nil, "docs")
	return relay, a, b
}

// Two devices that cannot reach each other connect through a device both
// trust and sync; the relay forwards only ciphertext and keeps nothing;
// once one learns the other's address, a direct connection replaces the
// relayed one.
func TestRelayedConnectionSyncs(t *testing.T) {
	relay, a, b := relayedTrio(t)
	waitUntil(t, func() bool {
		s := peerStatus(t, a, b.id)
		return s.Connected && s.Via == "relay" && s.Relay == relay.id.String()
	})
	waitUntil(t, func() bool {
		s := peerStatus(t, b, a.id)
		return s.Connected && s.Via == "relay" && s.Relay == relay.id.String()
	})
	// Content that compresses poorly and is easy to look for.
	content := bytes.Repeat([]byte("ferry relayed plaintext marker 7f3a "), 64<<10)
	aDocs := a.folders["docs"].cfg.Path
	bDocs := b.folders["docs"].cfg.Path
	if err := os.WriteFile(filepath.Join(aDocs, "big.txt"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Scan(t.Context(), "docs", ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool {
		got, err := os.ReadFile(filepath.Join(bDocs, "big.txt"))
		return err == nil && bytes.Equal(got, content)
	})
	st, err := relay.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Device.Relay.Forwarded < int64(len(content)) || st.Device.Relay.Streams != 1 {
		t.Fatalf("relay status %+v: want one stream and more than %d bytes forwarded", st.Device.Relay, len(content))
	}
	// The relay never held a session of theirs: it has no connection
	// between them to show, and nothing it stores holds the plaintext.
	if s := peerStatus(t, relay, a.id); s.Via == "relay" {
		t.Fatalf("the relay's own connection to a is %+v", s)
	}
	marker := []byte("ferry relayed plaintext marker")
	filepath.WalkDir(relay.opts.Home, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if data, _ := os.ReadFile(p); bytes.Contains(data, marker) {
				t.Errorf("the relay's %s holds plaintext", p)
			}
		}
		return nil
	})

	trust(t, a, b.id, []string{b.addr}, "docs")
	waitUntil(t, func() bool {
		s := peerStatus(t, a, b.id)
		return s.Connected && s.Via == "address"
	})
	waitUntil(t, func() bool {
		st, err := relay.Status(t.Context())
		return err == nil && st.Device.Relay.Streams == 0
	})
	waitUntil(t, func() bool { return peerStatus(t, b, a.id).Via == "incoming" })
}

// A relay with relaying turned off refuses, and the two stay apart; once
// it relays they connect.
func TestRelayOffRefuses(t *testing.T) {
	relay, a, b := relayedTrio(t)
	if err := relay.changeConfig(func(c *config.Config) error { c.Relay = &config.Relay{Off: true}; return nil }); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool {
		st, err := relay.Status(t.Context())
		return err == nil && st.Device.Relay.Refused >= 2
	})
	if s := peerStatus(t, a, b.id); s.Connected {
		t.Fatalf("connected through a relay that is off: %+v", s)
	}
	if err := relay.changeConfig(func(c *config.Config) error { c.Relay = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return peerStatus(t, a, b.id).Via == "relay" })
}

// silentListener accepts connections and never answers, as a host at an
// address a DHT made up might.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return ln.Addr().String()
}

// Addresses that accept and never answer do not hold up the one that
// works: they are dialled together, and each waits out its handshake
// alone.
func TestDialGoesPastSilentAddresses(t *testing.T) {
	a, b := startNode(t, "a", nil), startNode(t, "b", nil)
	var addrs []string
	for range dialParallel - 1 {
		addrs = append(addrs, silentListener(t))
	}
	addrs = append(addrs, "127.0.0.1:1", silentListener(t), b.addr)
	trust(t, b, a.id, nil)
	start := time.Now()
	trust(t, a, b.id, addrs)
	waitUntil(t, func() bool { return peerStatus(t, a, b.id).Connected })
	if took := time.Since(start); took >= handshakeTimeout {
		t.Fatalf("connected after %v, past the handshake timeout of the silent addresses", took)
	}
}

// A device given its own address for another (as a hostile DHT node may
// give) refuses the connection on both ends and never lists itself as a
// pending device.
func TestDialingItselfIsRefused(t *testing.T) {
	a := startNode(t, "a", nil)
	trust(t, a, proto.DeviceID{0xee}, []string{a.addr})
	time.Sleep(3 * dialMinBackoff)
	st, err := a.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Pending) != 0 {
		t.Fatalf("pending after dialling itself: %+v", st.Pending)
	}
	if s := peerStatus(t, a, proto.DeviceID{0xee}); s.Connected {
		t.Fatalf("connected to itself as another device: %+v", s)
	}
}
