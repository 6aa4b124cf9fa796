package engine

import (
	"maps"
	"slices"

	"ferry/proto"
)

// revertLocal undoes the changes made in a receive-only folder: each name
// it keeps apart is brought to the global state (a name only this device
// has is removed), with what is there kept in the history first.
func (e *Engine) revertLocal() {
	if e.cfg.Type != ReceiveOnly || !e.cfg.History {
		return // without a history, undoing would lose the changes
	}
	for name := range e.sync.apart {
		e.sync.yield[name] = true
		e.sync.recompute(name)
	}
}

// override makes a send-only folder's state the newest everywhere: each
// name it keeps apart gets a local version that supersedes every other
// device's, of what is here (a live record, or the deletion recorded
// here), or a deletion of what only the others have. The peers then take
// it like any change.
func (e *Engine) override() {
	if e.cfg.Type != SendOnly {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(e.sync.apart)) {
		en := e.files.lookup(name)
		g, _ := e.global(en)
		l := en.local
		if g == nil || l != nil && l.Version.Equal(g.Version) {
			continue
		}
		var f proto.FileInfo
		if l != nil {
			f = l.Clone()
		} else {
			f = proto.FileInfo{Name: name, Type: g.Type, Mode: g.Mode, ModTime: g.ModTime, Deleted: true}
		}
		f.Version = g.Version.Merge(f.Version).Update(e.cfg.Local.Short(), e.nowSeconds())
		f.ModifiedBy = e.cfg.Local.Short()
		e.commitLocal(f)
	}
}
