package engine

import (
	"cmp"
	"path"
	"slices"

	"ferry/proto"
)

// table holds every record of the folder: the local one and each peer's, by
// name, and which names lie in which directory so that a subtree's records
// are found without visiting the whole folder.
type table struct {
	entries  map[string]*entry
	children map[string]map[string]struct{} // directory ("" is the root) → names directly in it
	folds    *foldIndex                     // nil unless the file system ignores case
}

type entry struct {
	local  *proto.FileInfo
	remote remotes
	share  share // what the entry adds to the status, as of its last recompute
	// summarized says the index holds share as the name's summary.
	summarized bool
}

// remotes are the peers' records of one name, in device order. A folder
// is shared with a few devices, so a short slice costs far less than a map
// per name (which took some 300 bytes a file) and is as quick to search.
type remotes []remoteRecord

type remoteRecord struct {
	dev proto.DeviceID
	f   *proto.FileInfo
}

// get returns dev's record, nil if it has none.
func (rs remotes) get(dev proto.DeviceID) *proto.FileInfo {
	for _, r := range rs {
		if r.dev == dev {
			return r.f
		}
	}
	return nil
}

// set makes f dev's record, keeping the device order.
func (rs *remotes) set(dev proto.DeviceID, f *proto.FileInfo) {
	i, found := slices.BinarySearchFunc(*rs, dev, func(r remoteRecord, d proto.DeviceID) int { return compareDevices(r.dev, d) })
	if found {
		(*rs)[i].f = f
		return
	}
	*rs = slices.Insert(*rs, i, remoteRecord{dev, f})
}

// del forgets dev's record and reports whether there was one.
func (rs *remotes) del(dev proto.DeviceID) bool {
	for i, r := range *rs {
		if r.dev == dev {
			*rs = slices.Delete(*rs, i, i+1)
			if len(*rs) == 0 {
				*rs = nil
			}
			return true
		}
	}
	return false
}

func newTable() *table {
	return &table{entries: make(map[string]*entry), children: make(map[string]map[string]struct{})}
}

func (t *table) get(name string) *entry {
	e := t.entries[name]
	if e == nil {
		e = &entry{}
		t.entries[name] = e
		t.link(name)
		if t.folds != nil {
			t.folds.add(name)
		}
	}
	return e
}

// shareName gives f.Name the bytes of the name e's records already hold,
// so that the records of one name keep one copy of it.
func (e *entry) shareName(f *proto.FileInfo) {
	switch {
	case e.local != nil:
		f.Name = e.local.Name
	case len(e.remote) > 0:
		f.Name = e.remote[0].f.Name
	}
}

// link records name in its directory, and each ancestor in its own, up to
// the root: a record deep in a directory without a record of its own is
// still found under it.
func (t *table) link(name string) {
	for name != "" {
		dir := path.Dir(name)
		if dir == "." {
			dir = ""
		}
		kids := t.children[dir]
		if kids == nil {
			kids = make(map[string]struct{})
			t.children[dir] = kids
		}
		if _, ok := kids[name]; ok {
			return
		}
		kids[name] = struct{}{}
		name = dir
	}
}

// under calls fn for every entry at or below subtree; "" is the whole
// folder. The order is unspecified.
func (t *table) under(subtree string, fn func(name string, e *entry)) {
	if subtree == "" {
		for name, e := range t.entries {
			fn(name, e)
		}
		return
	}
	if e := t.entries[subtree]; e != nil {
		fn(subtree, e)
	}
	for kid := range t.children[subtree] {
		t.under(kid, fn)
	}
}

func (t *table) local(name string) *proto.FileInfo {
	if e := t.entries[name]; e != nil {
		return e.local
	}
	return nil
}

// remote returns dev's record of name, nil if it has none.
func (t *table) remote(dev proto.DeviceID, name string) *proto.FileInfo {
	if e := t.entries[name]; e != nil {
		return e.remote.get(dev)
	}
	return nil
}

func (t *table) setLocal(f proto.FileInfo) {
	e := t.get(f.Name)
	e.shareName(&f)
	e.local = &f
}

// setRemote makes f dev's record. Its name shares the table's copy, and
// its block list and version the local record's when they are equal, so a
// name in sync costs its bytes, blocks and version once. Records are
// never changed in place, so sharing is safe.
func (t *table) setRemote(dev proto.DeviceID, f proto.FileInfo) {
	e := t.get(f.Name)
	e.shareName(&f)
	if l := e.local; l != nil {
		if slices.Equal(l.Blocks, f.Blocks) {
			f.Blocks = l.Blocks
		}
		if slices.Equal(l.Version, f.Version) {
			f.Version = l.Version
		}
	}
	e.remote.set(dev, &f)
}

// dropRemote forgets all of dev's records and returns the names affected.
func (t *table) dropRemote(dev proto.DeviceID) []string {
	var names []string
	for name, e := range t.entries {
		if e.remote.del(dev) {
			names = append(names, name)
		}
	}
	return names
}

// global returns the winning record for e among the local record and those
// of the given devices, and the devices holding exactly that version.
//
// Only records no other record supersedes compete, and among those the
// conflict rule picks, so the outcome is the same whatever the order of the
// records: comparing records pairwise with beats is not transitive (a
// deletion that supersedes an old edit can lose to a concurrent new edit
// that the old edit beats by time). Among records with equal versions the
// local one is chosen, else the one of the smallest device ID.
func (e *entry) global(devices map[proto.DeviceID]bool) (*proto.FileInfo, []proto.DeviceID) {
	return e.globalOf(e.candidates(devices), devices)
}

// othersGlobal is global among the records of the given devices alone:
// the global state as the other devices have made it, without what this
// device changed on its own.
func (e *entry) othersGlobal(devices map[proto.DeviceID]bool) (*proto.FileInfo, []proto.DeviceID) {
	cands := e.candidates(devices)
	if e.local != nil {
		cands = cands[1:]
	}
	return e.globalOf(cands, devices)
}

func (e *entry) globalOf(cands []*proto.FileInfo, devices map[proto.DeviceID]bool) (*proto.FileInfo, []proto.DeviceID) {
	var best *proto.FileInfo
	for _, f := range cands {
		if superseded(f, cands) {
			continue
		}
		if best == nil || beats(f, best) {
			best = f
		}
	}
	if best == nil {
		return nil, nil
	}
	var holders []proto.DeviceID
	for _, r := range e.remote { // in device order
		if devices[r.dev] && r.f.Version.Equal(best.Version) {
			holders = append(holders, r.dev)
		}
	}
	return best, holders
}

// candidates returns the local record, then those of the given devices in
// device order.
func (e *entry) candidates(devices map[proto.DeviceID]bool) []*proto.FileInfo {
	var out []*proto.FileInfo
	if e.local != nil {
		out = append(out, e.local)
	}
	for _, r := range e.remote { // in device order
		if devices[r.dev] {
			out = append(out, r.f)
		}
	}
	return out
}

// superseded reports whether some record in all has a newer version than f.
func superseded(f *proto.FileInfo, all []*proto.FileInfo) bool {
	for _, o := range all {
		if o.Version.Compare(f.Version) == proto.Greater {
			return true
		}
	}
	return false
}

// beats reports whether a should be the global version over b.
func beats(a, b *proto.FileInfo) bool {
	switch a.Version.Compare(b.Version) {
	case proto.Greater:
		return true
	case proto.Concurrent:
		return conflictWinner(a, b) == a
	}
	return false
}

func compareDevices(a, b proto.DeviceID) int { return cmp.Compare(string(a[:]), string(b[:])) }
