package dht

import (
	"encoding/binary"
	"time"

	"github.com/zeebo/blake3"

	"ferry/proto"
)

// keyContext separates rendezvous keys from every other BLAKE3 use.
const keyContext = "ferry dht v1"

// Window is the lifetime of one rendezvous key.
const Window = time.Hour

// Key returns the DHT infohash under which dev announces itself during
// window (Unix seconds divided by Window): the first 20 bytes of
// BLAKE3("ferry dht v1" || dev || window as 8 big-endian bytes).
func Key(dev proto.DeviceID, window int64) [20]byte {
	return rendezvous(keyContext, dev[:], window)
}

// pairContext separates the keys of pairing offers from devices' keys.
const pairContext = "ferry pair v1"

// PairKey returns the infohash under which a device shows pairing offer
// number during window: the first 20 bytes of BLAKE3("ferry pair v1" ||
// number as 4 big-endian bytes || window as 8 big-endian bytes). It
// depends only on the offer number, which the code shows in clear, never
// on its words; see the package doc.
func PairKey(number uint32, window int64) [20]byte {
	return rendezvous(pairContext, binary.BigEndian.AppendUint32(nil, number), window)
}

// rendezvous hashes a context, an ID and a window into an infohash.
func rendezvous(context string, id []byte, window int64) [20]byte {
	h := blake3.New()
	h.Write([]byte(context))
	h.Write(id)
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(window)))
	var sum [32]byte
	h.Sum(sum[:0])
	var k [20]byte
	copy(k[:], sum[:])
	return k
}

// windowAt returns the key window that contains t.
func windowAt(t time.Time) int64 {
	return t.Unix() / int64(Window/time.Second)
}

// windowEnd returns when the window containing t ends.
func windowEnd(t time.Time) time.Time {
	return time.Unix((windowAt(t)+1)*int64(Window/time.Second), 0)
}
