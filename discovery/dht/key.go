package dht

import (
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
	h := blake3.New()
	h.Write([]byte(keyContext))
	h.Write(dev[:])
	var w [8]byte
	for i := range w {
		w[i] = byte(uint64(window) >> (56 - 8*i))
	}
	h.Write(w[:])
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
