package node

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zeebo/blake3"

	"ferry/engine"
	"ferry/platform"
	"ferry/proto"
)

// BenchmarkKeepManyFiles keeps 1,000 small files from 32 pulls at once, as
// a sync that replaces a thousand files does: the cost per kept file,
// which the shared commits keep to a fraction of one sync each.
func BenchmarkKeepManyFiles(b *testing.B) {
	dir := b.TempDir()
	if err := platform.InitFolder(dir); err != nil {
		b.Fatal(err)
	}
	fs, err := platform.OpenFolder(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer fs.Close()
	const files = 1000
	recs := make([]proto.FileInfo, files)
	for i := range recs {
		data := fmt.Appendf(nil, "file %d of the benchmark, round %d\n", i, time.Now().UnixNano())
		name := fmt.Sprintf("f%04d.txt", i)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
		recs[i] = proto.FileInfo{Name: name, Size: int64(len(data)), Mode: 0o644, Version: proto.Vector{{ID: 1, Value: 1}},
			Blocks: []proto.Block{{Size: int32(len(data)), Hash: blake3.Sum256(data)}}}
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		k, err := openKeeper(b.TempDir(), time.Now, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var wg sync.WaitGroup
		next := make(chan int, files)
		for i := range files {
			next <- i
		}
		close(next)
		for range 32 {
			wg.Go(func() {
				for i := range next {
					if err := k.keep("docs", fs, &engine.Keep{File: recs[i], Kind: engine.KeepReplaced, By: 2}); err != nil {
						b.Error(err)
					}
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		k.close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*files), "µs/file")
}
