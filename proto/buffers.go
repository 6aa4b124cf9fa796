package proto

import (
	"math/bits"
	"sync"
)

// Block data is the bulk of what a connection carries, and a fresh buffer
// for every block makes the garbage collector run all the time. Buffers of
// up to maxPooled bytes come from pools by power-of-two size, and go back
// once their holder is done with them.
const (
	minPooledShift = 12 // 4 KiB
	maxPooledShift = 18 // 256 KiB, the default chunker's largest block
)

var blockPools [maxPooledShift - minPooledShift + 1]sync.Pool

// poolIndex is the pool for buffers of capacity 1<<shift that hold n bytes.
func poolIndex(n int) (i int, ok bool) {
	if n <= 0 || n > 1<<maxPooledShift {
		return 0, false
	}
	return max(bits.Len(uint(n-1)), minPooledShift) - minPooledShift, true
}

// GetBuffer returns a buffer of length n, from a pool when n is small
// enough. Its content is unspecified.
func GetBuffer(n int) []byte {
	i, ok := poolIndex(n)
	if !ok {
		return make([]byte, n)
	}
	if p, _ := blockPools[i].Get().(*[]byte); p != nil {
		return (*p)[:n]
	}
	return make([]byte, n, 1<<(i+minPooledShift))
}

// PutBuffer gives b back for reuse; nothing may use it afterwards. Buffers
// not from GetBuffer are taken too when their capacity fits a pool.
func PutBuffer(b []byte) {
	i, ok := poolIndex(cap(b))
	if !ok || cap(b) != 1<<(i+minPooledShift) {
		return
	}
	b = b[:0]
	blockPools[i].Put(&b)
}
