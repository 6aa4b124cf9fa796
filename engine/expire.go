package engine

import "time"

const (
	// expireEvery is the most often tombstones are looked for.
	expireEvery = int64(6 * time.Hour)
	// expireBatch bounds the names one look forgets.
	expireBatch = 4096
)

// expireTombstones forgets the deletion records older than the folder's
// TombstoneLifetime that every device the folder is shared with has taken
// in: their own record of the name is a deletion too, or they have none.
// A device that still announces the name live, however long ago, keeps
// the tombstone, so that forgetting it never brings the file back; such a
// device is only forgotten when it is removed.
//
// It reads every name, so it runs after a full scan at most once every
// expireEvery (a tombstone lives for days), and forgets at most
// expireBatch names at once; the next full scan takes the rest.
func (e *Engine) expireTombstones() {
	life := uint64(e.cfg.TombstoneLifetime.Seconds())
	now := e.nowSeconds()
	if life == 0 || now <= life || e.now < e.expireAt {
		return
	}
	e.expireAt = e.now + min(expireEvery, int64(e.cfg.TombstoneLifetime)/10)
	var old []string
	e.files.walk("", "", "", func(name string, en *entry) bool {
		l := en.local
		if l == nil || !l.Deleted || l.Version.Counter(l.ModifiedBy) > now-life {
			return true
		}
		if e.sync.inflight[name] != nil || en.share.need != NeedNone {
			return true
		}
		for _, r := range en.remote {
			if e.devices[r.dev] && !r.f.Deleted {
				return true // not taken in by every device
			}
		}
		old = append(old, name)
		if len(old) < expireBatch {
			return true
		}
		e.expireAt = 0 // more may be left
		return false
	})
	for _, name := range old {
		e.sync.totals.add(e.files.lookup(name).share, -1)
		e.files.remove(name)
		e.sync.recompute(name)
	}
	e.rd.Writes.Forget = append(e.rd.Writes.Forget, old...)
}
