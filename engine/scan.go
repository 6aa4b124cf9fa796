package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"ferry/proto"
)

// ErrFileChanging says a file changed while it was being hashed.
var ErrFileChanging = errors.New("file changed while being read")

// scanner plans scans: one walk at a time, then hashing of what changed.
type scanner struct {
	e       *Engine
	next    *scanRun // requests waiting for the running scan, merged
	run     *scanRun
	hashQ   []Stat
	hashing int
	settle  map[string]int64 // names to rescan once they stop changing, by due time
	nextAt  int64            // time of the next periodic scan
	lastErr error            // of the last finished scan
	// unread holds, for status, the names the latest walks covering them
	// could not read, with why (at most maxUnread).
	unread map[string]string
	// held are local records the scans did not find whose deletion the
	// guard holds.
	held map[string]hold
	// massChange is the number of files the last mass change rewrote,
	// until acknowledged.
	massChange int
}

// scanRest is how many times as long as a full scan took the next periodic
// one waits at least.
const scanRest = 9

// maxUnread bounds the unreadable names kept for status; the protection
// of records under them does not depend on it.
const maxUnread = 1000

// scanRun is one scan: the walks of one or more subtrees, then the hashing
// of what changed. Requests that arrive while a scan runs are merged into
// the next one, so a rename reported as two paths (old and new) is one run
// and its deletion is recorded after the new name is hashed.
type scanRun struct {
	subtrees []string // minimal: none inside another
	ids      []uint64
	walks    int // walks not yet answered
	// more are the walks that stopped, to go on once the hash queue is
	// short again.
	more    []ScanOp
	pending int // hash jobs not yet answered
	err     error
	// missing holds the sequence of each local record the walk did not
	// find. The deletions are recorded when the run finishes, after the
	// hashed names, so a peer learns a renamed file's new name no later
	// than the removal of its old one and can copy its blocks locally.
	missing map[string]int64
	// started is when the run began.
	started int64
	// startSeq is the local sequence when the walk was asked for. A record
	// with a later sequence was written by this engine while the walk ran
	// (a pull finished): what the walk saw of it may predate that write,
	// so this scan leaves it alone and the next one looks again.
	startSeq int64
	// unread are the names the walks could not read: records at or under
	// them are kept as they are.
	unread map[string]bool
	// mounts are the directories whose file system changed since they were
	// recorded (a disk unmounted there or mounted over them), with the
	// mount state found now.
	mounts map[string]bool
	// rewritten counts files whose content the run found changed.
	rewritten int
}

func newScanner(e *Engine) *scanner {
	return &scanner{e: e, settle: make(map[string]int64), unread: make(map[string]string), held: make(map[string]hold)}
}

// request adds a scan of r.Subtree to the next run.
func (s *scanner) request(r ScanRequest) {
	if s.next == nil {
		s.next = &scanRun{}
	}
	s.next.add(r.Subtree)
	s.next.addID(r.ID)
}

// add includes subtree, keeping the list minimal.
func (r *scanRun) add(subtree string) {
	kept := r.subtrees[:0]
	for _, t := range r.subtrees {
		if covers(t, subtree) {
			return
		}
		if !covers(subtree, t) {
			kept = append(kept, t)
		}
	}
	r.subtrees = append(kept, subtree)
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
		} else if now >= s.nextAt && !s.busy() { // none queued behind a running one
			s.nextAt = now + int64(iv)
			s.request(ScanRequest{})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.settle)) {
		if now >= s.settle[name] {
			delete(s.settle, name)
			s.request(ScanRequest{Subtree: name})
		}
	}
}

// busy reports whether a scan is running or queued.
func (s *scanner) busy() bool { return s.run != nil || s.next != nil }

// schedule starts the next walk and hands out hash jobs. A run that ends
// here lets the next one start at once, not at the next input.
func (s *scanner) schedule() {
	for {
		s.scheduleOnce()
		if s.run != nil || s.next == nil {
			return
		}
	}
}

func (s *scanner) scheduleOnce() {
	if s.run == nil && s.next != nil {
		s.run, s.next = s.next, nil
		s.run.startSeq, s.run.started = s.e.seq, s.e.now
		s.run.walks = len(s.run.subtrees)
		s.run.missing = make(map[string]int64)
		s.run.unread = make(map[string]bool)
		s.run.mounts = make(map[string]bool)
		slices.Sort(s.run.subtrees)
		for _, t := range s.run.subtrees {
			s.e.rd.Ops = append(s.e.rd.Ops, ScanOp{Subtree: t})
		}
	}
	for s.hashing < s.e.cfg.MaxHashes && len(s.hashQ) > 0 {
		s.e.rd.Ops = append(s.e.rd.Ops, HashOp{Stat: s.hashQ[0]})
		s.hashQ = s.hashQ[1:]
		s.hashing++
	}
	// A walk goes on once what it found is mostly hashed: the files to
	// hash are never all held at once.
	if r := s.run; r != nil && len(r.more) > 0 && len(s.hashQ) < s.e.cfg.MaxHashes {
		for _, op := range r.more {
			s.e.rd.Ops = append(s.e.rd.Ops, op)
		}
		r.more = r.more[:0]
	}
	s.finish()
}

func (s *scanner) finish() {
	r := s.run
	if r == nil || r.walks > 0 || r.pending > 0 {
		return
	}
	s.lastErr = r.err
	s.settleMissing(r)
	if r.err == nil && slices.Contains(r.subtrees, "") {
		s.e.expireTombstones()
		// Periodic scans take at most a tenth of the time, however
		// large the folder: a folder that cannot be watched is not
		// walked back to back.
		if s.e.cfg.ScanInterval > 0 && r.started > 0 {
			s.nextAt = max(s.nextAt, s.e.now+scanRest*(s.e.now-r.started))
		}
	}
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
	if res.Err != nil || !res.More {
		r.walks--
	}
	if res.Err != nil {
		// A folder that cannot be walked is not a folder whose files were
		// all deleted: change nothing.
		r.err = res.Err
		return
	}
	if res.After == "" {
		s.forgetUnread(res.Subtree)
		s.e.sync.rescanned(res.Subtree)
	}
	s.noteUnread(res.Skipped)
	for _, sk := range res.Skipped {
		r.unread[sk.Name] = true
	}
	// What the walk saw and the records of the subtree, both by name, are
	// walked side by side: nothing of the folder is held whole. A walk
	// that stopped covers the records up to its last entry.
	entries := res.Entries
	slices.SortFunc(entries, func(a, b Stat) int { return strings.Compare(a.Name, b.Name) })
	upto := ""
	if res.More {
		if len(entries) == 0 {
			r.err = fmt.Errorf("scan %s: a walk stopped without an entry", res.Subtree)
			r.walks--
			return
		}
		upto = entries[len(entries)-1].Name
		r.more = append(r.more, ScanOp{Subtree: res.Subtree, After: upto})
	}
	s.e.files.under(res.Subtree, res.After, upto, func(name string, en *entry) {
		for len(entries) > 0 && entries[0].Name < name {
			s.compare(r, entries[0], nil)
			entries = entries[1:]
		}
		if len(entries) > 0 && entries[0].Name == name {
			s.compare(r, entries[0], en.local)
			entries = entries[1:]
			return
		}
		if en.local != nil && !en.local.Deleted && en.local.Sequence <= r.startSeq && !underAny(name, r.unread) {
			r.missing[name] = en.local.Sequence
		}
	})
	for _, st := range entries {
		s.compare(r, st, nil)
	}
}

// compare takes in what a walk saw at a name whose local record is l.
func (s *scanner) compare(r *scanRun, st Stat, l *proto.FileInfo) {
	delete(s.held, st.Name)
	if l != nil && !l.Deleted && l.Type == proto.FileTypeDir && st.Type == proto.FileTypeDir && l.Mount != st.Mount {
		r.mounts[st.Name] = st.Mount
	}
	if !changed(l, st) {
		return
	}
	if l != nil && l.Sequence > r.startSeq {
		// Written while the walk ran: what the walk saw may predate the
		// write, so the next run looks again.
		s.request(ScanRequest{Subtree: st.Name})
		return
	}
	if st.Type == proto.FileTypeFile {
		s.hashQ = append(s.hashQ, st)
		r.pending++
		return
	}
	s.e.localChange(st, nil)
}

// noteUnread replaces, for status, what is known unreadable in subtree with
// what its walk could not read. A special file counts only where a live
// local record says a file was.
func (s *scanner) forgetUnread(subtree string) {
	for name := range s.unread {
		if covers(subtree, name) {
			delete(s.unread, name)
		}
	}
}

// noteUnread adds, for status, what a walk could not read. A special file
// counts only where a live local record says a file was.
func (s *scanner) noteUnread(skipped []Skip) {
	for _, sk := range skipped {
		if len(s.unread) >= maxUnread {
			return
		}
		if l := s.e.files.local(sk.Name); sk.Special && (l == nil || l.Deleted) {
			continue
		}
		s.unread[sk.Name] = sk.Err.Error()
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
		if l := s.e.files.local(res.Stat.Name); s.run != nil && l != nil && l.IsFile() && !slices.Equal(l.Blocks, res.Blocks) {
			s.run.rewritten++
		}
		s.e.localChange(res.Stat, res.Blocks)
	}
}

// changed reports whether st differs from the local record enough to rescan.
// It must notice every difference a driver's Expect check notices, or an
// operation refused as changed would be planned again and again. Directory
// modification times are compared by neither, symlink permissions by
// neither.
func changed(l *proto.FileInfo, st Stat) bool {
	if l == nil || l.Deleted || l.Type != st.Type {
		return true
	}
	moved := l.ModTime != st.ModTime || (l.Inode != 0 && st.Inode != 0 && l.Inode != st.Inode)
	switch st.Type {
	case proto.FileTypeFile:
		return l.Mode != st.Mode || l.Size != st.Size || moved
	case proto.FileTypeDir:
		return l.Mode != st.Mode
	default:
		return l.Target != st.Target || moved
	}
}

// localChange records what a scan found at st.Name. What matches the local
// record only fills in its inode if that was unknown; anything else is a new
// local version, a file put in the place of an identical one too (moved
// back, restored from a backup): were it taken for the recorded version, a
// deletion of that version whose index write a crash lost would remove it.
// When the content is that of the global version (a pull whose index write
// was lost, the same change made on two devices, a file moved back), the new
// version also supersedes the global one instead of conflicting with it.
// It never takes over the global version itself: that version may have been
// superseded by one this device has not seen yet, which would then undo what
// is on disk here.
func (e *Engine) localChange(st Stat, blocks []proto.Block) {
	f := proto.FileInfo{
		Name: st.Name, Type: st.Type, Size: st.Size, ModTime: st.ModTime, Mode: st.Mode,
		Target: st.Target, Blocks: blocks, Inode: st.Inode, Mount: st.Mount, ModifiedBy: e.cfg.Local.Short(),
	}
	if f.Type != proto.FileTypeFile {
		f.Size = 0
	}
	en := e.files.get(st.Name)
	l := en.local
	if l != nil && proto.SameContent(l, &f) && sameTime(l, &f) && (l.Inode == 0 || l.Inode == f.Inode) {
		same := *l
		same.Inode = f.Inode
		e.files.setLocal(same)
		e.rd.Writes.Local = append(e.rd.Writes.Local, same)
		return
	}
	var base proto.Vector
	if l != nil {
		base = l.Version
	}
	if g, _ := e.global(en); g != nil && !g.Deleted && proto.SameContent(g, &f) {
		base = base.Merge(g.Version)
	}
	f.Version = base.Update(e.cfg.Local.Short(), e.nowSeconds())
	e.commitLocal(f)
}

// sameTime reports whether a and b agree on the modification time, which
// is part of the version of a file or symlink. A directory's changes with
// its entries and is not compared.
func sameTime(a, b *proto.FileInfo) bool {
	return a.Type == proto.FileTypeDir || a.ModTime == b.ModTime
}

// localDelete records that a local file is gone.
func (e *Engine) localDelete(l *proto.FileInfo) { e.localDeleteConfirmed(l, false) }

// localDeleteConfirmed records that a local file is gone; confirmed says
// the user let the deletion out past the guard, which tells the peers'
// guards too.
func (e *Engine) localDeleteConfirmed(l *proto.FileInfo, confirmed bool) {
	f := proto.FileInfo{
		Name: l.Name, Type: l.Type, Mode: l.Mode, ModTime: l.ModTime, Deleted: true, Confirmed: confirmed,
		Version: l.Version.Update(e.cfg.Local.Short(), e.nowSeconds()), ModifiedBy: e.cfg.Local.Short(),
	}
	e.commitLocal(f)
}
