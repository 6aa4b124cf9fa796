package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Bandwidth limits between two daemons over loopback. A moves a 20 MB
// file to B; B's bytes received from A (its inBytes, application bytes)
// are measured over 10 s once the transfer runs, which must be within 10%
// of the limit.
const (
	bwFileSize = 20_000_000
	bwWindow   = 10 * time.Second
)

// A limit of 1,000,000 bytes per second that A sets on what it sends to B
// holds on loopback: a device's own limits apply on the local network.
func TestBandwidthDeviceSendLimit(t *testing.T) {
	a, b := bwPair(t)
	editConfig(t, a, func(c map[string]any) {
		for _, d := range c["devices"].([]any) {
			if d := d.(map[string]any); d["id"] == b.id {
				d["maxSend"] = 1_000_000
			}
		}
	})
	a.start()
	b.start()
	assertRate(t, b, a.id, 1_000_000)
	if !strings.Contains(a.log.String(), "bandwidth limits of a device") {
		t.Errorf("A did not log its limits:\n%s", tail(a.log.String(), 2000))
	}
}

// `ferry device set --max-send` on a running daemon holds at once.
func TestBandwidthDeviceSetLive(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	pair(a, b)
	a.start()
	b.start()
	waitFor(t, 20*time.Second, "connected", func() bool { return b.peer(a.id).Connected })
	a.ferry("device", "set", b.id, "--max-send", "1M")
	writeFile(t, a.path("big.bin"), randomBytes(78, bwFileSize), 0o644)
	assertRate(t, b, a.id, 1<<20)
}

// The same transfer with no limit is far faster (a sanity check of the
// measure above).
func TestBandwidthUnlimited(t *testing.T) {
	a, b := bwPair(t)
	a.start()
	b.start()
	start := time.Now()
	waitFor(t, 30*time.Second, "B has the file", func() bool { return b.peer(a.id).InBytes >= bwFileSize })
	rate := bwFileSize / time.Since(start).Seconds()
	t.Logf("with no limit B received %d bytes at %.0f bytes/s or more", bwFileSize, rate)
	if rate < 4_000_000 {
		t.Fatalf("with no limit B received at only %.0f bytes/s", rate)
	}
}

// B's --max-recv 1M (1,048,576 bytes per second) holds on loopback when
// its config sets limitLAN; it replaces the config's maxRecv.
func TestBandwidthRecvLimitFlag(t *testing.T) {
	a, b := bwPair(t)
	editConfig(t, b, func(c map[string]any) {
		c["limitLAN"] = true
		c["maxRecv"] = 100_000
	})
	b.serve = []string{"--max-recv", "1M"}
	a.start()
	b.start()
	assertRate(t, b, a.id, 1<<20)
}

// bwPair makes two paired devices, A with the large file.
func bwPair(t *testing.T) (a, b *device) {
	a, b = newDevice(t, "A"), newDevice(t, "B")
	writeFile(t, a.path("big.bin"), randomBytes(77, bwFileSize), 0o644)
	pair(a, b)
	return a, b
}

// assertRate waits until the transfer from peer to d runs, measures it
// over bwWindow and checks it is within 10% of want bytes per second.
func assertRate(t *testing.T, d *device, peer string, want float64) {
	t.Helper()
	waitFor(t, 30*time.Second, "the transfer to run", func() bool { return d.peer(peer).InBytes >= 1_500_000 })
	in0, t0 := d.peer(peer).InBytes, time.Now()
	time.Sleep(bwWindow)
	in1, t1 := d.peer(peer).InBytes, time.Now()
	if in1 >= bwFileSize {
		t.Fatalf("the whole file arrived within the window: no limit held (%d bytes)", in1)
	}
	rate := float64(in1-in0) / t1.Sub(t0).Seconds()
	t.Logf("%s received %d bytes in %v: %.0f bytes/s, limit %.0f", d.name, in1-in0, t1.Sub(t0).Round(time.Millisecond), rate, want)
	if rate < 0.9*want || rate > 1.1*want {
		t.Fatalf("%s received at %.0f bytes/s, want %.0f ± 10%%", d.name, rate, want)
	}
}

// editConfig changes d's config file while its daemon is stopped.
func editConfig(t *testing.T, d *device, change func(map[string]any)) {
	t.Helper()
	path := filepath.Join(d.home, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var c map[string]any
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	change(c)
	if data, err = json.MarshalIndent(c, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
