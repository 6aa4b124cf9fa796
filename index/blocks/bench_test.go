package blocks

import (
	"bytes"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"ferry/index/chunker"
)

const benchFileSize = 64 << 20

// benchFile returns benchFileSize bytes of seeded random data.
func benchFile() []byte {
	data := make([]byte, benchFileSize)
	rand.NewChaCha8([32]byte{42}).Read(data)
	return data
}

// cutBlocks cuts data with the chunker's default parameters.
func cutBlocks(b *testing.B, data []byte) []Block {
	pbs, err := chunker.Blocks(bytes.NewReader(data), chunker.DefaultParams)
	if err != nil {
		b.Fatal(err)
	}
	bs := make([]Block, len(pbs))
	for i, pb := range pbs {
		bs[i] = Block{Hash: pb.Hash, Data: data[pb.Offset : pb.Offset+int64(pb.Size)]}
	}
	return bs
}

// edit makes three edits of 100 to 500 bytes at random offsets: an
// insertion or an overwrite each.
func edit(rng *rand.Rand, data []byte) []byte {
	for range 3 {
		patch := make([]byte, 100+rng.IntN(401))
		for i := range patch {
			patch[i] = byte(rng.Uint32())
		}
		off := rng.IntN(len(data) - len(patch))
		if rng.IntN(2) == 0 {
			data = slices.Insert(data, off, patch...)
		} else {
			copy(data[off:], patch)
		}
	}
	return data
}

// BenchmarkTenVersions stores ten versions of a 64 MiB file, each a few
// small edits away from the one before, each cut by the chunker. It reports
// the store's pack bytes over the file size and the throughput of Put alone,
// over all versions and for the first one, whose blocks are all new (the
// benchmark's MB/s counts cutting too).
func BenchmarkTenVersions(b *testing.B) {
	const versions = 10
	base := benchFile()
	b.SetBytes(versions * benchFileSize)
	var putTime, firstTime time.Duration
	var packBytes int64
	iterations := 0
	for b.Loop() {
		b.StopTimer()
		dir, err := os.MkdirTemp("", "blocks-bench-")
		if err != nil {
			b.Fatal(err)
		}
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		data := slices.Clone(base)
		rng := rand.New(rand.NewPCG(1, 2))
		b.StartTimer()
		for v := range versions {
			if v > 0 {
				data = edit(rng, data)
			}
			bs := cutBlocks(b, data)
			start := time.Now()
			if err := s.Put(bs); err != nil {
				b.Fatal(err)
			}
			putTime += time.Since(start)
			if v == 0 {
				firstTime += time.Since(start)
			}
		}
		b.StopTimer()
		st, err := s.Stats()
		if err != nil {
			b.Fatal(err)
		}
		packBytes = st.PackBytes
		s.Close()
		os.RemoveAll(dir)
		iterations++
		b.StartTimer()
	}
	b.ReportMetric(float64(packBytes)/benchFileSize, "packbytes/filesize")
	b.ReportMetric(float64(iterations*versions*benchFileSize)/1e6/putTime.Seconds(), "put-MB/s")
	b.ReportMetric(float64(iterations*benchFileSize)/1e6/firstTime.Seconds(), "put-new-MB/s")
}

// BenchmarkGet reads a 64 MiB file's blocks back, verified, in random
// order.
func BenchmarkGet(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	bs := cutBlocks(b, benchFile())
	if err := s.Put(bs); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	order := rng.Perm(len(bs))
	buf := make([]byte, 0, chunker.DefaultParams.Max)
	b.SetBytes(benchFileSize)
	for b.Loop() {
		for _, i := range order {
			data, err := s.Get(bs[i].Hash, buf)
			if err != nil {
				b.Fatal(err)
			}
			buf = data
		}
	}
}
