package engine

import (
	"cmp"
	"slices"

	"ferry/proto"
)

// table holds every record of the folder: the local one and each peer's, by name.
type table struct {
	entries map[string]*entry
}

type entry struct {
	local  *proto.FileInfo
	remote map[proto.DeviceID]*proto.FileInfo
}

func newTable() *table { return &table{entries: make(map[string]*entry)} }

func (t *table) get(name string) *entry {
	e := t.entries[name]
	if e == nil {
		e = &entry{}
		t.entries[name] = e
	}
	return e
}

func (t *table) local(name string) *proto.FileInfo {
	if e := t.entries[name]; e != nil {
		return e.local
	}
	return nil
}

func (t *table) setLocal(f proto.FileInfo) { t.get(f.Name).local = &f }

func (t *table) setRemote(dev proto.DeviceID, f proto.FileInfo) {
	e := t.get(f.Name)
	if e.remote == nil {
		e.remote = make(map[proto.DeviceID]*proto.FileInfo)
	}
	e.remote[dev] = &f
}

// dropRemote forgets all of dev's records and returns the names affected.
func (t *table) dropRemote(dev proto.DeviceID) []string {
	var names []string
	for name, e := range t.entries {
		if _, ok := e.remote[dev]; ok {
			delete(e.remote, dev)
			names = append(names, name)
		}
	}
	return names
}

// global returns the winning record for e among the local record and those
// of the given devices, and the devices holding exactly that version.
func (e *entry) global(devices map[proto.DeviceID]bool) (*proto.FileInfo, []proto.DeviceID) {
	var best *proto.FileInfo
	consider := func(f *proto.FileInfo) {
		if best == nil || beats(f, best) {
			best = f
		}
	}
	if e.local != nil {
		consider(e.local)
	}
	for dev, f := range e.remote {
		if devices[dev] {
			consider(f)
		}
	}
	if best == nil {
		return nil, nil
	}
	var holders []proto.DeviceID
	for dev, f := range e.remote {
		if devices[dev] && f.Version.Equal(best.Version) {
			holders = append(holders, dev)
		}
	}
	slices.SortFunc(holders, func(a, b proto.DeviceID) int { return cmp.Compare(string(a[:]), string(b[:])) })
	return best, holders
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
