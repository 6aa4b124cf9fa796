package engine

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
	e.files.each("", func(name string, en *entry) {
		l := en.local
		if l == nil || !l.Deleted || l.Version.Counter(l.ModifiedBy) > now-life {
			return
		}
		if e.sync.inflight[name] != nil || en.share.need != NeedNone {
			return
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
	})
	for _, name := range old {
		e.sync.totals.add(e.files.lookup(name).share, -1)
		e.files.remove(name)
		e.sync.recompute(name)
	}
	e.rd.Writes.Forget = append(e.rd.Writes.Forget, old...)
}
