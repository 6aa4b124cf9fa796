package engine

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"testing"

	"ferry/proto"
)

// testStore is a Store over fixed records.
type testStore struct {
	local  []proto.FileInfo
	remote map[proto.DeviceID][]proto.FileInfo
	blocks map[proto.Hash]LocalBlock
}

func (s *testStore) Each(fn func(proto.DeviceID, proto.FileInfo) error) error {
	for _, f := range s.local {
		if err := fn(proto.DeviceID{}, f); err != nil {
			return err
		}
	}
	for dev, files := range s.remote {
		for _, f := range files {
			if err := fn(dev, f); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *testStore) Summarized() (bool, error) { return false, nil }

func (s *testStore) Lookup(name string) (Stored, error) {
	st := Stored{Name: name}
	for _, f := range s.local {
		if f.Name == name {
			st.Local = &f
		}
	}
	for dev, files := range s.remote {
		for _, f := range files {
			if f.Name == name {
				st.Remote = append(st.Remote, RemoteFile{Device: dev, File: f})
			}
		}
	}
	return st, nil
}

// Needs finds nothing: the store has no summaries.
func (s *testStore) Needs(NeedKind, string, bool, int) ([]string, error) { return nil, nil }

// Range returns the names with records: the store has no summaries.
func (s *testStore) Range(prefix, after string, limit int) ([]Stored, error) {
	set := make(map[string]bool)
	add := func(f proto.FileInfo) {
		if f.Name > after && strings.HasPrefix(f.Name, prefix) {
			set[f.Name] = true
		}
	}
	for _, f := range s.local {
		add(f)
	}
	for _, files := range s.remote {
		for _, f := range files {
			add(f)
		}
	}
	names := slices.Sorted(maps.Keys(set))
	out := make([]Stored, 0, min(len(names), limit))
	for _, name := range names[:min(len(names), limit)] {
		st, _ := s.Lookup(name)
		out = append(out, st)
	}
	return out, nil
}

func (s *testStore) LocalSince(seq int64, limit int) ([]proto.FileInfo, error) {
	var out []proto.FileInfo
	for _, f := range s.local {
		if f.Sequence > seq {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b proto.FileInfo) int { return cmp.Compare(a.Sequence, b.Sequence) })
	return out[:min(len(out), limit)], nil
}

func (s *testStore) CountRemote(dev proto.DeviceID) (int, error) { return len(s.remote[dev]), nil }

func (s *testStore) RemoteDevices() ([]proto.DeviceID, error) {
	return slices.Collect(maps.Keys(s.remote)), nil
}

func (s *testStore) Summaries(prefix, after string, limit int) ([]Summary, error) { return nil, nil }

func (s *testStore) BlockSource(h proto.Hash) (string, int64, bool, error) {
	b, ok := s.blocks[h]
	return b.Name, b.Offset, ok, nil
}

// dev returns a device ID whose bytes are all b.
func dev(b byte) proto.DeviceID {
	var id proto.DeviceID
	for i := range id {
		id[i] = b
	}
	return id
}

var (
	devL = dev(0x11) // the local device
	devP = dev(0x22)
	devQ = dev(0x33)
)

// vec builds a vector from device byte and value pairs.
func vec(pairs ...uint64) proto.Vector {
	var v proto.Vector
	for i := 0; i < len(pairs); i += 2 {
		v = v.Merge(proto.Vector{{ID: dev(byte(pairs[i])).Short(), Value: pairs[i+1]}})
	}
	return v
}

// newTestEngine starts an engine for devL sharing with devP and devQ over
// st, with an advanced clock and its first Ready taken.
func newTestEngine(t *testing.T, st *testStore) *Engine {
	t.Helper()
	state := State{IndexID: 7}
	for _, f := range st.local {
		state.LastSequence = max(state.LastSequence, f.Sequence)
	}
	e, err := New(Config{Folder: "f", Local: devL, Devices: []proto.DeviceID{devP, devQ}}, st, state)
	if err != nil {
		t.Fatal(err)
	}
	e.Step(Tick{Now: 1_000_000 * 1e9})
	e.Advance()
	return e
}

// opsOf returns the operations of type T in rd.
func opsOf[T Op](rd Ready) []T {
	var out []T
	for _, op := range rd.Ops {
		if o, ok := op.(T); ok {
			out = append(out, o)
		}
	}
	return out
}
