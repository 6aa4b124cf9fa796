package engine

import (
	"cmp"
	"slices"
	"strings"

	"ferry/proto"
)

// syncer decides which names need work to match the global state and hands
// out file operations for them, a bounded number at a time.
type syncer struct {
	e        *Engine
	need     map[string]bool
	inflight map[string]*pending
	deletes  int // deletes in flight
	failed   map[string]failure
	queue    []string // snapshot of need, in operation order
	dirty    bool     // need changed since the snapshot
}

// pending is an operation in flight: the record it writes and the local
// record it replaces.
type pending struct {
	file proto.FileInfo
	old  *proto.FileInfo
}

type failure struct {
	until int64
	err   string
}

func newSyncer(e *Engine) *syncer {
	return &syncer{
		e: e, need: make(map[string]bool), inflight: make(map[string]*pending),
		failed: make(map[string]failure),
	}
}

func (s *syncer) recomputeAll() {
	for name := range s.e.files.entries {
		s.recompute(name)
	}
	s.dirty = true
}

// recompute updates whether name needs work.
func (s *syncer) recompute(name string) {
	en := s.e.files.entries[name]
	needed := false
	if en != nil && s.e.cfg.Type != SendOnly {
		g, _ := en.global(s.e.devices)
		l := en.local
		switch {
		case g == nil || g == l:
		case l == nil:
			needed = !g.Deleted
		default:
			needed = !l.Version.Equal(g.Version)
		}
	}
	if needed {
		s.need[name] = true
	} else {
		delete(s.need, name)
	}
	s.dirty = true
}

func (s *syncer) tick() {
	for name, f := range s.failed {
		if s.e.now >= f.until {
			delete(s.failed, name)
			s.dirty = true
		}
	}
}

// schedule hands out operations until the in-flight limit. Directories come
// first (parents before children), then files and links, and deletions
// (children before parents) only once nothing else is in flight, so a
// renamed file's blocks are copied before its old name is removed.
func (s *syncer) schedule() {
	rebuilt := false
	for len(s.inflight) < s.e.cfg.MaxPulls {
		if len(s.queue) == 0 {
			if !s.dirty || rebuilt {
				return
			}
			s.rebuild()
			rebuilt = true
			if len(s.queue) == 0 {
				return
			}
		}
		name := s.queue[0]
		en := s.e.files.entries[name]
		if s.need[name] && s.inflight[name] == nil && en != nil {
			g, _ := en.global(s.e.devices)
			if g.Deleted && len(s.inflight) > s.deletes {
				return // wait for creations to finish
			}
			s.plan(name, en)
		}
		s.queue = s.queue[1:]
	}
}

func (s *syncer) rebuild() {
	s.dirty = false
	s.queue = s.queue[:0]
	type item struct {
		phase int
		name  string
	}
	items := make([]item, 0, len(s.need))
	for name := range s.need {
		if s.inflight[name] != nil {
			continue
		}
		if _, failed := s.failed[name]; failed {
			continue
		}
		g, _ := s.e.files.entries[name].global(s.e.devices)
		switch {
		case g.Deleted:
			items = append(items, item{2, name})
		case g.Type == proto.FileTypeDir:
			items = append(items, item{0, name})
		default:
			items = append(items, item{1, name})
		}
	}
	slices.SortFunc(items, func(a, b item) int {
		if c := cmp.Compare(a.phase, b.phase); c != 0 {
			return c
		}
		if a.phase == 2 {
			return strings.Compare(b.name, a.name) // children first
		}
		return strings.Compare(a.name, b.name)
	})
	for _, it := range items {
		s.queue = append(s.queue, it.name)
	}
}

// plan emits the operation that brings name to its global version, or
// records it directly when no disk change is needed.
func (s *syncer) plan(name string, en *entry) {
	g, holders := en.global(s.e.devices)
	l := en.local
	if g.Deleted && (l == nil || l.Deleted) {
		s.e.commitLocal(adopt(g, l))
		return
	}
	expect := expectOf(l)
	conflict := ""
	var loser *proto.FileInfo
	if l != nil && !l.Deleted && l.Type != proto.FileTypeDir && l.Version.Compare(g.Version) == proto.Concurrent {
		conflict, loser = conflictName(l), l
	}
	var op Op
	switch {
	case g.Deleted:
		op = DeleteOp{File: *g, Expect: expect}
		s.deletes++
	case g.Type == proto.FileTypeDir:
		op = MkdirOp{File: *g, Expect: expect, ConflictName: conflict}
	case g.Type == proto.FileTypeSymlink:
		op = SymlinkOp{File: *g, Expect: expect, ConflictName: conflict}
	default:
		pull, ok := s.planPull(g, holders)
		if !ok {
			return // no source now; a peer connecting or announcing re-plans it
		}
		pull.Expect, pull.ConflictName = expect, conflict
		op = pull
	}
	s.inflight[name] = &pending{file: *g, old: loser}
	s.e.rd.Ops = append(s.e.rd.Ops, op)
}

// planPull finds a local source for each block and the connected devices
// that hold the version; ok is false when some block has no source.
func (s *syncer) planPull(g *proto.FileInfo, holders []proto.DeviceID) (PullOp, bool) {
	op := PullOp{File: *g}
	for _, dev := range holders {
		if p := s.e.peers[dev]; p != nil && p.connected {
			op.Peers = append(op.Peers, dev)
		}
	}
	missing := false
	op.Local = make([]LocalBlock, len(g.Blocks))
	for i, b := range g.Blocks {
		name, off, ok, err := s.e.store.BlockSource(b.Hash)
		if ok && err == nil {
			op.Local[i] = LocalBlock{Name: name, Offset: off}
		} else {
			missing = true
		}
	}
	return op, !missing || len(op.Peers) > 0
}

// adopt returns g as the new local record, keeping the local inode.
func adopt(g, l *proto.FileInfo) proto.FileInfo {
	f := g.Clone()
	f.Inode = 0
	if l != nil && !g.Deleted {
		f.Inode = l.Inode
	}
	return f
}

// expectOf says what the local record l says is on disk.
func expectOf(l *proto.FileInfo) Expect {
	if l == nil || l.Deleted {
		return Expect{Absent: true}
	}
	return Expect{Stat: Stat{
		Name: l.Name, Type: l.Type, Size: l.Size, ModTime: l.ModTime, Mode: l.Mode,
		Target: l.Target, Inode: l.Inode,
	}}
}

// onResult records a finished operation.
func (s *syncer) onResult(r OpResult) {
	p := s.inflight[r.Name]
	if p == nil {
		return
	}
	delete(s.inflight, r.Name)
	if p.file.Deleted {
		s.deletes--
	}
	s.dirty = true
	switch {
	case r.Changed:
		s.e.scans.request(ScanRequest{Subtree: r.Name})
	case r.NotEmpty:
		s.resurrect(r.Name, &p.file)
	case r.Err != nil:
		s.failed[r.Name] = failure{until: s.e.now + int64(s.e.cfg.RetryAfter), err: r.Err.Error()}
		s.e.rd.Events = append(s.e.rd.Events, OpFailed{Name: r.Name, Err: r.Err})
	default:
		delete(s.failed, r.Name)
		s.done(r, p)
	}
}

func (s *syncer) done(r OpResult, p *pending) {
	if r.Conflict != nil && p.old != nil {
		c := p.old.Clone()
		c.Name, c.Inode = r.Conflict.Name, r.Conflict.Inode
		s.e.commitLocal(c)
		s.e.rd.Events = append(s.e.rd.Events, ConflictEvent{Name: r.Name, Copy: c.Name})
	}
	f := p.file.Clone()
	f.Inode = r.Stat.Inode
	s.e.commitLocal(f)
}

// resurrect keeps a directory that a peer deleted but that still holds
// entries here: a new live version that supersedes the deletion.
func (s *syncer) resurrect(name string, tomb *proto.FileInfo) {
	l := s.e.files.local(name)
	if l == nil {
		return
	}
	f := l.Clone()
	f.Deleted = false
	f.Version = tomb.Version.Merge(l.Version).Update(s.e.cfg.Local.Short(), s.e.nowSeconds())
	f.ModifiedBy = s.e.cfg.Local.Short()
	s.e.commitLocal(f)
}
