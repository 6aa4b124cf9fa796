package engine

import (
	"path"
	"slices"
)

// expireTombstones forgets the deletion records older than the folder's
// TombstoneLifetime that every device the folder is shared with has taken
// in: their own record of the name is a deletion too, or they have none.
// A device that still announces the name live, however long ago, keeps
// the tombstone, so that forgetting it never brings the file back; such a
// device is only forgotten when it is removed.
func (e *Engine) expireTombstones() {
	life := uint64(e.cfg.TombstoneLifetime.Seconds())
	now := e.nowSeconds()
	if life == 0 || now <= life {
		return
	}
	var old []string
	for name, en := range e.files.entries {
		l := en.local
		if l == nil || !l.Deleted || l.Version.Counter(l.ModifiedBy) > now-life {
			continue
		}
		if e.sync.inflight[name] != nil || e.sync.need[name] {
			continue
		}
		taken := true
		for _, r := range en.remote {
			if e.devices[r.dev] && !r.f.Deleted {
				taken = false
				break
			}
		}
		if taken {
			old = append(old, name)
		}
	}
	slices.Sort(old)
	for _, name := range old {
		e.sync.totals.add(e.files.entries[name].share, -1)
		e.files.remove(name)
		e.sync.recompute(name)
	}
	e.rd.Writes.Forget = append(e.rd.Writes.Forget, old...)
}

// remove forgets every record of name and unlinks it from its directory.
// Its share of the status counts must be taken out by a recompute after.
func (t *table) remove(name string) {
	en := t.entries[name]
	if en == nil {
		return
	}
	delete(t.entries, name)
	if t.folds != nil {
		t.folds.remove(name)
	}
	for name != "" && len(t.children[name]) == 0 && t.entries[name] == nil {
		delete(t.children, name)
		dir := path.Dir(name)
		if dir == "." {
			dir = ""
		}
		delete(t.children[dir], name)
		name = dir
	}
}
