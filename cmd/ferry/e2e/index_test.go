package e2e

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// Reconnecting sends only what the peer has not seen, not the whole index.
func TestReconnectSendsOnlyNewRecords(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	for i := range 2000 {
		writeFile(t, a.path(fmt.Sprintf("dir%d/f%d.txt", i%20, i)), []byte(fmt.Sprint(i)), 0o644)
	}
	pair(a, b)
	a.start()
	b.start()
	converge(t, time.Minute, a, b)
	full := a.peer(b.id).OutBytes
	b.stop()
	writeFile(t, a.path("one-more.txt"), []byte("new"), 0o644)
	a.ferry("scan", "docs")
	before := a.peer(b.id).OutBytes
	b.start()
	converge(t, time.Minute, a, b)
	again := a.peer(b.id).OutBytes - before
	t.Logf("first sync sent %d bytes, reconnect with one new file sent %d", full, again)
	if again > 8<<10 {
		t.Fatalf("reconnect sent %d bytes (first sync %d): the index was sent again", again, full)
	}
}

// `ferry scan FOLDER PATH` scans that subtree, named relative to the folder
// or by its absolute path, and refuses a path outside the folder.
func TestScanSubtree(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	pair(a, b)
	a.start()
	b.start()
	writeFile(t, a.path("in/x.txt"), []byte("x"), 0o644)
	writeFile(t, a.path("out/y.txt"), []byte("y"), 0o644)
	a.ferry("scan", "docs", "in")
	waitFor(t, 20*time.Second, "in/x.txt on B", func() bool {
		_, err := os.Stat(b.path("in/x.txt"))
		return err == nil
	})
	// That the scan stays inside its subtree is TestWalkSubtree's to check:
	// here the folder's watcher reports out/y.txt on its own, at a moment
	// that depends on the machine's load.
	a.ferry("scan", "docs", a.path("out"))
	waitFor(t, 20*time.Second, "out/y.txt on B", func() bool {
		_, err := os.Stat(b.path("out/y.txt"))
		return err == nil
	})
	if _, _, code := a.try("scan", "docs", "../escape"); code != 1 {
		t.Fatalf("scan of ../escape exited %d, want 1", code)
	}
}
