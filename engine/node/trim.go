package node

import (
	"runtime/debug"
	"time"
)

// idleTrimAfter is how long the daemon must have moved no bytes and pulled
// nothing before it gives the memory it no longer uses back to the system.
// The Go runtime returns freed memory only slowly by itself; a daemon that
// just synced a large folder would otherwise sit on the peak of the sync
// for many minutes.
const idleTrimAfter = 30 * time.Second

// idleNoise is the traffic a quiet daemon still has (pings every 30 s, an
// index update of a file or two): less than this since the spell began
// keeps it quiet.
const idleNoise = 64 << 10

// idleTrim decides when to give memory back: once per quiet spell, when
// the activity counter has moved less than idleNoise for idleTrimAfter.
type idleTrim struct {
	last    int64     // the activity counter when the quiet spell began
	since   time.Time // when it began
	trimmed bool      // memory was given back since it last moved
}

// sample takes the activity counter at now and reports whether to trim.
func (t *idleTrim) sample(now time.Time, activity int64) bool {
	if activity-t.last >= idleNoise || t.since.IsZero() {
		t.last, t.since, t.trimmed = activity, now, false
		return false
	}
	if t.trimmed || now.Sub(t.since) < idleTrimAfter {
		return false
	}
	t.trimmed = true
	return true
}

// activity sums what the daemon moved: bytes on every connection and
// bytes pulled into every folder.
func (n *Node) activity() int64 {
	total := n.conns.bytesMoved()
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, h := range n.folders {
		if r := h.runner; r != nil {
			total += r.pulled.Load()
		}
	}
	return total
}

// indexReleaseEvery is how often the index's pages are taken out of the
// daemon's resident memory (see index.DB.ReleaseMemory): a sync or a scan
// of a large folder reads much of the index, and what it read would stay
// resident.
const indexReleaseEvery = time.Second

// trimIfIdle gives unused memory back once the daemon has been quiet for
// idleTrimAfter, and releases the index's pages every indexReleaseEvery.
func (n *Node) trimIfIdle(now time.Time) {
	idle := n.trim.sample(now, n.activity())
	if idle || now.Sub(n.released) >= indexReleaseEvery {
		n.released = now
		if err := n.db.ReleaseMemory(); err != nil {
			n.log.Warn("index pages not released", "err", err)
		}
	}
	if idle {
		debug.FreeOSMemory()
		n.log.Debug("idle: unused memory given back to the system")
	}
}
