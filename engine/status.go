package engine

import (
	"fmt"
	"slices"
	"strings"

	"ferry/proto"
)

// Status is a summary of the folder for people and scripts.
type Status struct {
	State       string // idle, scanning, syncing, error, held, local-changes, out-of-sync or upgrading
	InSync      bool
	NeedFiles   int
	NeedBytes   int64
	LocalFiles  int
	LocalBytes  int64
	GlobalFiles int
	GlobalBytes int64
	Conflicts   int
	Errors      []string // "name: error", sorted
	// HeldLocal files vanished here and HeldRemote files peers deleted
	// are kept, their deletion held by the guard until ConfirmDeletes or
	// RevertDeletes; HeldSample names some of them.
	HeldLocal  int
	HeldRemote int
	HeldSample []string
	// MassChange is how many files one scan found rewritten, when that
	// tripped the guard's rule, until Acknowledge.
	MassChange int
	// Apart counts the names the folder's type keeps apart from the global
	// state: in a receive-only folder the changes made here, which are not
	// sent and never win; in a send-only folder the changes of other
	// devices, which are not taken. ApartSample names some of them.
	Apart       int
	ApartSample []string
	// Upgraded counts the names given their summary so far while an index
	// written before summaries were kept is upgraded (state "upgrading");
	// until then the counts above leave out the names not reached yet.
	Upgraded int
}

// counts are the sums in a Status. The syncer keeps them for the folder,
// and each entry's share of them, up to date as records change, so that a
// status costs no walk over the folder.
type counts struct {
	localFiles, globalFiles, needFiles, conflicts int
	localNonDirs                                  int // live local files and symlinks
	localBytes, globalBytes, needBytes            int64
}

// share is what one entry adds to the counts, kept small: there is one per
// name in the folder.
type share struct {
	localBytes, globalBytes int64
	flags                   uint8
	need                    NeedKind
}

// summary is the share as the index keeps it.
func (c share) summary(name string) Summary {
	return Summary{Name: name, Need: c.need, Flags: c.flags, LocalBytes: c.localBytes, GlobalBytes: c.globalBytes}
}

// shareOfSummary is the share a stored summary records.
func shareOfSummary(s Summary) share {
	return share{localBytes: s.LocalBytes, globalBytes: s.GlobalBytes, flags: s.Flags, need: s.Need}
}

const (
	shareLocal    = 1 << iota // a live local record
	shareConflict             // ... of a conflict copy
	shareGlobal               // a live global record
	shareNeed                 // the name needs work
	shareNonDir               // a live local record of a file or symlink
)

// shareOf is what the entry name, with local record l and global record g,
// adds to the status.
// need is the work the name needs, NeedNone if it needs none.
func shareOf(name string, l, g *proto.FileInfo, need NeedKind) share {
	var c share
	if l != nil && !l.Deleted {
		c.flags |= shareLocal
		c.localBytes = l.Size
		if l.Type != proto.FileTypeDir {
			c.flags |= shareNonDir
		}
		if strings.Contains(name, ".conflict-") {
			c.flags |= shareConflict
		}
	}
	if g != nil && !g.Deleted {
		c.flags |= shareGlobal
		c.globalBytes = g.Size
	}
	if need != NeedNone {
		c.flags |= shareNeed
		c.need = need
	}
	return c
}

// add adds the share o to c, sign times.
func (c *counts) add(o share, sign int) {
	bit := func(f uint8) int {
		if o.flags&f != 0 {
			return sign
		}
		return 0
	}
	c.localFiles += bit(shareLocal)
	c.conflicts += bit(shareConflict)
	c.globalFiles += bit(shareGlobal)
	c.needFiles += bit(shareNeed)
	c.localNonDirs += bit(shareNonDir)
	c.localBytes += int64(sign) * o.localBytes
	c.globalBytes += int64(sign) * o.globalBytes
	if o.flags&shareNeed != 0 {
		c.needBytes += int64(sign) * o.globalBytes
	}
}

// Verify recounts the folder from its records and checks the sums kept as
// records changed; the simulator calls it after every step. A name a
// sweep has yet to reach counts as its summary says.
func (e *Engine) Verify() error {
	var sum counts
	var err error
	var needs [NeedDelete + 1][]string // names by kind of work, in byte order
	e.files.each("", func(name string, en *entry) {
		g, _ := e.global(en)
		needed, _ := e.sync.decide(name, en.local, g)
		c := shareOf(name, en.local, g, needKind(needed, g))
		if e.sync.stale(name) {
			c = en.share // the sweep has yet to reach it
		}
		sum.add(c, 1)
		needs[c.need] = append(needs[c.need], name)
		if c != en.share && err == nil {
			err = fmt.Errorf("folder %s: %q adds %+v to the status, recounted %+v", e.cfg.Folder, name, en.share, c)
		}
	})
	if err != nil {
		return err
	}
	if e.files.err != nil {
		return e.files.err
	}
	if sum != e.sync.totals {
		return fmt.Errorf("folder %s: status counts %+v, recounted %+v", e.cfg.Folder, e.sync.totals, sum)
	}
	// The need list, as the index and the changes not committed yet make
	// it, walked in small pages both ways.
	for kind := NeedDir; kind <= NeedDelete; kind++ {
		for _, reverse := range []bool{false, true} {
			var list []string
			for after, more := "", true; more; {
				var page []string
				page, after, more = e.files.needPage(kind, after, reverse, 3)
				list = append(list, page...)
			}
			if reverse {
				slices.Reverse(list)
			}
			if !slices.Equal(list, needs[kind]) {
				return fmt.Errorf("folder %s: need list of kind %d (reverse %v) %q, recounted %q", e.cfg.Folder, kind, reverse, list, needs[kind])
			}
		}
	}
	return e.files.err
}

// VerifySummaries checks that the store holds, for every name, the summary
// the engine holds, and none for a name without records. It is meant for
// a driver whose writes are all committed: the simulator, once converged.
func (e *Engine) VerifySummaries() error {
	ok, err := e.store.Summarized()
	if err != nil || !ok {
		return fmt.Errorf("folder %s: summaries incomplete (%v)", e.cfg.Folder, err)
	}
	if len(e.files.dirty) > 0 {
		return fmt.Errorf("folder %s: %d names changed since the last commit the driver reported", e.cfg.Folder, len(e.files.dirty))
	}
	for after := ""; ; {
		page, err := e.store.Range("", after, rangePage)
		if err != nil {
			return err
		}
		for _, st := range page {
			if st.Local == nil && len(st.Remote) == 0 {
				return fmt.Errorf("folder %s: a summary of %q, which has no record", e.cfg.Folder, st.Name)
			}
			en := e.files.entryOf(st)
			g, _ := e.global(en)
			needed, _ := e.sync.decide(st.Name, en.local, g)
			if c := shareOf(st.Name, en.local, g, needKind(needed, g)); c != en.share {
				return fmt.Errorf("folder %s: stored summary of %q %+v, recounted %+v", e.cfg.Folder, st.Name, en.share, c)
			}
		}
		if len(page) < rangePage {
			break
		}
		after = page[len(page)-1].Name
	}
	return e.store.Each(func(_ proto.DeviceID, f proto.FileInfo) error {
		st, err := e.store.Lookup(f.Name)
		if err == nil && !st.Summarized {
			err = fmt.Errorf("folder %s: %q has records and no summary", e.cfg.Folder, f.Name)
		}
		return err
	})
}

// Status computes the folder's status.
func (e *Engine) Status() Status {
	t := e.sync.totals
	st := Status{
		NeedFiles: t.needFiles, NeedBytes: t.needBytes,
		LocalFiles: t.localFiles, LocalBytes: t.localBytes,
		GlobalFiles: t.globalFiles, GlobalBytes: t.globalBytes,
		Conflicts: t.conflicts,
	}
	for name, f := range e.sync.failed {
		st.Errors = append(st.Errors, fmt.Sprintf("%s: %s", name, f.err))
	}
	st.Errors = append(st.Errors, e.sync.unfitErrors()...)
	if r := e.scans.run; r != nil && r.err != nil {
		st.Errors = append(st.Errors, fmt.Sprintf("scan: %v", r.err))
	}
	if e.scans.lastErr != nil {
		st.Errors = append(st.Errors, fmt.Sprintf("scan: %v", e.scans.lastErr))
	}
	if e.sync.full != "" {
		st.Errors = append(st.Errors, "pulling paused: "+e.sync.full+"; it resumes by itself once space is freed")
	}
	for name, err := range e.scans.unread {
		st.Errors = append(st.Errors, fmt.Sprintf("%s: not read, kept as it was: %s", name, err))
	}
	slices.Sort(st.Errors)
	st.HeldLocal, st.HeldRemote = len(e.scans.held), len(e.sync.remote.held)
	st.HeldSample = heldSample(e.scans.held, e.sync.remote.held)
	st.MassChange = e.scans.massChange
	busy := e.scans.busy()
	held := st.HeldLocal+st.HeldRemote > 0
	st.Apart = len(e.sync.apart)
	st.ApartSample = heldSample(nil, e.sync.apart)
	st.InSync = st.NeedFiles == 0 && !busy && len(e.sync.inflight) == 0 && !held && st.Apart == 0 && !e.sync.upgrading
	switch {
	case e.sync.upgrading:
		st.State, st.Upgraded = "upgrading", e.sync.sweep.done
	case held:
		st.State = "held"
	case st.Apart > 0 && !busy && st.NeedFiles == 0 && len(st.Errors) == 0:
		st.State = "out-of-sync"
		if e.cfg.Type == ReceiveOnly {
			st.State = "local-changes"
		}
	case busy:
		st.State = "scanning"
	case st.NeedFiles > 0 && len(e.sync.inflight) > 0:
		st.State = "syncing"
	case len(st.Errors) > 0:
		st.State = "error"
	case st.NeedFiles > 0:
		st.State = "syncing"
	default:
		st.State = "idle"
	}
	return st
}

// heldSample returns the first names, in order, of the held deletions,
// keeping only maxSample of them at a time.
func heldSample(local map[string]hold, remote map[string]bool) []string {
	var out []string
	add := func(name string) {
		if len(out) == maxSample && name >= out[maxSample-1] {
			return
		}
		i, _ := slices.BinarySearch(out, name)
		out = slices.Insert(out, i, name)
		if len(out) > maxSample {
			out = out[:maxSample]
		}
	}
	for name := range local {
		add(name)
	}
	for name := range remote {
		add(name)
	}
	return out
}

// Held returns how many names the engine holds in memory: those whose
// changes the index does not have yet, and the cache of what it read.
// The rest of the folder stays in the index.
func (e *Engine) Held() int { return len(e.files.dirty) + len(e.files.cache) + len(e.files.older) }
