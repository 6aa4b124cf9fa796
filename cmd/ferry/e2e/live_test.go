package e2e

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// A change is noticed by the watcher: no `ferry scan`, and well before the
// periodic scan would run.
func TestWatcherPropagatesWithoutScan(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	pair(a, b)
	a.start()
	b.start()
	waitFor(t, 20*time.Second, "connected", func() bool { return a.peer(b.id).Connected })
	start := time.Now()
	writeFile(t, a.path("live/note.txt"), []byte("typed just now"), 0o644)
	waitFor(t, 8*time.Second, "note.txt on B", func() bool {
		got, err := os.ReadFile(b.path("live/note.txt"))
		return err == nil && bytes.Equal(got, []byte("typed just now"))
	})
	t.Logf("propagated in %v", time.Since(start))
	if err := os.Remove(a.path("live/note.txt")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 8*time.Second, "note.txt gone on B", func() bool {
		_, err := os.Stat(b.path("live/note.txt"))
		return os.IsNotExist(err)
	})
}
