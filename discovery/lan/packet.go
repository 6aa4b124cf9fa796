package lan

import (
	"encoding/binary"
	"errors"
	"fmt"

	"ferry/proto"
)

// Wire constants; doc.go describes the layout.
const (
	magic   uint32 = 0x66657279 // "fery"
	version byte   = 1

	// MaxPorts is the most listen ports one announcement carries.
	MaxPorts = 8
	// MaxOffers is the most pairing offers one announcement carries.
	MaxOffers = 16
	// MaxPacketSize bounds a received datagram; longer ones are dropped
	// without being parsed.
	MaxPacketSize = 1024

	headerLen = 4 + 1 + len(proto.DeviceID{}) // magic, version, device
	minLen    = headerLen + 1 + 1             // and two empty counts
)

var errMalformed = errors.New("malformed announcement")

// announcement is one decoded packet.
type announcement struct {
	Device proto.DeviceID
	Ports  []uint16
	Offers []uint32
}

// encode returns the wire form of a. It refuses what decode would refuse,
// so a peer never drops a packet we built.
func encode(a announcement) ([]byte, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, minLen+2*len(a.Ports)+4*len(a.Offers))
	b = binary.BigEndian.AppendUint32(b, magic)
	b = append(b, version)
	b = append(b, a.Device[:]...)
	b = append(b, byte(len(a.Ports)))
	for _, p := range a.Ports {
		b = binary.BigEndian.AppendUint16(b, p)
	}
	b = append(b, byte(len(a.Offers)))
	for _, o := range a.Offers {
		b = binary.BigEndian.AppendUint32(b, o)
	}
	return b, nil
}

// check enforces the bounds both ends agree on.
func (a announcement) check() error {
	switch {
	case a.Device.IsZero():
		return fmt.Errorf("%w: zero device ID", errMalformed)
	case len(a.Ports) > MaxPorts:
		return fmt.Errorf("%w: %d ports, at most %d", errMalformed, len(a.Ports), MaxPorts)
	case len(a.Offers) > MaxOffers:
		return fmt.Errorf("%w: %d offers, at most %d", errMalformed, len(a.Offers), MaxOffers)
	}
	for _, p := range a.Ports {
		if p == 0 {
			return fmt.Errorf("%w: port 0", errMalformed)
		}
	}
	return nil
}

// decode parses one datagram. The length must match the counts exactly.
func decode(b []byte) (announcement, error) {
	var a announcement
	if len(b) > MaxPacketSize {
		return a, fmt.Errorf("%w: %d bytes, at most %d", errMalformed, len(b), MaxPacketSize)
	}
	if len(b) < minLen {
		return a, fmt.Errorf("%w: %d bytes, at least %d", errMalformed, len(b), minLen)
	}
	if m := binary.BigEndian.Uint32(b); m != magic {
		return a, fmt.Errorf("%w: magic %#x", errMalformed, m)
	}
	if v := b[4]; v != version {
		return a, fmt.Errorf("%w: version %d, want %d", errMalformed, v, version)
	}
	copy(a.Device[:], b[5:headerLen])
	rest, ports, err := readPorts(b[headerLen:])
	if err != nil {
		return a, err
	}
	offers, err := readOffers(rest)
	if err != nil {
		return a, err
	}
	a.Ports, a.Offers = ports, offers
	return a, a.check()
}

func readPorts(b []byte) (rest []byte, ports []uint16, err error) {
	n := int(b[0])
	if n > MaxPorts {
		return nil, nil, fmt.Errorf("%w: %d ports, at most %d", errMalformed, n, MaxPorts)
	}
	b = b[1:]
	if len(b) < 2*n+1 {
		return nil, nil, fmt.Errorf("%w: truncated ports", errMalformed)
	}
	ports = make([]uint16, n)
	for i := range ports {
		ports[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return b[2*n:], ports, nil
}

func readOffers(b []byte) ([]uint32, error) {
	n := int(b[0])
	if n > MaxOffers {
		return nil, fmt.Errorf("%w: %d offers, at most %d", errMalformed, n, MaxOffers)
	}
	b = b[1:]
	if len(b) != 4*n {
		return nil, fmt.Errorf("%w: %d bytes of offers for %d offers", errMalformed, len(b), n)
	}
	offers := make([]uint32, n)
	for i := range offers {
		offers[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	return offers, nil
}
