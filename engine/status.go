package engine

import (
	"fmt"
	"slices"
	"strings"

	"ferry/proto"
)

// Status is a summary of the folder for people and scripts.
type Status struct {
	State       string // idle, scanning, syncing or error
	InSync      bool
	NeedFiles   int
	NeedBytes   int64
	LocalFiles  int
	LocalBytes  int64
	GlobalFiles int
	GlobalBytes int64
	Conflicts   int
	Errors      []string // "name: error", sorted
}

// counts are the sums in a Status. The syncer keeps them for the folder,
// and each entry's share of them, up to date as records change, so that a
// status costs no walk over the folder.
type counts struct {
	localFiles, globalFiles, needFiles, conflicts int
	localBytes, globalBytes, needBytes            int64
}

// share is what one entry adds to the counts, kept small: there is one per
// name in the folder.
type share struct {
	localBytes, globalBytes int64
	flags                   uint8
}

const (
	shareLocal    = 1 << iota // a live local record
	shareConflict             // ... of a conflict copy
	shareGlobal               // a live global record
	shareNeed                 // the name needs work
)

// shareOf is what the entry name, with local record l and global record g,
// adds to the status.
func shareOf(name string, l, g *proto.FileInfo, needed bool) share {
	var c share
	if l != nil && !l.Deleted {
		c.flags |= shareLocal
		c.localBytes = l.Size
		if strings.Contains(name, ".conflict-") {
			c.flags |= shareConflict
		}
	}
	if g != nil && !g.Deleted {
		c.flags |= shareGlobal
		c.globalBytes = g.Size
	}
	if needed {
		c.flags |= shareNeed
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
	c.localBytes += int64(sign) * o.localBytes
	c.globalBytes += int64(sign) * o.globalBytes
	if o.flags&shareNeed != 0 {
		c.needBytes += int64(sign) * o.globalBytes
	}
}

// Verify recounts the folder from its records and checks the sums kept as
// records changed; the simulator calls it after every step.
func (e *Engine) Verify() error {
	var sum counts
	for name, en := range e.files.entries {
		g, _ := en.global(e.devices)
		sum.add(shareOf(name, en.local, g, e.sync.need[name]), 1)
	}
	if sum != e.sync.totals {
		return fmt.Errorf("folder %s: status counts %+v, recounted %+v", e.cfg.Folder, e.sync.totals, sum)
	}
	if sum.needFiles != len(e.sync.need) {
		return fmt.Errorf("folder %s: %d names need work, counted %d", e.cfg.Folder, len(e.sync.need), sum.needFiles)
	}
	return nil
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
	if r := e.scans.run; r != nil && r.err != nil {
		st.Errors = append(st.Errors, fmt.Sprintf("scan: %v", r.err))
	}
	if e.scans.lastErr != nil {
		st.Errors = append(st.Errors, fmt.Sprintf("scan: %v", e.scans.lastErr))
	}
	slices.Sort(st.Errors)
	busy := e.scans.busy()
	st.InSync = st.NeedFiles == 0 && !busy && len(e.sync.inflight) == 0
	switch {
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
