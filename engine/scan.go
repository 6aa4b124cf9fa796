package engine

import (
	"errors"
	"strings"

	"ferry/proto"
)

// ErrFileChanging says a file changed while it was being hashed.
var ErrFileChanging = errors.New("file changed while being read")

// scanner plans scans: one walk at a time, then hashing of what changed.
type scanner struct {
	e       *Engine
	queue   []*scanRun
	run     *scanRun
	hashQ   []Stat
	hashing int
	settle  map[string]int64 // names to rescan once they stop changing, by due time
	nextAt  int64            // time of the next periodic scan
	lastErr error            // of the last finished scan
}

type scanRun struct {
	subtree string
	ids     []uint64
	walked  bool
	pending int // hash jobs not yet answered
	err     error
}

func newScanner(e *Engine) *scanner { return &scanner{e: e, settle: make(map[string]int64)} }

// request queues a scan, folding it into a queued scan that covers it.
func (s *scanner) request(r ScanRequest) {
	for _, q := range s.queue {
		if covers(q.subtree, r.Subtree) {
			q.addID(r.ID)
			return
		}
	}
	q := &scanRun{subtree: r.Subtree}
	q.addID(r.ID)
	s.queue = append(s.queue, q)
}

func (r *scanRun) addID(id uint64) {
	if id != 0 {
		r.ids = append(r.ids, id)
	}
}

// covers reports whether a scan of outer includes inner.
func covers(outer, inner string) bool {
	return outer == "" || outer == inner || strings.HasPrefix(inner, outer+"/")
}

func (s *scanner) tick() {
	now := s.e.now
	if iv := s.e.cfg.ScanInterval; iv > 0 {
		if s.nextAt == 0 {
			s.nextAt = now + int64(iv)
		} else if now >= s.nextAt {
			s.nextAt = now + int64(iv)
			s.request(ScanRequest{})
		}
	}
	for name, due := range s.settle {
		if now >= due {
			delete(s.settle, name)
			s.request(ScanRequest{Subtree: name})
		}
	}
}

// busy reports whether a scan is running or queued.
func (s *scanner) busy() bool { return s.run != nil || len(s.queue) > 0 }

// schedule starts the next walk and hands out hash jobs.
func (s *scanner) schedule() {
	if s.run == nil && len(s.queue) > 0 {
		s.run, s.queue = s.queue[0], s.queue[1:]
		s.e.rd.Ops = append(s.e.rd.Ops, ScanOp{Subtree: s.run.subtree})
	}
	for s.hashing < s.e.cfg.MaxHashes && len(s.hashQ) > 0 {
		s.e.rd.Ops = append(s.e.rd.Ops, HashOp{Stat: s.hashQ[0]})
		s.hashQ = s.hashQ[1:]
		s.hashing++
	}
	s.finish()
}

func (s *scanner) finish() {
	r := s.run
	if r == nil || !r.walked || r.pending > 0 {
		return
	}
	s.lastErr = r.err
	for _, id := range r.ids {
		s.e.rd.Events = append(s.e.rd.Events, ScanDone{ID: id, Err: r.err})
	}
	s.run = nil
}

// onScanResult compares what is on disk with the local records.
func (s *scanner) onScanResult(res ScanResult) {
	r := s.run
	if r == nil {
		return
	}
	r.walked = true
	if res.Err != nil {
		// A folder that cannot be walked is not a folder whose files were
		// all deleted: change nothing.
		r.err = res.Err
		return
	}
	seen := make(map[string]bool, len(res.Entries))
	for _, st := range res.Entries {
		seen[st.Name] = true
		l := s.e.files.local(st.Name)
		if !changed(l, st) {
			continue
		}
		if st.Type == proto.FileTypeFile {
			s.hashQ = append(s.hashQ, st)
			r.pending++
			continue
		}
		s.e.localChange(st, nil)
	}
	for name, en := range s.e.files.entries {
		if en.local != nil && !en.local.Deleted && covers(r.subtree, name) && !seen[name] {
			s.e.localDelete(en.local)
		}
	}
}

func (s *scanner) onHashResult(res HashResult) {
	s.hashing--
	if s.run != nil {
		s.run.pending--
	}
	switch {
	case errors.Is(res.Err, ErrFileChanging):
		s.settle[res.Stat.Name] = s.e.now + int64(s.e.cfg.RetryAfter)/5
	case res.Err != nil:
		// Gone or unreadable since the walk: the next scan sees it as it is.
		s.e.rd.Events = append(s.e.rd.Events, OpFailed{Name: res.Stat.Name, Err: res.Err})
	default:
		s.e.localChange(res.Stat, res.Blocks)
	}
}

// changed reports whether st differs from the local record enough to rescan.
// Directory and symlink modification times are not compared.
func changed(l *proto.FileInfo, st Stat) bool {
	if l == nil || l.Deleted || l.Type != st.Type {
		return true
	}
	switch st.Type {
	case proto.FileTypeFile:
		return l.Mode != st.Mode || l.Size != st.Size || l.ModTime != st.ModTime ||
			(l.Inode != 0 && st.Inode != 0 && l.Inode != st.Inode)
	case proto.FileTypeDir:
		return l.Mode != st.Mode
	default:
		return l.Target != st.Target
	}
}

// localChange records what a scan found at st.Name. Content identical to the
// global version adopts that version (a pull whose index write was lost, or
// the same change made on two devices); content identical to the local
// record only refreshes its stat; anything else is a new local version.
func (e *Engine) localChange(st Stat, blocks []proto.Block) {
	f := proto.FileInfo{
		Name: st.Name, Type: st.Type, Size: st.Size, ModTime: st.ModTime, Mode: st.Mode,
		Target: st.Target, Blocks: blocks, Inode: st.Inode, ModifiedBy: e.cfg.Local.Short(),
	}
	if f.Type != proto.FileTypeFile {
		f.Size = 0
	}
	en := e.files.get(st.Name)
	l := en.local
	if g, _ := en.global(e.devices); g != nil && g != l && !g.Deleted && proto.SameContent(g, &f) &&
		(l == nil || !l.Version.Equal(g.Version)) {
		f.Version, f.ModifiedBy = g.Version.Clone(), g.ModifiedBy
		e.commitLocal(f)
		return
	}
	if l != nil && proto.SameContent(l, &f) {
		l.ModTime, l.Inode = f.ModTime, f.Inode
		e.rd.Writes.Local = append(e.rd.Writes.Local, *l)
		return
	}
	var base proto.Vector
	if l != nil {
		base = l.Version
	}
	f.Version = base.Update(e.cfg.Local.Short(), e.nowSeconds())
	e.commitLocal(f)
}

// localDelete records that a local file is gone.
func (e *Engine) localDelete(l *proto.FileInfo) {
	f := proto.FileInfo{
		Name: l.Name, Type: l.Type, Mode: l.Mode, ModTime: l.ModTime, Deleted: true,
		Version: l.Version.Update(e.cfg.Local.Short(), e.nowSeconds()), ModifiedBy: e.cfg.Local.Short(),
	}
	e.commitLocal(f)
}
