package lan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"ferry/proto"
)

func devID(b byte) proto.DeviceID {
	var d proto.DeviceID
	for i := range d {
		d[i] = b + byte(i)
	}
	return d
}

func mustEncode(t testing.TB, a announcement) []byte {
	t.Helper()
	b, err := encode(a)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	full := announcement{Device: devID(1)}
	for i := range MaxPorts {
		full.Ports = append(full.Ports, uint16(22000+i))
	}
	for i := range MaxOffers {
		full.Offers = append(full.Offers, uint32(i)*0x10000001)
	}
	for _, a := range []announcement{
		{Device: devID(9), Ports: []uint16{}, Offers: []uint32{}},
		{Device: devID(2), Ports: []uint16{22000}, Offers: []uint32{}},
		{Device: devID(3), Ports: []uint16{}, Offers: []uint32{7, 0xffffffff}},
		full,
	} {
		b := mustEncode(t, a)
		if want := minLen + 2*len(a.Ports) + 4*len(a.Offers); len(b) != want {
			t.Errorf("encoded %d bytes, want %d", len(b), want)
		}
		got, err := decode(b)
		if err != nil {
			t.Fatalf("decode(%x): %v", b, err)
		}
		if got.Device != a.Device || !slices.Equal(got.Ports, a.Ports) || !slices.Equal(got.Offers, a.Offers) {
			t.Errorf("round trip: got %+v, want %+v", got, a)
		}
	}
	if len(mustEncode(t, full)) != 119 {
		t.Errorf("largest announcement is not the documented 119 bytes")
	}
}

func TestEncodeRefusesWhatDecodeDrops(t *testing.T) {
	for name, a := range map[string]announcement{
		"zero device":     {},
		"port 0":          {Device: devID(1), Ports: []uint16{0}},
		"too many ports":  {Device: devID(1), Ports: make([]uint16, MaxPorts+1)},
		"too many offers": {Device: devID(1), Offers: make([]uint32, MaxOffers+1)},
	} {
		if _, err := encode(a); !errors.Is(err, errMalformed) {
			t.Errorf("%s: encode error %v, want errMalformed", name, err)
		}
	}
}

// malformed returns packets that must all be dropped.
func malformed(t *testing.T) map[string][]byte {
	good := mustEncode(t, announcement{Device: devID(1), Ports: []uint16{22000}, Offers: []uint32{5}})
	with := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	return map[string][]byte{
		"empty":          {},
		"truncated head": good[:10],
		"truncated port": good[:headerLen+2],
		"missing offer":  good[:len(good)-1],
		"trailing byte":  append(bytes.Clone(good), 0),
		"oversized":      append(bytes.Clone(good), make([]byte, MaxPacketSize)...),
		"wrong magic":    with(func(b []byte) []byte { b[0] = 'F'; return b }),
		"wrong version":  with(func(b []byte) []byte { b[4] = 2; return b }),
		"zero device":    with(func(b []byte) []byte { clear(b[5:headerLen]); return b }),
		"zero port":      with(func(b []byte) []byte { b[headerLen+1], b[headerLen+2] = 0, 0; return b }),
		"port count 9": with(func(b []byte) []byte {
			b = b[:headerLen]
			b = append(b, MaxPorts+1)
			for range MaxPorts + 1 {
				b = binary.BigEndian.AppendUint16(b, 1)
			}
			return append(b, 0)
		}),
		"offer count 17": with(func(b []byte) []byte {
			b = append(b[:headerLen], 0, MaxOffers+1)
			return append(b, make([]byte, 4*(MaxOffers+1))...)
		}),
		"port count beyond packet": with(func(b []byte) []byte { b[headerLen] = 5; return b }),
	}
}

func TestMalformedDropped(t *testing.T) {
	l := newTestLAN(t, devID(100), nil)
	src := netip.MustParseAddrPort("10.0.0.2:21025")
	packets := malformed(t)
	for name, b := range packets {
		if _, err := decode(b); !errors.Is(err, errMalformed) {
			t.Errorf("%s: decode error %v, want errMalformed", name, err)
		}
		l.handle(b, src)
	}
	n := uint64(len(packets))
	if s := l.Stats(); s.Received != n || s.Dropped != n || s.Accepted != 0 {
		t.Errorf("stats %+v, want %d received and dropped, none accepted", s, n)
	}
	if len(l.Devices()) != 0 {
		t.Errorf("malformed packets taught devices: %v", l.Devices())
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add(mustEncode(f, announcement{Device: devID(1), Ports: []uint16{22000, 22001}, Offers: []uint32{42}}))
	f.Add(mustEncode(f, announcement{Device: devID(2)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decode(b)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("error %v does not wrap errMalformed", err)
			}
			return
		}
		if len(a.Ports) > MaxPorts || len(a.Offers) > MaxOffers || a.Device.IsZero() {
			t.Fatalf("decoded out of bounds: %+v", a)
		}
		again, err := encode(a)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encode = %x, %v; want %x", again, err, b)
		}
	})
}
