package engine

import (
	"path"
	"slices"
	"strings"
	"time"

	"ferry/proto"
)

// syncer decides which names need work to match the global state and hands
// out file operations for them, a bounded number at a time.
type syncer struct {
	e        *Engine
	inflight map[string]*pending
	deletes  int // deletes in flight
	failed   map[string]failure
	queue    []string         // the next names of the need list, in operation order
	pass     needPass         // where the next names come from
	delayed  map[string]int64 // file deletions waiting for DeleteDelay, by due time
	dirty    bool             // the need list changed since the pass began
	totals   counts           // the sum of every entry's counts
	remote   remoteGuard      // deletions by peers: let through or held
	// restore are names whose file vanished here and is pulled back from
	// peers (RevertDeletes), although the local record is that version.
	restore map[string]bool
	// full, when not empty, says why pulls wait until fullUntil: the disk
	// had no room. Deletions still run; they may make room.
	full      string
	fullUntil int64
	// unstorable are names this device cannot store, with why; refused
	// are versions whose names the file system refused (see names.go).
	unstorable map[string]string
	refused    map[string]refusal
	// apart are the names the folder's type keeps apart from the global
	// state: changes made in a receive-only folder, and changes of other
	// devices a send-only folder does not take. yield are the changes
	// made in a receive-only folder that RevertDeletes undoes.
	apart, yield map[string]bool
	// sweep is a recompute of every name that is under way; upgrading
	// says its end marks every name summarized (see UpgradeEvent).
	sweep     sweep
	upgrading bool
	// temps says whether temp files may be left in the folder; see
	// cleanIfIdle for the times that pace their removal.
	temps                           tempsState
	cleanStart, nextClean, nextLook int64
}

// needPass is a walk through the need list, a window at a time: the
// directories in byte order (parents first), then the files, then the
// deletions in reverse byte order (children first).
type needPass struct {
	kind  NeedKind
	after string // the last name taken of kind
	done  bool
}

// passWindow is how many names of the need list are taken at once.
const passWindow = 1024

// tempsState tracks temp files left by pulls that did not finish.
type tempsState int

const (
	tempsNone     tempsState = iota // none left since the last clean
	tempsMaybe                      // a pull failed, or the folder just started
	tempsCleaning                   // a CleanTempsOp is in flight
)

const (
	// minCleanGap is the least time between two cleans of temp files.
	minCleanGap = int64(2 * time.Second)
	// cleanEvery is how often names that need work are looked through
	// for one whose temp file is worth keeping.
	cleanEvery = int64(time.Minute)
)

// pending is an operation in flight: the record it writes and the local
// record it replaces.
type pending struct {
	file proto.FileInfo
	old  *proto.FileInfo
	seq  int64 // sequence of the local record when planned, 0 if none
	// probe says the operation started while pulls waited for space: only
	// its success shows that space was freed. One that started before the
	// disk filled may still finish on the room it had.
	probe bool
}

type failure struct {
	until int64
	err   string
}

func newSyncer(e *Engine) *syncer {
	return &syncer{
		e: e, inflight: make(map[string]*pending), delayed: make(map[string]int64), pass: needPass{done: true},
		failed: make(map[string]failure), remote: newRemoteGuard(), restore: make(map[string]bool),
		unstorable: make(map[string]string), refused: make(map[string]refusal), apart: make(map[string]bool), yield: make(map[string]bool),
		temps: tempsMaybe, // a crash leaves temps that no result reports
	}
}

func (s *syncer) recomputeAll() {
	s.sweep = sweep{on: true}
	s.sweepSome(true)
}

// sweep is a recompute of every name after a change that may change any
// name's summary: the folder's type or devices, a device's index dropped,
// an index upgraded. It goes a batch at a time in byte order and waits
// while too many changed names wait for their commit, so it never pins
// the folder in memory. Until it ends, the summaries of names past its
// cursor may be stale: such a name is recomputed before any operation is
// handed out for it, and deletions wait for the sweep's end, so that the
// guard judges them all together.
type sweep struct {
	on    bool
	after string // the names up to this one are recomputed
	done  int    // names recomputed so far
}

// upgradeReport is how many names an upgrade reports its progress after.
const upgradeReport = 100_000

// stale reports whether name's summary may predate the sweep under way.
func (s *syncer) stale(name string) bool { return s.sweep.on && name > s.sweep.after }

// sweepSome goes on with the sweep while few changed names wait for their
// commit. A driver that has never reported a commit (see Saved) is not
// waited for, except by New: it holds everything in memory anyway.
func (s *syncer) sweepSome(starting bool) {
	batch := s.e.cfg.SweepBatch
	for s.sweep.on && s.e.files.err == nil {
		if len(s.e.files.dirty) >= 8*batch && (starting || s.e.files.acked) {
			return
		}
		n, last := 0, ""
		s.e.files.walk("", s.sweep.after, "", func(name string, _ *entry) bool {
			s.recompute(name)
			n, last = n+1, name
			return n < batch
		})
		s.sweep.done += n
		if n < batch {
			if s.upgrading {
				s.upgrading = false
				s.e.rd.Writes.Summarized = true
				s.e.rd.Events = append(s.e.rd.Events, UpgradeEvent{Names: s.sweep.done, Done: true})
			}
			s.sweep = sweep{}
			s.dirty = true
			return
		}
		if s.upgrading && s.sweep.done/upgradeReport != (s.sweep.done-n)/upgradeReport {
			s.e.rd.Events = append(s.e.rd.Events, UpgradeEvent{Names: s.sweep.done})
		}
		s.sweep.after = last
	}
}

// recompute updates whether name needs work, and the counts of the
// folder's status. A name without records left goes, with its summary.
func (s *syncer) recompute(name string) {
	en := s.e.files.lookup(name)
	if en != nil && en.empty() {
		s.totals.add(en.share, -1)
		s.e.files.remove(name)
		en = nil
	}
	if en == nil {
		s.e.rd.Writes.Summaries = append(s.e.rd.Writes.Summaries, Summary{Name: name, Gone: true})
		delete(s.delayed, name)
		delete(s.apart, name)
		s.remote.forget(name)
		s.forgetUnfit(name)
		return
	}
	g, _ := s.e.global(en)
	l := en.local
	needed, apart := s.decide(name, l, g)
	if apart {
		s.apart[name] = true
	} else {
		delete(s.apart, name)
	}
	if !needed {
		delete(s.delayed, name)
		delete(s.restore, name)
		delete(s.yield, name)
		s.forgetUnfit(name)
	}
	if !needed || g == nil || !g.Deleted || l == nil || l.Deleted {
		s.remote.forget(name)
	}
	s.dirty = true
	c := shareOf(name, l, g, needKind(needed, g))
	s.totals.add(en.share, -1)
	s.totals.add(c, 1)
	if c != en.share || !en.summarized {
		s.e.rd.Writes.Summaries = append(s.e.rd.Writes.Summaries, c.summary(name))
		s.e.files.setShare(name, c)
	}
}

// decide reports whether name, with local record l and global record g,
// needs work, and whether the folder's type keeps it apart from the global
// state.
func (s *syncer) decide(name string, l, g *proto.FileInfo) (needed, apart bool) {
	switch {
	case s.restore[name]:
		needed = g != nil
	case s.e.cfg.Type == ReceiveOnly:
		needed = receiveNeeds(l, g) || s.yield[name] && changedHere(l, g)
		apart = !needed && changedHere(l, g)
	default:
		switch {
		case g == nil || g == l:
		case l == nil:
			needed = !g.Deleted
		default:
			needed = !l.Version.Equal(g.Version)
		}
		if s.e.cfg.Type == SendOnly {
			needed, apart = false, needed
		}
	}
	return needed, apart
}

// needKind is the work a name whose target is g needs, if needed; a nil
// target is the deletion a receive-only folder's reverted change needs.
func needKind(needed bool, g *proto.FileInfo) NeedKind {
	switch {
	case !needed:
		return NeedNone
	case g == nil || g.Deleted:
		return NeedDelete
	case g.Type == proto.FileTypeDir:
		return NeedDir
	}
	return NeedFile
}

// receiveNeeds reports whether a receive-only folder must bring name to
// the global record g, its local record being l. What the other devices
// made always wins: a pull replaces a local edit made meanwhile (keeping it
// as a conflict copy), and a local deletion does not keep a newer version
// away. A change made here on top of the global version is kept, as is a
// local edit the other devices deleted: it is a local change, listed, that
// RevertLocal undoes. A local record with the global content but another
// version (a scan that saw a pulled file before its pull was recorded) is
// brought to the global version, which costs no I/O.
func receiveNeeds(l, g *proto.FileInfo) bool {
	switch {
	case g == nil:
		return false
	case l == nil:
		return !g.Deleted
	case l.Version.Equal(g.Version):
		return false
	case l.Deleted && g.Deleted, sameRecord(l, g):
		return true
	}
	switch l.Version.Compare(g.Version) {
	case proto.Greater:
		return false
	case proto.Concurrent:
		return !g.Deleted
	}
	return true
}

// changedHere reports whether the receive-only record l differs from the
// global record g by a change made here.
func changedHere(l, g *proto.FileInfo) bool {
	if l == nil || l.Deleted && (g == nil || g.Deleted) {
		return false
	}
	return g == nil || !l.Version.Equal(g.Version)
}

// sameRecord reports whether live records a and b describe the same entry
// on disk.
func sameRecord(a, b *proto.FileInfo) bool {
	return !a.Deleted && !b.Deleted && proto.SameContent(a, b) && sameTime(a, b)
}

// waitToDelete reports whether the deletion of the live local file name
// must wait: a peer announces a rename's deletion and its new name in
// either order, and the new name copies its blocks from the old file only
// while that exists.
func (s *syncer) waitToDelete(name string, en *entry) bool {
	if l := en.local; l == nil || l.Deleted || l.Type != proto.FileTypeFile {
		return false
	}
	due, ok := s.delayed[name]
	if !ok {
		s.delayed[name] = s.e.now + int64(s.e.cfg.DeleteDelay)
		return true
	}
	return s.e.now < due
}

func (s *syncer) tick() {
	for _, due := range s.delayed {
		if s.e.now >= due {
			s.dirty = true
			break
		}
	}
	for name, f := range s.failed {
		if s.e.now >= f.until {
			delete(s.failed, name)
			s.dirty = true
		}
	}
	if s.full != "" && s.e.now >= s.fullUntil {
		s.dirty = true
	}
}

// schedule hands out operations until the in-flight limit. Directories come
// first (parents before children), then files and links, and deletions
// (children before parents) only once nothing else is in flight, so a
// renamed file's blocks are copied before its old name is removed. A
// directory is deleted only once no operation under it is in flight or
// waiting for a retry.
func (s *syncer) schedule() {
	defer s.cleanIfIdle()
	restarted := false
	for len(s.inflight) < s.e.cfg.MaxPulls && s.e.files.err == nil {
		if len(s.queue) == 0 {
			// A pass goes on to its end before the next begins: a name
			// late in the list is reached even while names before it
			// keep changing.
			if s.pass.done && s.dirty && !restarted {
				s.restart()
				restarted = true
			}
			if s.fill(); len(s.queue) == 0 {
				return
			}
		}
		name := s.queue[0]
		if s.stale(name) {
			s.recompute(name)
		}
		en := s.e.files.lookup(name)
		if en != nil && en.share.need != NeedNone && s.inflight[name] == nil {
			g, _ := s.target(name, en)
			if g.Deleted && len(s.inflight) > s.deletes {
				return // wait for creations to finish
			}
			if g.Deleted && s.waitToDelete(name, en) {
				s.queue = s.queue[1:]
				continue
			}
			if s.waitForSpace(g) {
				s.queue = s.queue[1:]
				continue
			}
			if !g.Deleted || g.Type != proto.FileTypeDir || !s.busyUnder(name) {
				s.plan(name, en)
			}
		}
		s.queue = s.queue[1:]
	}
}

// cleanIfIdle asks for leftover temp files to be removed once nothing is
// in flight and no file waits to be pulled, which would reuse its temp. A
// clean walks the tree, so the next waits for fifty times as long as the
// last took (at least minCleanGap); looking through names that still need
// work, when some do, is done at most once per cleanEvery.
func (s *syncer) cleanIfIdle() {
	if s.temps != tempsMaybe || len(s.inflight) > 0 || s.e.now < s.nextClean {
		return
	}
	if s.totals.needFiles > 0 {
		if s.e.now < s.nextLook {
			return
		}
		s.nextLook = s.e.now + cleanEvery
		if s.mayPull() {
			return
		}
	}
	s.temps, s.cleanStart = tempsCleaning, s.e.now
	s.e.rd.Ops = append(s.e.rd.Ops, CleanTempsOp{})
}

// mayPull reports whether a file that needs work may be pulled later: its
// temp file is worth keeping. Files this device cannot store are not.
func (s *syncer) mayPull() bool {
	for after, more := "", true; more; {
		var names []string
		names, after, more = s.e.files.needPage(NeedFile, after, false, passWindow)
		for _, name := range names {
			en := s.e.files.lookup(name)
			if en == nil {
				continue
			}
			g, _ := s.e.global(en)
			if g == nil || g.Deleted || g.Type != proto.FileTypeFile {
				continue
			}
			if r, ok := s.refused[name]; ok && r.version.Equal(g.Version) {
				continue
			}
			if s.unstorable[name] != "" {
				continue
			}
			return true
		}
	}
	return false
}

func (s *syncer) onTempsCleaned(r TempsCleaned) {
	// A pull that failed meanwhile has made it tempsMaybe again.
	if s.temps == tempsCleaning {
		s.temps = tempsNone
	}
	s.nextClean = s.e.now + max(minCleanGap, 50*(s.e.now-s.cleanStart))
	if r.Err != nil {
		s.temps = tempsMaybe // tried again after cleanEvery; the driver logs why
	}
}

// busyUnder reports whether an operation under directory dir is in flight
// or waits for a retry: the directory is not empty until it is done, and a
// delete tried now would fail and resurrect it. The operation's result
// rebuilds the queue, which brings dir back.
func (s *syncer) busyUnder(dir string) bool {
	prefix := dir + "/"
	for name := range s.inflight {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	for name := range s.failed {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	for name := range s.delayed {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	for name := range s.remote.held {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	for name := range s.e.scans.held {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// restart begins a new pass through the need list, judging first the
// deletions of live local files that no pass has judged yet.
func (s *syncer) restart() {
	s.dirty = false
	s.queue = s.queue[:0]
	s.pass = needPass{kind: NeedDir, done: s.totals.needFiles == 0}
	if s.pass.done || s.sweep.on {
		return // deletions are judged once the sweep is over
	}
	var fresh []string // deletions of live local records not judged yet
	for after, more := "", true; more; {
		var names []string
		names, after, more = s.e.files.needPage(NeedDelete, after, false, passWindow)
		for _, name := range names {
			en := s.waiting(name)
			if en == nil || !s.unjudged(name, en) {
				continue
			}
			if g, _ := s.target(name, en); g.Confirmed {
				// The user let it out past the guard where it was made.
				s.remote.approved[name] = true
				continue
			}
			fresh = append(fresh, name)
		}
	}
	s.judgeDeletes(fresh)
}

// unjudged reports whether a deletion the need list holds removes a live
// local file that the guard has neither let through nor held.
func (s *syncer) unjudged(name string, en *entry) bool {
	return !s.yield[name] && !s.restore[name] && en.local != nil && !en.local.Deleted &&
		!s.remote.approved[name] && !s.remote.held[name]
}

// waiting returns the entry of a name on the need list that waits for an
// operation, nil if it is in flight, failed and waits for a retry, or gone
// here and held for the user.
func (s *syncer) waiting(name string) *entry {
	if s.inflight[name] != nil {
		return nil
	}
	if _, failed := s.failed[name]; failed {
		return nil
	}
	if _, held := s.e.scans.held[name]; held {
		return nil // gone here; the user decides
	}
	return s.e.files.lookup(name)
}

// fill takes the next window of the pass into the queue, until it has a
// name to work on or the pass is done.
func (s *syncer) fill() {
	for len(s.queue) == 0 && !s.pass.done && s.e.files.err == nil {
		p := &s.pass
		if p.kind == NeedDelete && s.sweep.on {
			p.done = true // see sweep; its end begins a new pass
			return
		}
		names, next, more := s.e.files.needPage(p.kind, p.after, p.kind == NeedDelete, passWindow)
		p.after = next
		if !more {
			p.after = ""
			if p.done = p.kind == NeedDelete; !p.done {
				p.kind++
			}
		}
		s.enqueue(names)
	}
}

// enqueue queues the names of one window that may be worked on now.
func (s *syncer) enqueue(names []string) {
	type item struct {
		name string
		by   proto.ShortID // the device that made the version to fetch
	}
	var items []item
	fetches := false
	for _, name := range names {
		if s.stale(name) {
			s.recompute(name)
		}
		en := s.waiting(name)
		if en == nil || s.remote.held[name] {
			continue
		}
		g, _ := s.target(name, en)
		if g == nil || !g.Deleted && !s.storable(name, g) {
			continue
		}
		if g.Deleted && s.unjudged(name, en) {
			s.dirty = true // the next pass judges it first
			continue
		}
		if !g.Deleted && g.Type != proto.FileTypeDir {
			items = append(items, item{name, g.ModifiedBy})
			fetches = true
			continue
		}
		items = append(items, item{name: name})
	}
	if fetches {
		interleaveFetches(items, func(it item) (bool, proto.ShortID) { return true, it.by })
	}
	for _, it := range items {
		s.queue = append(s.queue, it.name)
	}
}

// interleaveFetches reorders the run of fetches in items (those fetch
// reports true for, contiguous and sorted) so that the devices that made
// them take turns, each in its own order: one device announcing thousands
// of changes does not make another's one change wait behind them all.
func interleaveFetches[T any](items []T, fetch func(T) (bool, proto.ShortID)) {
	start := slices.IndexFunc(items, func(it T) bool { ok, _ := fetch(it); return ok })
	if start < 0 {
		return
	}
	end := start
	var order []proto.ShortID
	groups := make(map[proto.ShortID][]T)
	for ; end < len(items); end++ {
		ok, by := fetch(items[end])
		if !ok {
			break
		}
		if _, seen := groups[by]; !seen {
			order = append(order, by)
		}
		groups[by] = append(groups[by], items[end])
	}
	if len(order) < 2 {
		return
	}
	slices.Sort(order)
	out := items[start:start]
	for len(out) < end-start {
		for _, by := range order {
			if g := groups[by]; len(g) > 0 {
				out = append(out, g[0])
				groups[by] = g[1:]
			}
		}
	}
}

// plan emits the operation that brings name to its global version, or
// records it directly when no disk change is needed.
func (s *syncer) plan(name string, en *entry) {
	g, holders := s.target(name, en)
	l := en.local
	if s.restore[name] {
		// The file vanished here: bring the global version back as if
		// nothing were there.
		l = nil
	}
	if g.Deleted && (l == nil || l.Deleted) {
		s.e.commitLocal(adopt(g, l))
		return
	}
	if l != nil && proto.SameContent(l, g) && sameTime(l, g) {
		// What is here is the global version under another history (the
		// same change made on two devices, a folder added on both, an
		// index rebuilt from disk): take its version, no I/O.
		s.e.commitLocal(adopt(g, l))
		return
	}
	expect := expectOf(l)
	conflict, loser := s.conflictFor(l, g)
	keep := s.keepOf(l, g, conflict)
	if keep != nil && s.yield[name] {
		keep.Kind = KeepReverted
	}
	var op Op
	switch {
	case g.Deleted:
		op = DeleteOp{File: *g, Expect: expect, Keep: keep}
		s.deletes++
	case g.Type == proto.FileTypeDir:
		op = MkdirOp{File: *g, Expect: expect, ConflictName: conflict, Keep: keep}
	case g.Type == proto.FileTypeSymlink:
		op = SymlinkOp{File: *g, Expect: expect, ConflictName: conflict, Keep: keep}
	default:
		pull, ok := s.planPull(g, holders)
		if !ok {
			return // no source now; a peer connecting or announcing re-plans it
		}
		pull.Expect, pull.ConflictName, pull.Keep = expect, conflict, keep
		op = pull
	}
	s.inflight[name] = &pending{file: *g, old: loser, seq: seqOf(en.local), probe: s.full != ""}
	s.e.rd.Ops = append(s.e.rd.Ops, op)
}

// target returns the record name needs to be brought to, and the devices
// that hold it: the global record, or for a change made in a receive-only
// folder alone and undone by the user, its deletion.
func (s *syncer) target(name string, en *entry) (*proto.FileInfo, []proto.DeviceID) {
	g, holders := s.e.global(en)
	if l := en.local; g == nil && s.yield[name] && l != nil {
		g = &proto.FileInfo{Name: name, Type: l.Type, Mode: l.Mode, ModTime: l.ModTime, Deleted: true, Version: l.Version}
	}
	return g, holders
}

// keepOf returns what of the local file l an operation that brings the
// global record g should keep in the version history: l's record, when
// history is on and l is a regular file with content of its own.
func (s *syncer) keepOf(l, g *proto.FileInfo, conflict string) *Keep {
	if !s.e.cfg.History || l == nil || l.Deleted || l.Type != proto.FileTypeFile {
		return nil
	}
	k := &Keep{File: *l, Kind: KeepReplaced, By: g.ModifiedBy}
	switch {
	case s.e.cfg.Type == ReceiveOnly && l.Version.Compare(g.Version) == proto.Greater:
		k.Kind = KeepReverted
	case conflict != "":
		k.Kind = KeepConflict
	case g.Deleted:
		k.Kind = KeepDeleted
	}
	return k
}

// conflictFor returns where to keep the local version l, and l, when l is
// a file or symlink that loses to the concurrent global version g. Nothing
// is kept twice: when the local record at the conflict name is a copy of l
// (made here before, or by a peer and pulled), l is just replaced. A name
// held by something else gets a number; that of a deleted copy is reused.
func (s *syncer) conflictFor(l, g *proto.FileInfo) (string, *proto.FileInfo) {
	if l == nil || l.Deleted || l.Type == proto.FileTypeDir || l.Version.Compare(g.Version) != proto.Concurrent || proto.SameContent(l, g) {
		return "", nil
	}
	for n := 1; ; n++ {
		name := numberedConflictName(l, n)
		c := s.e.files.local(name)
		switch {
		case c == nil:
			return name, l
		case keeps(c, l, name):
			return "", nil
		case c.Deleted:
			return name, l
		}
	}
}

// keeps reports whether the local record c at the conflict name is a copy
// of the losing version l made there: the copy's version and l's content.
// Equal content under another version may be a stale record of a file
// already moved away.
func keeps(c, l *proto.FileInfo, name string) bool {
	return !c.Deleted && c.Version.Equal(copyVersion(l, name)) && proto.SameContent(c, l)
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

// seqOf returns the sequence of the local record l, 0 if there is none.
func seqOf(l *proto.FileInfo) int64 {
	if l == nil {
		return 0
	}
	return l.Sequence
}

// adopt returns g as the new local record, keeping the local inode.
func adopt(g, l *proto.FileInfo) proto.FileInfo {
	f := g.Clone()
	f.Inode, f.Mount = 0, false
	if l != nil && !g.Deleted {
		f.Inode, f.Mount = l.Inode, l.Mount
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
	} else if r.Err != nil && p.file.Type == proto.FileTypeFile {
		s.temps = tempsMaybe // its temp stays for a retry, or for good if the version goes
	}
	s.dirty = true
	if s.restore[r.Name] && (r.Err == nil || r.Changed || r.NotEmpty) {
		// A file pulled back after RevertDeletes is restored once something
		// is at its name again: the pulled file, or what the user put
		// there, which a scan records.
		delete(s.restore, r.Name)
		s.recompute(r.Name)
	}
	switch {
	case r.NoSpace:
		if s.full == "" {
			s.e.rd.Events = append(s.e.rd.Events, OpFailed{Name: r.Name, Err: r.Err})
		}
		s.full, s.fullUntil = r.Err.Error(), s.e.now+int64(s.e.cfg.RetryAfter)
	case r.Changed:
		s.e.scans.request(ScanRequest{Subtree: r.Name})
	case r.NotEmpty:
		s.resurrect(r.Name, &p.file)
	case r.BadName && !p.file.Deleted:
		s.refuse(r.Name, p.file.Version, r.Err)
	case r.Err != nil:
		s.failed[r.Name] = failure{until: s.e.now + int64(s.e.cfg.RetryAfter), err: r.Err.Error()}
		s.e.rd.Events = append(s.e.rd.Events, OpFailed{Name: r.Name, Err: r.Err})
	default:
		delete(s.failed, r.Name)
		if p.probe && !p.file.Deleted {
			s.full = ""
		}
		s.done(r, p)
	}
}

// waitForSpace reports whether creating g must wait for disk space. After
// fullUntil one operation at a time tries again.
func (s *syncer) waitForSpace(g *proto.FileInfo) bool {
	if s.full == "" || g.Deleted {
		return false
	}
	return s.e.now < s.fullUntil || len(s.inflight) > s.deletes
}

func (s *syncer) done(r OpResult, p *pending) {
	if seqOf(s.e.files.local(r.Name)) != p.seq {
		// A scan recorded a change while the operation ran: recording the
		// planned version now would undo it. What is on disk is for a scan
		// to record.
		s.e.scans.request(ScanRequest{Subtree: r.Name})
		if r.Conflict != nil {
			s.e.scans.request(ScanRequest{Subtree: r.Conflict.Name})
		}
		return
	}
	if r.Conflict != nil && p.old != nil {
		c := p.old.Clone()
		c.Name, c.Inode = r.Conflict.Name, r.Conflict.Inode
		c.Version = copyVersion(p.old, c.Name)
		s.e.commitLocal(c)
		s.e.rd.Events = append(s.e.rd.Events, ConflictEvent{Name: r.Name, Copy: c.Name})
	}
	f := p.file.Clone()
	f.Inode = r.Stat.Inode
	s.e.commitLocal(f)
	if !f.Deleted {
		s.scanOrphanParents(f.Name)
	}
}

// scanOrphanParents asks for a scan of the highest parent directory of name
// whose global version is deleted or unknown. The driver created it for
// name's sake; a scan records it, which resurrects a deleted directory that
// now holds a live entry, and keeps it from being left behind unrecorded.
func (s *syncer) scanOrphanParents(name string) {
	top := ""
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		var g *proto.FileInfo
		if en := s.e.files.lookup(dir); en != nil {
			g, _ = s.e.global(en)
		}
		if g == nil || g.Deleted {
			top = dir
		}
	}
	if top != "" {
		s.e.scans.request(ScanRequest{Subtree: top})
	}
}

// resurrect keeps a directory that still holds entries here although a peer
// deleted it or put a file or symlink in its place: a new live version of
// it. It supersedes a deletion. It is concurrent with a file or symlink,
// which loses to it by the conflict rule and is kept as a conflict copy
// where it is on disk, so no content is lost.
func (s *syncer) resurrect(name string, other *proto.FileInfo) {
	l := s.e.files.local(name)
	if l == nil || l.Type != proto.FileTypeDir {
		return
	}
	f := l.Clone()
	f.Deleted = false
	base := l.Version
	if other.Deleted {
		base = other.Version.Merge(l.Version)
	}
	f.Version = base.Update(s.e.cfg.Local.Short(), s.e.nowSeconds())
	f.ModifiedBy = s.e.cfg.Local.Short()
	s.e.commitLocal(f)
}
