package chunker

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"testing/iotest"
)

// randBytes returns n bytes of seeded random data.
func randBytes(seed uint64, n int) []byte {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

// smallParams cut often, so small inputs exercise many boundaries.
var smallParams = Params{Min: 256, Avg: 1024, Max: 4096}

// referenceCut is FastCDC as the paper writes it, one byte at a time.
func referenceCut(src []byte, p Params) int {
	maskS, maskL := p.masks()
	n := len(src)
	if n <= p.Min {
		return n
	}
	n = min(n, p.Max)
	normal := min(p.Avg, n)
	var fp uint64
	for i := p.Min; i < n; i++ {
		fp = fp<<1 + gear.g[src[i]]
		mask := maskL
		if i < normal {
			mask = maskS
		}
		if fp&mask == 0 {
			return i + 1
		}
	}
	return n
}

func referenceSizes(data []byte, p Params) []int {
	var sizes []int
	for len(data) > 0 {
		n := referenceCut(data, p)
		sizes = append(sizes, n)
		data = data[n:]
	}
	return sizes
}

func chunkSizes(t *testing.T, r io.Reader, p Params) []int {
	t.Helper()
	var sizes []int
	c := New(r, p)
	var want int64
	for {
		off, data, err := c.Next()
		if err == io.EOF {
			return sizes
		}
		if err != nil {
			t.Fatal(err)
		}
		if off != want {
			t.Fatalf("block %d at offset %d, want %d", len(sizes), off, want)
		}
		want += int64(len(data))
		sizes = append(sizes, len(data))
	}
}

func TestMatchesReference(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		data []byte
	}{
		{"small params", smallParams, randBytes(1, 1<<20+3)},
		{"default params", DefaultParams, randBytes(2, 8<<20+1)},
		{"odd bounds", Params{Min: 65, Avg: 256, Max: 999}, randBytes(3, 100_000)},
		{"zeros", smallParams, make([]byte, 50_000)},
		{"short", DefaultParams, randBytes(4, 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := chunkSizes(t, bytes.NewReader(tt.data), tt.p)
			want := referenceSizes(tt.data, tt.p)
			if !slices.Equal(got, want) {
				t.Fatalf("got %d blocks, reference %d; first difference at %d", len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

func firstDiff(a, b []int) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestSmallReads(t *testing.T) {
	data := randBytes(5, 300_000)
	want := referenceSizes(data, smallParams)
	readers := map[string]io.Reader{
		"half":     iotest.HalfReader(bytes.NewReader(data)),
		"one byte": iotest.OneByteReader(bytes.NewReader(data)),
		"data+EOF": iotest.DataErrReader(bytes.NewReader(data)),
	}
	for name, r := range readers {
		if got := chunkSizes(t, r, smallParams); !slices.Equal(got, want) {
			t.Errorf("%s: blocks differ from reference at %d", name, firstDiff(got, want))
		}
	}
}

func TestBounds(t *testing.T) {
	inputs := map[string][]byte{
		"random": randBytes(6, 4<<20),
		"zeros":  make([]byte, 4<<20),
		"text":   bytes.Repeat([]byte("ferry keeps folders in sync. "), 150_000),
	}
	for name, data := range inputs {
		sizes := chunkSizes(t, bytes.NewReader(data), DefaultParams)
		total := 0
		for i, n := range sizes {
			total += n
			last := i == len(sizes)-1
			if n > DefaultParams.Max || (n < DefaultParams.Min && !last) || n == 0 {
				t.Errorf("%s: block %d of %d has size %d", name, i, len(sizes), n)
			}
		}
		if total != len(data) {
			t.Errorf("%s: blocks cover %d bytes, want %d", name, total, len(data))
		}
	}
}

func TestZerosCutAtMax(t *testing.T) {
	sizes := chunkSizes(t, bytes.NewReader(make([]byte, 10*DefaultParams.Max)), DefaultParams)
	for i, n := range sizes {
		if n != DefaultParams.Max {
			t.Fatalf("block %d of zeros has size %d, want %d", i, n, DefaultParams.Max)
		}
	}
}

func TestAverageSize(t *testing.T) {
	data := randBytes(7, 32<<20)
	sizes := chunkSizes(t, bytes.NewReader(data), DefaultParams)
	avg := len(data) / len(sizes)
	lo, hi := DefaultParams.Avg*3/4, DefaultParams.Avg*5/4
	if avg < lo || avg > hi {
		t.Fatalf("average block size %d, want within [%d, %d]", avg, lo, hi)
	}
	t.Logf("%d blocks, average %d bytes", len(sizes), avg)
}

func TestEmpty(t *testing.T) {
	blocks, err := Blocks(bytes.NewReader(nil), DefaultParams)
	if err != nil || blocks != nil {
		t.Fatalf("Blocks(empty) = %v, %v; want nil, nil", blocks, err)
	}
	c := New(bytes.NewReader(nil), DefaultParams)
	for range 2 {
		if _, data, err := c.Next(); err != io.EOF || data != nil {
			t.Fatalf("Next on empty stream = %v, %v; want nil, io.EOF", data, err)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		p  Params
		ok bool
	}{
		{DefaultParams, true},
		{smallParams, true},
		{Params{Min: 64, Avg: 256, Max: 257}, true},
		{Params{}, false},
		{Params{Min: 63, Avg: 256, Max: 1024}, false},
		{Params{Min: 64, Avg: 128, Max: 1024}, false},
		{Params{Min: 256, Avg: 1000, Max: 4096}, false},
		{Params{Min: 1024, Avg: 1024, Max: 4096}, false},
		{Params{Min: 256, Avg: 4096, Max: 4096}, false},
		{Params{Min: 1 << 20, Avg: 1 << 22, Max: MaxBlockSize + 1}, false},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tt.p, err, tt.ok)
		}
		_, _, nextErr := New(bytes.NewReader([]byte("x")), tt.p).Next()
		if !tt.ok && (nextErr == nil || nextErr.Error() != err.Error()) {
			t.Errorf("%+v: Next() = %v, want the validation error", tt.p, nextErr)
		}
	}
}

func TestReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(bytes.NewReader(randBytes(8, 1<<20)), iotest.ErrReader(boom))
	if _, err := Blocks(r, DefaultParams); !errors.Is(err, boom) {
		t.Fatalf("Blocks = %v, want %v", err, boom)
	}
}

func TestNoAllocationPerBlock(t *testing.T) {
	data := randBytes(9, 8<<20)
	allocs := testing.AllocsPerRun(2, func() {
		c := New(bytes.NewReader(data), DefaultParams)
		for {
			if _, _, err := c.Next(); err != nil {
				break
			}
		}
	})
	if allocs > 3 {
		t.Fatalf("chunking 8 MiB made %v allocations, want at most 3", allocs)
	}
}

func TestBlocksMemoryIsFlat(t *testing.T) {
	const size = 64 << 20
	var s [32]byte
	r := io.LimitReader(rand.NewChaCha8(s), size)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	blocks, err := Blocks(r, DefaultParams)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if n := blocks[len(blocks)-1].Offset + int64(blocks[len(blocks)-1].Size); n != size {
		t.Fatalf("blocks cover %d bytes, want %d", n, size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Fatalf("hashing %d MiB allocated %d bytes, want under 4 MiB", size>>20, alloc)
	}
}

// TestFormatIsPinned fails when a change to the table, the masks or the rules
// would give existing files different blocks.
func TestFormatIsPinned(t *testing.T) {
	if got, want := gear.g[0], uint64(0x69bed38dda3ce46e); got != want {
		t.Errorf("gear[0] = %#x, want %#x", got, want)
	}
	blocks, err := Blocks(bytes.NewReader(randBytes(10, 1<<20)), DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int32
	var all []byte
	for _, b := range blocks {
		sizes = append(sizes, b.Size)
		all = append(all, b.Hash[:]...)
	}
	wantSizes := []int32{71560, 98002, 95233, 92742, 99272, 81325, 68608, 77841, 26312, 83804, 90141, 66594, 68736, 28406}
	if !slices.Equal(sizes, wantSizes) {
		t.Errorf("block sizes %v, want %v", sizes, wantSizes)
	}
	if got, want := HashBlock(all).String(), "1e9c7fda9b10e604be92250d227187ac592e3df82c6a7fbe8bdd6a3216ef61aa"; got != want {
		t.Errorf("hash of block hashes %s, want %s", got, want)
	}
}
