package engine

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"ferry/proto"
)

// table is the engine's view of every record and summary of the folder.
// The index holds them; the table holds only what the index does not have
// yet and a bounded cache of what it read:
//
//   - dirty are the entries changed since the last commit the driver
//     reported (Saved): their writes are on their way to the index, so
//     they are read from memory until then. A nil entry is a name whose
//     records go.
//   - cache and older hold entries read from the index and unchanged
//     since, at most cacheEntries of them between trims; a nil entry is a
//     name the index has nothing of. A trim makes cache the older
//     generation and drops the one before, so what is read again and
//     again stays.
//
// An entry is changed only through edit, which pins it in dirty first, so
// every pointer to a changed entry is the one the table reads. The engine
// reads the index through its Store and writes it only through Ready, so
// an entry that is not dirty is what the index holds.
type table struct {
	store  Store
	keep   func(dev proto.DeviceID) bool // whether dev's stored records are the folder's
	serial uint64                        // the Ready whose writes are being made
	dirty  map[string]*dirtyEntry
	// needing are the dirty names that need work, by the kind of work.
	needing map[string]NeedKind
	cache   map[string]*entry
	older   map[string]*entry
	// dropping are devices whose records the index drops with the Ready
	// of the given serial: until then, its records there are not read.
	dropping map[proto.DeviceID]uint64
	folds    *foldIndex // nil unless the file system ignores case
	err      error      // the first failed read
	acked    bool       // the driver has reported a commit (see saved)
}

// dirtyEntry is an entry changed in the Ready of the given serial (or
// earlier), and the devices whose records of it the index held before.
type dirtyEntry struct {
	en     *entry
	serial uint64
	stored []proto.DeviceID
}

// cacheEntries bounds the clean entries kept between trims.
const cacheEntries = 4096

// rangePage is how many names an iteration reads from the index at once.
const rangePage = 1024

type entry struct {
	local  *proto.FileInfo
	remote remotes
	share  share // what the entry adds to the status, as of its last recompute
	// summarized says the index holds share as the name's summary.
	summarized bool
}

// empty reports whether the entry has no record.
func (e *entry) empty() bool { return e.local == nil && len(e.remote) == 0 }

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

func newTable(store Store, keep func(proto.DeviceID) bool) *table {
	return &table{
		store: store, keep: keep, serial: 1,
		dirty: make(map[string]*dirtyEntry), needing: make(map[string]NeedKind), cache: make(map[string]*entry),
		dropping: make(map[proto.DeviceID]uint64),
	}
}

// fail records the first failed read of the index.
func (t *table) fail(err error) {
	if t.err == nil {
		t.err = fmt.Errorf("%w: %w", ErrLoad, err)
	}
}

// entryOf makes an entry of what the index holds of a name, nil if it
// holds nothing.
func (t *table) entryOf(st Stored) *entry {
	en := &entry{local: st.Local}
	for _, r := range st.Remote {
		if t.keep(r.Device) && t.dropping[r.Device] == 0 {
			f := r.File
			en.remote = append(en.remote, remoteRecord{r.Device, &f})
		}
	}
	slices.SortFunc(en.remote, func(a, b remoteRecord) int { return compareDevices(a.dev, b.dev) })
	if st.Summarized {
		en.share, en.summarized = shareOfSummary(st.Summary), true
	}
	if en.empty() && !en.summarized {
		return nil
	}
	for i := range en.remote {
		en.shareName(en.remote[i].f)
	}
	return en
}

// lookup returns name's entry, nil if the folder has nothing of it. An
// entry may have no record and only the summary the index still holds.
func (t *table) lookup(name string) *entry {
	if d, ok := t.dirty[name]; ok {
		return d.en
	}
	if en, ok := t.cache[name]; ok {
		return en
	}
	if en, ok := t.older[name]; ok {
		t.cache[name] = en
		delete(t.older, name)
		return en
	}
	st, err := t.store.Lookup(name)
	if err != nil {
		t.fail(err)
		return nil
	}
	en := t.entryOf(st)
	t.cache[name] = en
	return en
}

// get returns name's entry to read, an empty one if it has none.
func (t *table) get(name string) *entry {
	if en := t.lookup(name); en != nil {
		return en
	}
	return &entry{}
}

// edit returns name's entry to change, pinned until the index has the
// change: one with no record yet is made.
func (t *table) edit(name string) *entry {
	if d, ok := t.dirty[name]; ok {
		d.serial = t.serial
		if d.en == nil {
			d.en = &entry{}
			if t.folds != nil {
				t.folds.add(name)
			}
		}
		return d.en
	}
	en := t.lookup(name)
	d := &dirtyEntry{en: en, serial: t.serial}
	if en == nil {
		d.en = &entry{}
		if t.folds != nil {
			t.folds.add(name)
		}
	} else {
		for _, r := range en.remote {
			d.stored = append(d.stored, r.dev)
		}
		if en.share.need != NeedNone {
			t.needing[name] = en.share.need
		}
	}
	delete(t.cache, name)
	delete(t.older, name)
	t.dirty[name] = d
	return d.en
}

// remove forgets every record of name. Its share of the status counts must
// be taken out by the caller.
func (t *table) remove(name string) {
	if t.lookup(name) == nil {
		return
	}
	t.edit(name)
	t.dirty[name].en = nil
	delete(t.needing, name)
	if t.folds != nil {
		t.folds.remove(name)
	}
}

// saved tells the table the index holds the writes of the Readys up to
// serial: what they changed is read from the index again.
func (t *table) saved(serial uint64) {
	t.acked = true
	for name, d := range t.dirty {
		if d.serial <= serial {
			delete(t.dirty, name)
			delete(t.needing, name)
		}
	}
	for dev, s := range t.dropping {
		if s <= serial {
			delete(t.dropping, dev)
		}
	}
}

// setShare records what name, whose entry is en, adds to the status, as
// the index will hold it.
func (t *table) setShare(name string, c share) {
	en := t.edit(name)
	en.share, en.summarized = c, true
	if c.need != NeedNone {
		t.needing[name] = c.need
	} else {
		delete(t.needing, name)
	}
}

// advance starts the writes of the next Ready.
func (t *table) advance() { t.serial++ }

// trim keeps the cache within its bound. No entry read before may be
// changed after, except through edit.
func (t *table) trim() {
	if len(t.cache) > cacheEntries/2 {
		t.older, t.cache = t.cache, make(map[string]*entry)
	}
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

// each calls fn for every name that starts with prefix and has an entry,
// in byte order. fn may change entries, and add or remove names, which it
// may or may not then be called for.
func (t *table) each(prefix string, fn func(name string, e *entry)) {
	t.eachIn(prefix, "", "", fn)
}

// eachIn is each over the names after the name after and, unless upto is
// "", up to upto.
func (t *table) eachIn(prefix, after, upto string, fn func(name string, e *entry)) {
	t.walk(prefix, after, upto, func(name string, e *entry) bool {
		fn(name, e)
		return true
	})
}

// walk is eachIn with a fn that may stop the walk by returning false.
func (t *table) walk(prefix, after, upto string, fn func(name string, e *entry) bool) {
	within := func(name string) bool { return name > after && (upto == "" || name <= upto) }
	var mine []string // changed names, not in the index yet as they are
	for name := range t.dirty {
		if strings.HasPrefix(name, prefix) && within(name) {
			mine = append(mine, name)
		}
	}
	slices.Sort(mine)
	stopped := false
	visit := func(name string, en *entry) {
		if !stopped {
			stopped = !fn(name, en)
		}
	}
	visitDirty := func(name string) {
		if d := t.dirty[name]; d != nil && d.en != nil {
			visit(name, d.en)
		}
	}
	for from, done := after, false; !done && !stopped; {
		page, err := t.store.Range(prefix, from, rangePage)
		if err != nil {
			t.fail(err)
			return
		}
		for _, st := range page {
			if stopped {
				break
			}
			if !within(st.Name) {
				done = true
				break
			}
			for len(mine) > 0 && mine[0] < st.Name {
				visitDirty(mine[0])
				mine = mine[1:]
			}
			if len(mine) > 0 && mine[0] == st.Name {
				visitDirty(mine[0])
				mine = mine[1:]
				continue
			}
			if _, ok := t.dirty[st.Name]; ok {
				visitDirty(st.Name) // changed by fn
				continue
			}
			en := t.cache[st.Name]
			if en == nil {
				en = t.older[st.Name]
			}
			if en == nil {
				if en = t.entryOf(st); en == nil {
					continue
				}
				t.cache[st.Name] = en
			}
			visit(st.Name, en)
		}
		if len(page) < rangePage {
			break
		}
		from = page[len(page)-1].Name
		t.trim()
	}
	for _, name := range mine {
		visitDirty(name)
	}
	t.trim()
}

// under calls fn for every entry at or below subtree ("" is the whole
// folder) whose name is after the name after and, unless upto is "", up
// to upto, in byte order.
func (t *table) under(subtree, after, upto string, fn func(name string, e *entry)) {
	if subtree == "" {
		t.eachIn("", after, upto, fn)
		return
	}
	if after < subtree {
		if en := t.lookup(subtree); en != nil {
			fn(subtree, en)
		}
	}
	t.eachIn(subtree+"/", after, upto, fn)
}

func (t *table) local(name string) *proto.FileInfo {
	if e := t.lookup(name); e != nil {
		return e.local
	}
	return nil
}

// remote returns dev's record of name, nil if it has none.
func (t *table) remote(dev proto.DeviceID, name string) *proto.FileInfo {
	if e := t.lookup(name); e != nil {
		return e.remote.get(dev)
	}
	return nil
}

func (t *table) setLocal(f proto.FileInfo) {
	e := t.edit(f.Name)
	e.shareName(&f)
	e.local = &f
}

// setRemote makes f dev's record. Its name shares the entry's copy, and
// its block list and version the local record's when they are equal, so a
// name in sync costs its bytes, blocks and version once. Records are
// never changed in place, so sharing is safe.
func (t *table) setRemote(dev proto.DeviceID, f proto.FileInfo) {
	e := t.edit(f.Name)
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

// dropRemote forgets all of dev's records, those of the index with the
// writes of the current Ready. The caller recomputes every name.
func (t *table) dropRemote(dev proto.DeviceID) {
	t.dropping[dev] = t.serial
	for _, d := range t.dirty {
		if d.en != nil {
			d.en.remote.del(dev)
		}
		if i := slices.Index(d.stored, dev); i >= 0 {
			d.stored = slices.Delete(d.stored, i, i+1)
		}
	}
	t.cache, t.older = make(map[string]*entry), nil
}

// localPage returns up to limit local records whose sequence is above
// seq, in sequence order, and the sequence the next page starts after;
// more says there may be records after it.
func (t *table) localPage(seq int64, limit int) (page []proto.FileInfo, next int64, more bool) {
	stored, err := t.store.LocalSince(seq, limit)
	if err != nil {
		t.fail(err)
		return nil, seq, false
	}
	var out []proto.FileInfo
	for _, f := range stored {
		if _, ok := t.dirty[f.Name]; !ok { // else as below
			out = append(out, f)
		}
	}
	// The changed records not committed yet, up to where the stored page
	// ends, or all of them past its end.
	end := int64(math.MaxInt64)
	if len(stored) == limit {
		end = stored[len(stored)-1].Sequence
	}
	for _, d := range t.dirty {
		if d.en != nil && d.en.local != nil && d.en.local.Sequence > seq && d.en.local.Sequence <= end {
			out = append(out, *d.en.local)
		}
	}
	slices.SortFunc(out, func(a, b proto.FileInfo) int { return cmp.Compare(a.Sequence, b.Sequence) })
	switch {
	case len(out) > limit:
		out = out[:limit]
		return out, out[limit-1].Sequence, true
	case end != math.MaxInt64:
		return out, end, true
	}
	return out, 0, false
}

// needPage returns up to limit names of the need list whose work is of the
// given kind, in byte order after the name after, or with reverse in
// reverse byte order before it ("" starts at the end), and the name the
// next page starts after; more says there may be names past it.
func (t *table) needPage(kind NeedKind, after string, reverse bool, limit int) (page []string, next string, more bool) {
	stored, err := t.store.Needs(kind, after, reverse, limit)
	if err != nil {
		t.fail(err)
		return nil, after, false
	}
	past := func(a, b string) bool { return a > b } // a comes after b in the walk
	if reverse {
		past = func(a, b string) bool { return a < b }
	}
	for _, name := range stored {
		if _, ok := t.dirty[name]; !ok { // else as below
			page = append(page, name)
		}
	}
	// The changed names not committed yet, up to where the stored page
	// ends, or all of them past its end.
	full := len(stored) == limit
	for name, k := range t.needing {
		if k != kind || after != "" && !past(name, after) || full && past(name, stored[limit-1]) {
			continue
		}
		page = append(page, name)
	}
	slices.SortFunc(page, func(a, b string) int {
		if reverse {
			return strings.Compare(b, a)
		}
		return strings.Compare(a, b)
	})
	switch {
	case len(page) > limit:
		page = page[:limit]
		return page, page[limit-1], true
	case full:
		return page, stored[limit-1], true
	}
	return page, "", false
}

// countRemote returns how many records of dev the folder holds.
func (t *table) countRemote(dev proto.DeviceID) int {
	n := 0
	if t.dropping[dev] == 0 {
		var err error
		if n, err = t.store.CountRemote(dev); err != nil {
			t.fail(err)
			return 0
		}
	}
	for _, d := range t.dirty {
		if slices.Contains(d.stored, dev) {
			n--
		}
		if d.en != nil && d.en.remote.get(dev) != nil {
			n++
		}
	}
	return max(n, 0)
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
