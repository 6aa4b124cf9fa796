package enginetest

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"ferry/engine"
	"ferry/proto"
)

// MemStore is an in-memory index: the engine's Store plus the writes a
// driver commits. Writes are staged and then committed as one transaction;
// Crash forgets a staged transaction, as a crash before the commit would.
type MemStore struct {
	indexID uint64
	lastSeq int64
	local   map[string]proto.FileInfo
	remote  map[proto.DeviceID]map[string]proto.FileInfo
	peers   map[proto.DeviceID]engine.PeerIndex
	blocks  map[proto.Hash]map[string]int64 // hash → name → offset, live local files only
	// summaries are the engine's summaries by name, complete once
	// summarized.
	summaries  map[string]engine.Summary
	summarized bool
	named      []string                        // the names of summaries, sorted; nil when to be made again
	byNeed     [engine.NeedDelete + 1][]string // named, by the kind of work, made with it
	devOrder   []proto.DeviceID                // the keys of remote, sorted, once made

	staged []engine.Writes
}

var _ engine.Store = (*MemStore)(nil)

// NewMemStore returns an empty index whose local index has the given ID.
func NewMemStore(indexID uint64) *MemStore {
	return &MemStore{
		indexID: indexID,
		local:   make(map[string]proto.FileInfo),
		remote:  make(map[proto.DeviceID]map[string]proto.FileInfo),
		peers:   make(map[proto.DeviceID]engine.PeerIndex),
		blocks:  make(map[proto.Hash]map[string]int64),
		// A new index has no name, so no summary missing.
		summaries: make(map[string]engine.Summary), summarized: true,
	}
}

// State returns what an engine needs to start from this index.
func (m *MemStore) State() engine.State {
	return engine.State{IndexID: m.indexID, LastSequence: m.lastSeq, Peers: maps.Clone(m.peers)}
}

// Apply commits w as one transaction.
func (m *MemStore) Apply(w engine.Writes) {
	m.Stage(w)
	m.Commit()
}

// Stage adds w to the open transaction.
func (m *MemStore) Stage(w engine.Writes) { m.staged = append(m.staged, cloneWrites(w)) }

// Commit makes the staged writes durable, in the order they were staged.
func (m *MemStore) Commit() {
	for _, w := range m.staged {
		m.apply(w)
	}
	m.staged = nil
}

// Crash forgets the open transaction.
func (m *MemStore) Crash() { m.staged = nil }

// apply writes drops, remote records, local records and peer positions, in
// that order.
func (m *MemStore) apply(w engine.Writes) {
	for _, dev := range w.DropRemote {
		delete(m.remote, dev)
		m.devOrder = nil
	}
	for _, r := range w.Remote {
		if m.remote[r.Device] == nil {
			m.remote[r.Device] = make(map[string]proto.FileInfo)
		}
		m.remote[r.Device][r.File.Name] = r.File
	}
	for _, f := range w.Local {
		m.putLocal(f)
	}
	for _, name := range w.Forget {
		if f, ok := m.local[name]; ok {
			m.putLocal(proto.FileInfo{Name: name, Sequence: f.Sequence, Deleted: true})
			delete(m.local, name)
		}
		for _, files := range m.remote {
			delete(files, name)
		}
	}
	maps.Copy(m.peers, w.Peers)
	if len(w.Summaries) > 0 {
		m.named = nil
	}
	for _, s := range w.Summaries {
		if s.Gone {
			delete(m.summaries, s.Name)
		} else {
			m.summaries[s.Name] = s
		}
	}
	m.summarized = m.summarized || w.Summarized
}

// Summarized reports whether every name has its summary.
func (m *MemStore) Summarized() (bool, error) { return m.summarized, nil }

// Summaries returns committed summaries in name order.
func (m *MemStore) Summaries(prefix, after string, limit int) ([]engine.Summary, error) {
	m.sortedNames(engine.NeedNone)
	from := prefix
	if after >= prefix {
		from = after + "\x00" // the least name above after
	}
	i, _ := slices.BinarySearch(m.named, from)
	var out []engine.Summary
	for _, name := range m.named[i:] {
		if len(out) == limit || !strings.HasPrefix(name, prefix) {
			break
		}
		out = append(out, m.summaries[name])
	}
	return out, nil
}

// putLocal stores a local record and keeps the block map in step with it.
func (m *MemStore) putLocal(f proto.FileInfo) {
	if old, ok := m.local[f.Name]; ok && old.IsFile() {
		for _, b := range old.Blocks {
			delete(m.blocks[b.Hash], old.Name)
			if len(m.blocks[b.Hash]) == 0 {
				delete(m.blocks, b.Hash)
			}
		}
	}
	m.local[f.Name] = f
	m.lastSeq = max(m.lastSeq, f.Sequence)
	if !f.IsFile() {
		return
	}
	for _, b := range f.Blocks {
		if m.blocks[b.Hash] == nil {
			m.blocks[b.Hash] = make(map[string]int64)
		}
		if _, ok := m.blocks[b.Hash][f.Name]; !ok {
			m.blocks[b.Hash][f.Name] = b.Offset
		}
	}
}

// Each calls fn for every committed record: local ones (zero device) by
// name, then each peer's by device and name.
func (m *MemStore) Each(fn func(dev proto.DeviceID, f proto.FileInfo) error) error {
	for _, name := range slices.Sorted(maps.Keys(m.local)) {
		if err := fn(proto.DeviceID{}, m.local[name].Clone()); err != nil {
			return err
		}
	}
	devs := slices.SortedFunc(maps.Keys(m.remote), compareDevices)
	for _, dev := range devs {
		files := m.remote[dev]
		for _, name := range slices.Sorted(maps.Keys(files)) {
			if err := fn(dev, files[name].Clone()); err != nil {
				return err
			}
		}
	}
	return nil
}

// BlockSource returns the first name, in lexical order, of a live local
// file holding a block with hash h.
func (m *MemStore) BlockSource(h proto.Hash) (string, int64, bool, error) {
	names := m.blocks[h]
	if len(names) == 0 {
		return "", 0, false, nil
	}
	name := slices.Min(slices.Collect(maps.Keys(names)))
	return name, names[name], true, nil
}

// Local returns the committed local record for name.
func (m *MemStore) Local(name string) (proto.FileInfo, bool) {
	f, ok := m.local[name]
	return f.Clone(), ok
}

// Remote returns the committed record of dev for name.
func (m *MemStore) Remote(dev proto.DeviceID, name string) (proto.FileInfo, bool) {
	f, ok := m.remote[dev][name]
	return f.Clone(), ok
}

// Peer returns the committed position in dev's index.
func (m *MemStore) Peer(dev proto.DeviceID) engine.PeerIndex { return m.peers[dev] }

func compareDevices(a, b proto.DeviceID) int { return cmp.Compare(string(a[:]), string(b[:])) }

// cloneWrites deep-copies w so later changes by the engine cannot reach the
// staged transaction.
func cloneWrites(w engine.Writes) engine.Writes {
	out := engine.Writes{
		DropRemote: slices.Clone(w.DropRemote), Forget: slices.Clone(w.Forget), Peers: maps.Clone(w.Peers),
		Summaries: slices.Clone(w.Summaries), Summarized: w.Summarized,
	}
	for _, r := range w.Remote {
		out.Remote = append(out.Remote, engine.RemoteFile{Device: r.Device, File: r.File.Clone()})
	}
	for _, f := range w.Local {
		out.Local = append(out.Local, f.Clone())
	}
	return out
}

// DropSummaries forgets every summary, as in an index written before
// summaries were kept.
func (m *MemStore) DropSummaries() {
	m.summaries, m.summarized, m.named = make(map[string]engine.Summary), false, nil
}

// Lookup returns the committed records and summary of name.
func (m *MemStore) Lookup(name string) (engine.Stored, error) {
	st := engine.Stored{Name: name}
	if f, ok := m.local[name]; ok {
		c := f.Clone()
		st.Local = &c
	}
	if len(m.devOrder) != len(m.remote) {
		m.devOrder = slices.SortedFunc(maps.Keys(m.remote), compareDevices)
	}
	for _, dev := range m.devOrder {
		if f, ok := m.remote[dev][name]; ok {
			st.Remote = append(st.Remote, engine.RemoteFile{Device: dev, File: f.Clone()})
		}
	}
	st.Summary, st.Summarized = m.summaries[name]
	return st, nil
}

// Range returns the committed state of the names with a summary, in name
// order; until the store is summarized, of the names with records.
func (m *MemStore) Range(prefix, after string, limit int) ([]engine.Stored, error) {
	var names []string
	if m.summarized {
		sums, _ := m.Summaries(prefix, after, limit)
		for _, sum := range sums {
			names = append(names, sum.Name)
		}
	} else {
		set := make(map[string]bool)
		add := func(name string) {
			if name > after && strings.HasPrefix(name, prefix) {
				set[name] = true
			}
		}
		for name := range m.local {
			add(name)
		}
		for _, files := range m.remote {
			for name := range files {
				add(name)
			}
		}
		names = slices.Sorted(maps.Keys(set))
		names = names[:min(len(names), limit)]
	}
	out := make([]engine.Stored, len(names))
	for i, name := range names {
		out[i], _ = m.Lookup(name)
	}
	return out, nil
}

// LocalSince returns committed local records above sequence seq, in
// sequence order.
func (m *MemStore) LocalSince(seq int64, limit int) ([]proto.FileInfo, error) {
	var out []proto.FileInfo
	for _, f := range m.local {
		if f.Sequence > seq {
			out = append(out, f.Clone())
		}
	}
	slices.SortFunc(out, func(a, b proto.FileInfo) int { return cmp.Compare(a.Sequence, b.Sequence) })
	return out[:min(len(out), limit)], nil
}

// Needs returns the names of committed summaries with the given kind of
// work, in byte order after after, or in reverse before it.
func (m *MemStore) Needs(kind engine.NeedKind, after string, reverse bool, limit int) ([]string, error) {
	names := m.sortedNames(kind)
	if !reverse {
		i, _ := slices.BinarySearch(names, after+"\x00")
		return slices.Clone(names[i:min(len(names), i+limit)]), nil
	}
	i := len(names)
	if after != "" {
		i, _ = slices.BinarySearch(names, after)
	}
	out := slices.Clone(names[max(0, i-limit):i])
	slices.Reverse(out)
	return out, nil
}

// sortedNames returns the names of summaries with the given kind of work,
// sorted, making the lists again after a change.
func (m *MemStore) sortedNames(kind engine.NeedKind) []string {
	if m.named == nil {
		m.named = slices.Sorted(maps.Keys(m.summaries))
		for k := range m.byNeed {
			m.byNeed[k] = nil
		}
		for _, name := range m.named {
			k := m.summaries[name].Need
			m.byNeed[k] = append(m.byNeed[k], name)
		}
	}
	return m.byNeed[kind]
}

// CountRemote returns how many committed records of dev there are.
func (m *MemStore) CountRemote(dev proto.DeviceID) (int, error) { return len(m.remote[dev]), nil }

// RemoteDevices returns the devices with committed records.
func (m *MemStore) RemoteDevices() ([]proto.DeviceID, error) {
	return slices.SortedFunc(maps.Keys(m.remote), compareDevices), nil
}
