package engine

import (
	"fmt"
	"runtime"
	"testing"

	"ferry/proto"
)

// generatedStore yields files small files, each held by this device and by
// one peer in the same version, made as they are read: the store itself
// holds nothing, so the heap an engine keeps after New is its own.
type generatedStore struct{ files int }

func (s generatedStore) record(i int) proto.FileInfo {
	var h proto.Hash
	h[0], h[1], h[2], h[3] = byte(i), byte(i>>8), byte(i>>16), 0x5a
	size := int32(i % 4096)
	f := proto.FileInfo{
		Name:     fmt.Sprintf("library-%02d/album %03d/IMG_%07d_holiday.jpg", i/100_000, i/300%1000, i),
		Type:     proto.FileTypeFile,
		Size:     int64(size),
		Mode:     0o644,
		ModTime:  1_700_000_000_000_000_000 + int64(i),
		Version:  proto.Vector{{ID: devP.Short(), Value: uint64(i + 1)}},
		Sequence: int64(i + 1),
	}
	if size > 0 {
		f.Blocks = []proto.Block{{Size: size, Hash: h}}
	}
	return f
}

func (s generatedStore) Each(fn func(proto.DeviceID, proto.FileInfo) error) error {
	for _, dev := range []proto.DeviceID{{}, devP} {
		for i := range s.files {
			if err := fn(dev, s.record(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Summarized is false: the engine makes the summaries, which the first
// Ready writes.
func (generatedStore) Summarized() (bool, error) { return false, nil }

func (generatedStore) Summaries(prefix, after string, limit int) ([]Summary, error) { return nil, nil }

func (generatedStore) BlockSource(proto.Hash) (string, int64, bool, error) {
	return "", 0, false, nil
}

// BenchmarkEngineMemory loads a folder of 100,000 small files, in sync
// with one peer, and reports the heap the engine keeps per file: the
// figure that bounds a daemon's memory on a large folder.
func BenchmarkEngineMemory(b *testing.B) {
	const files = 100_000
	cfg := Config{Folder: "docs", Local: devL, Devices: []proto.DeviceID{devP}}
	var perFile float64
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		e, err := New(cfg, generatedStore{files}, State{IndexID: 1, LastSequence: files})
		if err != nil {
			b.Fatal(err)
		}
		e.Advance() // what the daemon keeps once the first writes are committed
		runtime.GC()
		runtime.ReadMemStats(&after)
		perFile = float64(after.HeapAlloc-before.HeapAlloc) / files
		runtime.KeepAlive(e)
	}
	b.ReportMetric(perFile, "heap-B/file")
}
