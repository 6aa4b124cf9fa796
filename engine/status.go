package engine

import (
	"fmt"
	"slices"
	"strings"
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

// Status computes the folder's status.
func (e *Engine) Status() Status {
	var st Status
	for name, en := range e.files.entries {
		if l := en.local; l != nil && !l.Deleted {
			st.LocalFiles++
			st.LocalBytes += l.Size
			if strings.Contains(name, ".conflict-") {
				st.Conflicts++
			}
		}
		if g, _ := en.global(e.devices); g != nil && !g.Deleted {
			st.GlobalFiles++
			st.GlobalBytes += g.Size
		}
	}
	for name := range e.sync.need {
		st.NeedFiles++
		if g, _ := e.files.entries[name].global(e.devices); !g.Deleted {
			st.NeedBytes += g.Size
		}
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
