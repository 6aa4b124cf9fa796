package e2e

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests in this file make changes the way a person or a program does
// during a day and rely on the watcher alone: none of them asks for a scan.

// settle waits, without asking for a scan, until every device holds the
// same tree and reports all its folders in sync.
func settle(t testing.TB, timeout time.Duration, devs ...*device) {
	t.Helper()
	var diff string
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if diff = treesDiffer(devs); diff != "" {
			continue
		}
		if allInSync(devs) {
			return
		}
		diff = "not all in sync"
	}
	dumpAndStop(t, devs...)
	t.Fatalf("devices did not settle within %v without a scan: %s", timeout, diff)
}

// treesDiffer describes the first difference between the first device's
// tree and the others', or returns "" when they are all the same.
func treesDiffer(devs []*device) string {
	want, err := trySnapshot(devs[0].folder)
	if err != nil {
		return err.Error()
	}
	for _, d := range devs[1:] {
		got, err := trySnapshot(d.folder)
		if err != nil {
			return err.Error()
		}
		if diff := compare(want, got); diff != "" {
			return d.name + ": " + diff
		}
	}
	return ""
}

// dumpAndStop logs each device's status, stops it and then logs the tail of
// its output (read only once the daemon has exited, so no write races the
// read).
func dumpAndStop(t testing.TB, devs ...*device) {
	t.Helper()
	for _, d := range devs {
		if d.cmd == nil {
			continue
		}
		out, _, _ := d.try("status", "--json")
		d.stop()
		t.Logf("%s status: %s\nlog:\n%s", d.name, out, tail(d.log.String(), 3000))
	}
}

// strayNames lists the names under root that contain any of the markers.
func strayNames(t testing.TB, root string, markers ...string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() && de.Name() == ".ferry" {
			return filepath.SkipDir
		}
		for _, m := range markers {
			if strings.Contains(de.Name(), m) {
				rel, _ := filepath.Rel(root, p)
				found = append(found, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return found
}

// startPair pairs two new devices, starts them and waits until they are
// connected.
func startPair(t *testing.T) (a, b *device) {
	t.Helper()
	a, b = newDevice(t, "A"), newDevice(t, "B")
	pair(a, b)
	a.start()
	b.start()
	waitFor(t, 20*time.Second, "A and B connected", func() bool {
		return a.peer(b.id).Connected && b.peer(a.id).Connected
	})
	return a, b
}

// Fifty rewrites of one file in quick succession end with the last one on
// both devices, with no conflict copy and no temp file left behind.
func TestManyQuickEditsEndWithFinalContent(t *testing.T) {
	a, b := startPair(t)
	rng := rand.New(rand.NewPCG(50, 5))
	var final []byte
	for i := range 50 {
		final = fmt.Appendf(nil, "edit %02d\n%s", i, randomBytes(uint64(i), rng.IntN(64<<10)))
		writeFile(t, a.path("notes/today.md"), final, 0o644)
		time.Sleep(time.Duration(5+rng.IntN(16)) * time.Millisecond)
	}
	settle(t, 30*time.Second, a, b)
	for _, d := range []*device{a, b} {
		if got, _ := os.ReadFile(d.path("notes/today.md")); !bytes.Equal(got, final) {
			t.Fatalf("%s: today.md holds %d bytes starting %q, want the last edit (%d bytes)",
				d.name, len(got), got[:min(len(got), 9)], len(final))
		}
		if stray := strayNames(t, d.folder, ".conflict-"); len(stray) > 0 {
			t.Fatalf("%s: conflict copies after quick edits: %v", d.name, stray)
		}
		// Pulls of versions replaced before they were done leave temps,
		// removed once nothing is left to pull.
		waitFor(t, 10*time.Second, d.name+" without temp files", func() bool {
			return len(strayNames(t, d.folder, ".ferry-tmp-")) == 0
		})
	}
}

// Thousands of files created as fast as a program can, in new directories
// (some created right after their parent, which inotify can miss), all
// arrive.
func TestBurstOfFiles(t *testing.T) {
	a, b := startPair(t)
	start := time.Now()
	n := 0
	for g := range 25 {
		// Each group is a directory with a child made right after it; the
		// child is filled first, while the parent's watch may not exist yet.
		parent := fmt.Sprintf("burst/g%02d", g)
		child := parent + "/nested/deeper"
		if err := os.MkdirAll(a.path(child), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, dir := range []string{child, parent} {
			for range 100 {
				name := fmt.Sprintf("%s/f%04d.txt", dir, n)
				if err := os.WriteFile(a.path(name), randomBytes(uint64(n), n*131%700), 0o644); err != nil {
					t.Fatal(err)
				}
				n++
			}
		}
	}
	t.Logf("wrote %d files in 50 directories in %v", n, time.Since(start))
	settle(t, 90*time.Second, a, b)
	t.Logf("B holds all %d files %v after the first was written", n, time.Since(start))
	if got := len(snapshot(t, b.folder)); got != n+25*3+1 {
		t.Fatalf("B has %d entries, want %d files and %d directories", got, n, 25*3+1)
	}
}

// Renaming a directory of a thousand files moves them on the other device
// from its own blocks: only index records cross the wire.
func TestDirRenameMovesWithoutTransfer(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	var total int64
	for i := range 1000 {
		data := randomBytes(uint64(1000+i), 2<<10+i*977%(8<<10))
		writeFile(t, a.path(fmt.Sprintf("album/sub%d/img%04d.raw", i%10, i)), data, 0o644)
		total += int64(len(data))
	}
	pair(a, b)
	a.start()
	b.start()
	settle(t, 60*time.Second, a, b)
	before := b.peer(a.id).InBytes
	if err := os.Rename(a.path("album"), a.path("album-2024")); err != nil {
		t.Fatal(err)
	}
	settle(t, 60*time.Second, a, b)
	if _, err := os.Stat(b.path("album")); !os.IsNotExist(err) {
		t.Fatalf("old directory still on B: %v", err)
	}
	received := steady(t, func() int64 { return b.peer(a.id).InBytes }) - before
	// The rename costs 2,000 index records (1,000 new names, 1,000
	// tombstones); at about 100 bytes each that is about 3% of this data.
	// A bound of 10% leaves room for records to grow threefold and still
	// fails when a tenth of the files' bytes are fetched again.
	limit := total / 10
	t.Logf("renaming a directory of 1000 files (%d bytes) made B receive %d bytes (%.1f%%, limit %d)",
		total, received, 100*float64(received)/float64(total), limit)
	if received > limit {
		t.Fatalf("B received %d bytes for a rename of %d bytes of files, want < %d", received, total, limit)
	}
}

// steady waits until read gives the same value for a second (late index
// updates count too) and returns it.
func steady(t testing.TB, read func() int64) int64 {
	t.Helper()
	last, since := read(), time.Now()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		if now := read(); now != last {
			last, since = now, time.Now()
		} else if time.Since(since) >= time.Second {
			break
		}
	}
	return last
}

// growingFile is what a reader on B saw while A was still writing a file.
type growingFile struct {
	mu     sync.Mutex
	seen   map[int]bool // lengths seen at the name
	broken []string     // contents that were never a state of the file on A
}

// watch polls path until stop is closed, checking that each content
// found there is a prefix of full, that is, a state the file had on A.
func (g *growingFile) watch(path string, full []byte, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		got, err := os.ReadFile(path)
		if err == nil {
			g.check(got, full)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (g *growingFile) check(got, full []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seen[len(got)] = true
	if len(got) > len(full) || !bytes.Equal(got, full[:len(got)]) {
		at := 0
		for at < len(got) && at < len(full) && got[at] == full[at] {
			at++
		}
		g.broken = append(g.broken, fmt.Sprintf("%d bytes, first wrong byte at %d", len(got), at))
	}
}

// A file that is still being appended to is only ever shown on the other
// device as a state it really had, never as a mix of states, and in the
// end complete.
func TestFileStillBeingWrittenIsNotSentHalfWritten(t *testing.T) {
	a, b := startPair(t)
	const chunk, chunks = 1 << 20, 20
	full := randomBytes(2020, chunk*chunks)
	g := &growingFile{seen: map[int]bool{}}
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() { g.watch(b.path("video/recording.mp4"), full, stop); close(watched) }()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-watched
	}()
	writeSlowly(t, a.path("video/recording.mp4"), full, chunk, 75*time.Millisecond)
	waitFor(t, 60*time.Second, "the complete file on B", func() bool {
		return sameContent(b.path("video/recording.mp4"), full)
	})
	close(stop)
	<-watched
	settle(t, 30*time.Second, a, b)
	t.Logf("B showed these lengths at the name: %v", slices.Sorted(maps.Keys(g.seen)))
	if len(g.broken) > 0 {
		t.Fatalf("B showed %d contents that the file never had on A, first: %v", len(g.broken), g.broken[:min(len(g.broken), 5)])
	}
}

// writeSlowly creates path and appends data to it chunk bytes at a time,
// syncing each chunk and pausing every between chunks.
func writeSlowly(t *testing.T, path string, data []byte, chunk int, every time.Duration) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	for off := 0; off < len(data); off += chunk {
		if _, err := f.Write(data[off:min(off+chunk, len(data))]); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(every)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d bytes in %v", len(data), time.Since(start))
}

// Names written in NFD (as macOS writes them, and as files copied from a
// Mac keep them) are renamed to NFC on the device that has them, and then
// sync like any other.
func TestNamesNotInNFCAreRenamedAndSynced(t *testing.T) {
	a, b := startPair(t)
	writeFile(t, a.path("Photos/Cafe\u0301/menu.txt"), []byte("espresso"), 0o644)
	writeFile(t, a.path("re\u0301sume\u0301.txt"), []byte("cv"), 0o600)
	settle(t, 30*time.Second, a, b)
	for _, d := range []*device{a, b} {
		for name, want := range map[string]string{"Photos/Caf\u00e9/menu.txt": "espresso", "r\u00e9sum\u00e9.txt": "cv"} {
			if got, err := os.ReadFile(d.path(name)); err != nil || string(got) != want {
				t.Errorf("%s: %s = %q, %v; want %q", d.name, name, got, err, want)
			}
		}
		if stray := strayNames(t, d.folder, "e\u0301"); len(stray) > 0 {
			t.Errorf("%s: names still not in NFC: %q", d.name, stray)
		}
	}
	if !strings.Contains(a.log.String(), "renamed to Unicode NFC") {
		t.Errorf("A did not log the renames:\n%s", tail(a.log.String(), 2000))
	}
}
