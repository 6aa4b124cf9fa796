package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
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

// A folder whose index an older version wrote, before summaries were kept,
// is upgraded once when the daemon starts: the log says so with the number
// of names, the status counts come out as before, nothing is sent again
// and the folder syncs on.
func TestIndexUpgradeOnStart(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	const files, dirs = 1500, 15
	for i := range files {
		writeFile(t, a.path(fmt.Sprintf("dir%d/f%d.txt", i%dirs, i)), []byte(fmt.Sprint(i)), 0o644)
	}
	pair(a, b)
	a.start()
	b.start()
	converge(t, time.Minute, a, b)
	before := a.docsStatus()
	a.stop()
	downgradeIndex(t, filepath.Join(a.home, "index.db"), "docs")
	sent := b.peer(a.id).InBytes
	a.start()
	waitFor(t, time.Minute, "the upgrade logged", func() bool {
		return strings.Contains(a.log.String(), "the folder's index is upgraded")
	})
	if want := fmt.Sprintf("names=%d", files+dirs); !strings.Contains(a.log.String(), want) {
		t.Fatalf("the upgrade's log line does not say %s:\n%s", want, a.log.String())
	}
	converge(t, time.Minute, a, b)
	after := a.docsStatus()
	if after.LocalFiles != before.LocalFiles || after.GlobalFiles != before.GlobalFiles || after.LocalFiles != files+dirs {
		t.Fatalf("status after the upgrade %+v, before %+v", after, before)
	}
	if again := b.peer(a.id).InBytes - sent; again > 64<<10 {
		t.Errorf("B received %d bytes from A after the upgrade: the index was sent again", again)
	}
	writeFile(t, a.path("after-upgrade.txt"), []byte("new"), 0o644)
	waitFor(t, 30*time.Second, "a new file on B", func() bool {
		_, err := os.Stat(b.path("after-upgrade.txt"))
		return err == nil
	})
	a.stop()
	a.start()
	converge(t, time.Minute, a, b)
	if n := strings.Count(a.log.String(), "the folder's index is upgraded"); n != 0 {
		t.Errorf("the index was upgraded again at the next start (%d log lines)", n)
	}
}

// downgradeIndex makes the index at path look as the first version wrote
// it: folder's records and no summaries, schema 1.
func downgradeIndex(t *testing.T, path, folder string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		fb := tx.Bucket([]byte("folders")).Bucket([]byte(folder))
		for _, name := range []string{"summary", "need"} {
			if err := fb.DeleteBucket([]byte(name)); err != nil {
				return fmt.Errorf("delete bucket %s: %w", name, err)
			}
		}
		if err := fb.Bucket([]byte("meta")).Delete([]byte("summaries")); err != nil {
			return err
		}
		return tx.Bucket([]byte("info")).Put([]byte("schema"), []byte{0, 0, 0, 0, 0, 0, 0, 1})
	})
	if err != nil {
		t.Fatalf("downgrade the index: %v", err)
	}
}
