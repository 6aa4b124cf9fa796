package dht

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"ferry/proto"
)

func TestKey(t *testing.T) {
	var a, b proto.DeviceID
	for i := range a {
		a[i] = byte(i + 1)
		b[i] = byte(i + 2)
	}
	k := Key(a, 100)
	if k != Key(a, 100) {
		t.Fatal("key not stable")
	}
	// A fixed vector: the key scheme is part of the protocol.
	if got := hex.EncodeToString(k[:]); got != "46a9cc60e9d1fc9a91c1c0e8ee3e2946af05240d" {
		t.Fatalf("key %s", got)
	}
	for name, other := range map[string][20]byte{
		"device": Key(b, 100),
		"window": Key(a, 101),
		"zero":   Key(proto.DeviceID{}, 100),
	} {
		if other == k {
			t.Errorf("key equal across %s", name)
		}
	}
	for n := 4; n <= len(a); n++ {
		for i := 0; i+n <= len(a); i += n {
			if bytes.Contains(k[:], a[i:i+n]) {
				t.Fatalf("key contains device ID bytes %x", a[i:i+n])
			}
		}
	}
}

func TestWindow(t *testing.T) {
	t0 := time.Unix(7200, 0)
	if windowAt(t0) != 2 || windowAt(t0.Add(-time.Second)) != 1 {
		t.Fatalf("windows %d %d", windowAt(t0), windowAt(t0.Add(-time.Second)))
	}
	if !windowEnd(t0.Add(10 * time.Minute)).Equal(time.Unix(3*3600, 0)) {
		t.Fatalf("window end %v", windowEnd(t0))
	}
}

func TestPairKey(t *testing.T) {
	k := PairKey(7, 100)
	// A fixed vector: the key scheme is part of the protocol.
	if got := hex.EncodeToString(k[:]); got != "3d5e728774e706cbf846063123ba3dfa6d87b2b8" {
		t.Fatalf("pair key %s", got)
	}
	var dev proto.DeviceID
	dev[3] = 7 // a device ID that holds the number's bytes
	for name, other := range map[string][20]byte{
		"number":     PairKey(8, 100),
		"window":     PairKey(7, 101),
		"device key": Key(dev, 100),
	} {
		if other == k {
			t.Errorf("pair key equal across %s", name)
		}
	}
}
