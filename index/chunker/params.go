package chunker

import (
	"fmt"
	"math/bits"
)

// Params bounds the size of blocks, in bytes.
type Params struct {
	Min int // no block is shorter, except the last one of a stream
	Avg int // the target average; a power of two
	Max int // no block is longer
}

// DefaultParams are ferry's block sizes. Blocks cut with other parameters
// have other hashes, so every device of a folder must use the same ones.
var DefaultParams = Params{Min: 16 << 10, Avg: 64 << 10, Max: 256 << 10}

// Limits of Params.
const (
	MinBlockSize = 64       // smallest allowed Min: the width of the hash window
	MaxBlockSize = 16 << 20 // largest allowed Max
	minAvgBits   = 8        // Avg >= 256
)

// Validate reports whether p describes a usable chunking: MinBlockSize <= Min
// < Avg < Max <= MaxBlockSize, with Avg a power of two.
func (p Params) Validate() error {
	switch {
	case p.Min < MinBlockSize:
		return fmt.Errorf("chunker params: min %d is below %d", p.Min, MinBlockSize)
	case p.Avg < 1<<minAvgBits || p.Avg&(p.Avg-1) != 0:
		return fmt.Errorf("chunker params: avg %d is not a power of two of at least %d", p.Avg, 1<<minAvgBits)
	case p.Min >= p.Avg:
		return fmt.Errorf("chunker params: min %d is not below avg %d", p.Min, p.Avg)
	case p.Avg >= p.Max:
		return fmt.Errorf("chunker params: avg %d is not below max %d", p.Avg, p.Max)
	case p.Max > MaxBlockSize:
		return fmt.Errorf("chunker params: max %d is above %d", p.Max, MaxBlockSize)
	}
	return nil
}

// masks returns the normalized-chunking masks (level 2) for p: maskS, used
// before Avg, has log2(Avg)+2 bits; maskL, used from Avg on, log2(Avg)-2.
func (p Params) masks() (maskS, maskL uint64) {
	n := bits.Len(uint(p.Avg)) - 1
	return highMask(n + 2), highMask(n - 2)
}

// highMask returns a run of n one bits ending at bit 62. Leaving bit 63 out
// lets the two-byte loop test the intermediate fingerprint shifted left by one.
func highMask(n int) uint64 {
	return (uint64(1)<<n - 1) << (63 - n)
}

// bufSize is the size of the read buffer for p: room for several maximal
// blocks, so that moving the unread tail to the front stays rare and short.
func (p Params) bufSize() int { return 4 * p.Max }
