package node

import (
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"ferry/engine"
	"ferry/proto"
)

// inboxNode returns a node sharing folder "docs" with devA, whose runner
// is not running: nothing takes its inputs unless the test does.
func inboxNode() (*Node, *folderRunner) {
	r := &folderRunner{id: "docs", in: newInbox[engine.Input]()}
	r.persist = newPersister(nil, nil, nil, nil)
	n := &Node{folders: map[string]*folderHandle{"docs": {runner: r, shared: map[proto.DeviceID]bool{devA: true}}}}
	return n, r
}

// queuedFiles counts the records of the index updates waiting in in.
func queuedFiles(in *inbox[engine.Input]) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	files := 0
	for _, it := range in.items {
		if rc, ok := it.(engine.Received); ok {
			files += len(rc.Update.Files)
		}
	}
	return files
}

// A peer sending index updates faster than the folder takes them waits:
// its read loop stops reading, and the updates queued stay bounded. Once
// the folder takes them, more come in; once the connection closes, the
// waiting read loop goes.
func TestIndexUpdatesWaitForTheFolder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, r := inboxNode()
		c := &peerConn{dev: devA, closed: make(chan struct{})}
		u := &proto.IndexUpdate{Folder: "docs", IndexID: 1, Files: make([]proto.FileInfo, 1000)}
		var put atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range 2000 {
				n.index(c, u)
				put.Add(1)
			}
		}()
		synctest.Wait()
		if q := queuedFiles(r.in); q > 1<<16+1000 {
			t.Fatalf("%d records queued for a folder that takes none (%d updates put)", q, put.Load())
		}
		before := put.Load()
		r.in.take()
		synctest.Wait()
		if put.Load() == before {
			t.Fatal("no update came in after the folder took the queued ones")
		}
		// Readys waiting for their commit hold the next updates back too.
		// They are queued while the read loop waits for room in the inbox:
		// the update it holds has passed the commit check and comes in,
		// the next waits.
		for range maxPendingCommits {
			r.persist.queue.put(engine.Ready{})
		}
		r.in.take()
		synctest.Wait()
		before = put.Load()
		r.in.take()
		synctest.Wait()
		if put.Load() != before {
			t.Fatalf("%d updates came in while %d commits waited", put.Load()-before, maxPendingCommits)
		}
		r.persist.queue.take()
		synctest.Wait()
		if put.Load() == before {
			t.Fatal("no update came in once the commits were taken")
		}
		close(c.closed)
		<-done
	})
}

// A folder that takes nothing for as long as a read may wait ends the
// connection that waits on it.
func TestIndexUpdateWaitTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, _ := inboxNode()
		c := &peerConn{dev: devA, closed: make(chan struct{})}
		u := &proto.IndexUpdate{Folder: "docs", IndexID: 1, Files: make([]proto.FileInfo, 1<<16)}
		if err := n.index(c, u); err != nil {
			t.Fatalf("first update: %v", err)
		}
		start := time.Now()
		err := n.index(c, u)
		if err == nil || !strings.Contains(err.Error(), "not taking") {
			t.Fatalf("second update: %v", err)
		}
		if waited := time.Since(start); waited != readTimeout {
			t.Fatalf("waited %v, want %v", waited, readTimeout)
		}
	})
}
