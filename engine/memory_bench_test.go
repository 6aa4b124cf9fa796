package engine

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"

	"ferry/proto"
)

// generatedStore yields files small files in name order, each held by this
// device and by one peer in the same version, with their summaries, made
// as they are read: the store itself holds nothing, so the heap an engine
// keeps after New is its own.
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

func (generatedStore) Summarized() (bool, error) { return true, nil }

func (s generatedStore) stored(i int) Stored {
	f := s.record(i)
	return Stored{
		Name: f.Name, Local: &f, Remote: []RemoteFile{{Device: devP, File: f}},
		Summary: shareOf(f.Name, &f, &f, NeedNone).summary(f.Name), Summarized: true,
	}
}

// after is the index of the first name above name.
func (s generatedStore) after(name string) int {
	return sort.Search(s.files, func(i int) bool { return s.record(i).Name > name })
}

func (s generatedStore) Summaries(prefix, after string, limit int) ([]Summary, error) {
	sts, _ := s.Range(prefix, after, limit)
	out := make([]Summary, len(sts))
	for i, st := range sts {
		out[i] = st.Summary
		out[i].Name = st.Name
	}
	return out, nil
}

func (s generatedStore) Range(prefix, after string, limit int) ([]Stored, error) {
	var out []Stored
	for i := s.after(max(after, prefix)); i < s.files && len(out) < limit; i++ {
		st := s.stored(i)
		if !strings.HasPrefix(st.Name, prefix) {
			break
		}
		out = append(out, st)
	}
	return out, nil
}

func (s generatedStore) Lookup(name string) (Stored, error) {
	if i := s.after(name) - 1; i >= 0 && s.record(i).Name == name {
		return s.stored(i), nil
	}
	return Stored{Name: name}, nil
}

func (s generatedStore) LocalSince(seq int64, limit int) ([]proto.FileInfo, error) {
	var out []proto.FileInfo
	for i := int(max(seq, 0)); i < s.files && len(out) < limit; i++ {
		out = append(out, s.record(i))
	}
	return out, nil
}

func (s generatedStore) CountRemote(dev proto.DeviceID) (int, error) {
	if dev == devP {
		return s.files, nil
	}
	return 0, nil
}

// Needs finds nothing: every name is in sync.
func (generatedStore) Needs(NeedKind, string, bool, int) ([]string, error) { return nil, nil }

func (generatedStore) RemoteDevices() ([]proto.DeviceID, error) { return []proto.DeviceID{devP}, nil }

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
		e.Advance()
		e.Step(Saved{Serial: 1}) // what the daemon keeps once the first writes are committed
		runtime.GC()
		runtime.ReadMemStats(&after)
		perFile = float64(after.HeapAlloc-before.HeapAlloc) / files
		runtime.KeepAlive(e)
	}
	b.ReportMetric(perFile, "heap-B/file")
}
