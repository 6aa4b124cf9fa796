package engine

import (
	"maps"
	"path"
	"slices"

	"ferry/proto"
)

// Guard is the rule that holds a mass deletion for the user to confirm:
// at least Files files and at least Percent percent of the folder's files
// gone at once, or all of them when there were more than one (the one file
// of a folder is deleted like any other). The zero Guard is off.
type Guard struct {
	Files   int
	Percent int
}

// DefaultGuard is the rule a folder gets unless configured otherwise.
var DefaultGuard = Guard{Files: 50, Percent: 25}

// Off reports whether the guard never trips.
func (g Guard) Off() bool { return g.Files <= 0 && g.Percent <= 0 }

// Trips reports whether gone files out of total are a mass deletion.
func (g Guard) Trips(gone, total int) bool {
	if g.Off() || gone <= 0 {
		return false
	}
	return gone >= total && total > 1 || gone >= g.Files && gone*100 >= g.Percent*total
}

// maxSample is how many held names a status lists.
const maxSample = 20

// hold is a local record the guard keeps although the scan did not find it.
type hold struct {
	seq   int64 // the record's sequence when held
	mount bool  // held because the file system at a directory above changed
}

// heldLocal returns the names of held local deletions that count for the
// mass guard, and those held because a mount changed.
func (s *scanner) heldCounts() (mass, mount int) {
	for _, h := range s.held {
		if h.mount {
			mount++
		} else {
			mass++
		}
	}
	return mass, mount
}

// settleMissing records the deletion of what the walks of r did not find,
// unless the local record changed since (a pull wrote it meanwhile) or the
// guard holds it: names under a directory whose file system changed (a disk
// unmounted there, or mounted over it) are held, and so is everything when
// the rest is a mass deletion or one is already held.
func (s *scanner) settleMissing(r *scanRun) {
	e := s.e
	for name, h := range s.held {
		if l := e.files.local(name); l == nil || l.Deleted || l.Sequence != h.seq {
			delete(s.held, name)
		}
	}
	before := len(s.held)
	var rest []string
	for _, name := range slices.Sorted(maps.Keys(r.missing)) {
		l := e.files.local(name)
		if l == nil || l.Deleted || l.Sequence != r.missing[name] {
			continue
		}
		if underAny(name, r.mounts) {
			s.held[name] = hold{seq: l.Sequence, mount: true}
			continue
		}
		rest = append(rest, name)
	}
	mass, _ := s.heldCounts()
	total := e.sync.totals.localNonDirs
	full := slices.Contains(r.subtrees, "")
	switch {
	case mass > 0:
		for _, name := range rest {
			s.held[name] = hold{seq: r.missing[name]}
		}
	case !e.cfg.Guard.Trips(e.goneCount(rest, total), total):
		for _, name := range rest {
			e.localDelete(e.files.local(name))
		}
	case !full:
		// A scan of part of the folder may not have seen where the files
		// went (a rename reported as two events, scanned apart): a scan of
		// the whole folder decides.
		s.request(ScanRequest{})
	default:
		for _, name := range rest {
			s.held[name] = hold{seq: r.missing[name]}
		}
	}
	s.settleMounts(r)
	if e.cfg.Guard.Trips(r.rewritten, total) {
		s.massChange = r.rewritten
		e.rd.Events = append(e.rd.Events, MassChangeEvent{Files: r.rewritten})
	}
	if len(s.held) > before {
		e.rd.Events = append(e.rd.Events, HeldEvent{Local: len(s.held)})
	}
}

// settleMounts records the new mount state of directories whose file
// system changed, once nothing under them is held: their records then
// describe what is mounted there now.
func (s *scanner) settleMounts(r *scanRun) {
	for _, dir := range slices.Sorted(maps.Keys(r.mounts)) {
		held := false
		for name := range s.held {
			if covers(dir, name) {
				held = true
				break
			}
		}
		l := s.e.files.local(dir)
		if held || l == nil || l.Deleted {
			continue
		}
		l.Mount = r.mounts[dir]
		s.e.rd.Writes.Local = append(s.e.rd.Writes.Local, *l)
	}
}

// underAny reports whether name is one of dirs or inside one.
func underAny[V any](name string, dirs map[string]V) bool {
	if len(dirs) == 0 {
		return false
	}
	for n := name; ; {
		if _, ok := dirs[n]; ok {
			return true
		}
		d := path.Dir(n)
		if d == "." || d == n {
			return false
		}
		n = d
	}
}

// goneCount counts the files and symlinks among names whose content is
// not kept at another live local name: a moved or renamed file is not lost.
// The search for another copy is only made when the plain count would trip
// the guard.
func (e *Engine) goneCount(names []string, total int) int {
	files := e.nonDirs(names)
	if !e.cfg.Guard.Trips(len(files), total) {
		return len(files)
	}
	return len(e.notKept(names, files, func(en *entry) *proto.FileInfo { return en.local }))
}

// contentKey groups records that may have the same content.
type contentKey struct {
	typ         proto.FileType
	size        int64
	first, last proto.Hash
	target      string
}

func keyOf(f *proto.FileInfo) contentKey {
	k := contentKey{typ: f.Type, size: f.Size, target: f.Target}
	if len(f.Blocks) > 0 {
		k.first, k.last = f.Blocks[0].Hash, f.Blocks[len(f.Blocks)-1].Hash
	}
	return k
}

// confirmDeletes records the held local deletions and lets the held remote
// ones be carried out. A full scan then records the new mount state of
// directories whose file system changed.
func (e *Engine) confirmDeletes() {
	s := e.scans
	for _, name := range slices.Sorted(maps.Keys(s.held)) {
		if l := e.files.local(name); l != nil && !l.Deleted && l.Sequence == s.held[name].seq {
			e.localDeleteConfirmed(l, true)
		}
	}
	clear(s.held)
	e.sync.remote.confirm()
	s.request(ScanRequest{})
	e.sync.dirty = true
}

// revertDeletes brings back what the guard held: local files gone here are
// pulled from peers, files a peer deleted are kept as new versions that
// supersede the deletion, so the peers get them back.
func (e *Engine) revertDeletes() {
	e.revertLocal()
	s := e.scans
	for _, name := range slices.Sorted(maps.Keys(s.held)) {
		e.sync.restore[name] = true
		delete(s.held, name)
		e.sync.recompute(name)
	}
	for _, name := range e.sync.remote.revert() {
		en := e.files.lookup(name)
		l := en.local
		g, _ := e.global(en)
		if l == nil || l.Deleted || g == nil || !g.Deleted {
			continue
		}
		f := l.Clone()
		f.Version = g.Version.Merge(l.Version).Update(e.cfg.Local.Short(), e.nowSeconds())
		f.ModifiedBy = e.cfg.Local.Short()
		e.commitLocal(f)
	}
	e.sync.dirty = true
}

// remoteGuard holds deletions that peers announced when they would remove a
// large share of this device's files at once.
type remoteGuard struct {
	approved map[string]bool // pending deletions let through
	gone     map[string]bool // ... of those, the ones not kept elsewhere
	held     map[string]bool // pending deletions held for the user
}

func newRemoteGuard() remoteGuard {
	return remoteGuard{approved: map[string]bool{}, gone: map[string]bool{}, held: map[string]bool{}}
}

// forget drops name, whose deletion is no longer pending.
func (g *remoteGuard) forget(name string) {
	delete(g.approved, name)
	delete(g.gone, name)
	delete(g.held, name)
}

func (g *remoteGuard) confirm() {
	for name := range g.held {
		g.approved[name] = true
	}
	clear(g.held)
}

// revert returns the held names, sorted, and forgets them.
func (g *remoteGuard) revert() []string {
	names := slices.Sorted(maps.Keys(g.held))
	clear(g.held)
	return names
}

// judgeDeletes decides about pending deletions of live local records that
// it has not judged yet: all are held when some are held already or when,
// with the approved ones not kept elsewhere, they trip the guard.
func (s *syncer) judgeDeletes(fresh []string) {
	g := &s.remote
	if len(fresh) == 0 {
		return
	}
	if len(g.held) == 0 {
		total := s.totals.localNonDirs
		gone := s.e.nonDirs(fresh)
		if s.e.cfg.Guard.Trips(len(gone)+len(g.gone), total) {
			gone = s.e.goneRemote(fresh, gone)
		}
		if !s.e.cfg.Guard.Trips(len(gone)+len(g.gone), total) {
			for _, name := range fresh {
				g.approved[name] = true
			}
			for _, name := range gone {
				g.gone[name] = true
			}
			return
		}
		for name := range g.gone {
			delete(g.approved, name)
			g.held[name] = true
		}
		clear(g.gone)
	}
	for _, name := range fresh {
		g.held[name] = true
	}
	s.e.rd.Events = append(s.e.rd.Events, HeldEvent{Remote: len(g.held)})
}

// nonDirs returns the names whose local record is a file or symlink.
func (e *Engine) nonDirs(names []string) []string {
	var out []string
	for _, name := range names {
		if l := e.files.local(name); l != nil && l.Type != proto.FileTypeDir {
			out = append(out, name)
		}
	}
	return out
}

// goneRemote returns the files among names, whose local records peers
// deleted, whose content the global state keeps at no other name.
func (e *Engine) goneRemote(names, files []string) []string {
	return e.notKept(names, files, func(en *entry) *proto.FileInfo {
		g, _ := e.global(en)
		return g
	})
}

// notKept returns the files among names whose local content no record
// that rec picks at a name outside names has.
func (e *Engine) notKept(names, files []string, rec func(*entry) *proto.FileInfo) []string {
	leaving := make(map[string]bool, len(names))
	for _, name := range names {
		leaving[name] = true
	}
	// The content of each file, by key, until a name that stays is found
	// to hold it: the walk keeps what the files hold, not what the folder
	// holds.
	want := make(map[contentKey][]int)
	locals := make([]*proto.FileInfo, len(files))
	for i, name := range files {
		if l := e.files.local(name); l != nil {
			locals[i] = l
			k := keyOf(l)
			want[k] = append(want[k], i)
		}
	}
	kept := make([]bool, len(files))
	e.files.walk("", "", "", func(name string, en *entry) bool {
		if leaving[name] {
			return true
		}
		f := rec(en)
		if f == nil || f.Deleted || f.Type == proto.FileTypeDir {
			return true
		}
		k := keyOf(f)
		waiting := want[k]
		if waiting == nil {
			return true
		}
		left := waiting[:0]
		for _, i := range waiting {
			if proto.SameContent(f, locals[i]) {
				kept[i] = true
			} else {
				left = append(left, i)
			}
		}
		if len(left) == 0 {
			delete(want, k)
		} else {
			want[k] = left
		}
		return len(want) > 0
	})
	var gone []string
	for i, name := range files {
		if !kept[i] {
			gone = append(gone, name)
		}
	}
	return gone
}
