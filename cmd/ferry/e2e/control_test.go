package e2e

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ferry/proto"
)

// inBytes is what dev has received from the device id, read from the API
// (faster than the CLI, for tight polling).
func (d *device) inBytes(id string) int64 {
	d.t.Helper()
	body, ok := d.apiGet("/api/status")
	if !ok {
		d.t.Fatalf("%s: status did not answer", d.name)
	}
	var s status
	if err := json.Unmarshal(body, &s); err != nil {
		d.t.Fatal(err)
	}
	for _, p := range s.Devices {
		if p.ID == id {
			return p.InBytes
		}
	}
	d.t.Fatalf("%s: device %s not in status", d.name, id)
	return 0
}

// folderState is the state of the folder "docs" on d.
func (d *device) folderState() string {
	for _, f := range d.status().Folders {
		if f.ID == "docs" {
			return f.State
		}
	}
	return ""
}

// stillFor fails unless what dev receives from id grows by less than 256
// KiB over two seconds, starting a second after now.
func stillFor(t *testing.T, d *device, id, what string) {
	t.Helper()
	time.Sleep(time.Second)
	at1 := d.inBytes(id)
	time.Sleep(2 * time.Second)
	grew := d.inBytes(id) - at1
	if grew > 256<<10 {
		t.Fatalf("%s: %d bytes still arrived between 1 and 3 s after the pause", what, grew)
	}
	t.Logf("%s: %d bytes arrived between 1 and 3 s after the pause", what, grew)
}

// A folder paused stops its transfer within a second and a device paused
// likewise; each resume continues the transfer where it stopped, so the
// file arrives whole without being fetched again from the start.
func TestPauseStopsTransfer(t *testing.T) {
	a, b := newDevice(t, "a"), newDevice(t, "b")
	pair(a, b)
	a.start()
	b.start()
	waitFor(t, 20*time.Second, "connected", func() bool { return b.peer(a.id).Connected })
	const size = 640 << 20
	writeLarge(t, a.path("big.bin"), 11, size)
	base := b.inBytes(a.id)

	waitFor(t, 60*time.Second, "b pulling a third of the file", func() bool { return b.inBytes(a.id)-base > size/3 })
	b.ferry("folder", "pause", "docs")
	stillFor(t, b, a.id, "folder paused")
	if _, err := os.Stat(b.path("big.bin")); err == nil {
		t.Fatal("the file arrived before the pause took effect; the test needs a slower transfer")
	}
	if st := b.folderState(); st != "paused" {
		t.Fatalf("paused folder state %q", st)
	}
	if _, errOut, code := b.try("scan", "docs"); code != 1 || !strings.Contains(errOut, "is paused; resume it first") {
		t.Fatalf("scan of a paused folder: exit %d, %q", code, errOut)
	}
	if !b.peer(a.id).Connected {
		t.Fatal("pausing a folder dropped the device")
	}

	b.ferry("folder", "resume", "docs")
	at := b.inBytes(a.id)
	waitFor(t, 60*time.Second, "b pulling again", func() bool { return b.inBytes(a.id)-at > size/10 })
	b.ferry("device", "pause", a.id)
	waitFor(t, time.Second, "device disconnected", func() bool { return !b.peer(a.id).Connected })
	stillFor(t, b, a.id, "device paused")
	if b.peer(a.id).Connected || a.peer(b.id).Connected {
		t.Fatal("a paused device got back in")
	}
	if _, err := os.Stat(b.path("big.bin")); err == nil {
		t.Fatal("the file arrived before the device pause took effect; the test needs a slower transfer")
	}

	b.ferry("device", "resume", a.id)
	converge(t, 120*time.Second, a, b)
	got := b.inBytes(a.id) - base
	if got > size*5/4 {
		t.Fatalf("b received %d MiB for a %d MiB file: resuming started over", got>>20, size>>20)
	}
	t.Logf("b received %.3f× the file's size over two pauses and resumes", float64(got)/size)
}

// movePair starts two paired devices with n files of size bytes in
// three directories on a, synced to b.
func movePair(t *testing.T, n, size int, seed uint64) (a, b *device) {
	t.Helper()
	a, b = newDevice(t, "a"), newDevice(t, "b")
	for i := range n {
		writeFile(t, a.path(fmt.Sprintf("d%d/f%02d.bin", i%3, i)), chachaBytes(seed+uint64(i), size), 0o644)
	}
	pair(a, b)
	a.start()
	b.start()
	converge(t, 60*time.Second, a, b)
	return a, b
}

// A folder whose directory was moved and set to its new path syncs on
// without fetching anything again, and nothing changes on the other
// device.
func TestFolderMovedResyncsNothing(t *testing.T) {
	a, b := movePair(t, 40, 256<<10, 100)
	before := snapshot(t, a.folder)
	received := b.inBytes(a.id)
	sent := a.inBytes(b.id)

	moved := filepath.Join(filepath.Dir(b.folder), "moved", "docs")
	if err := os.MkdirAll(filepath.Dir(moved), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(b.folder, moved); err != nil {
		t.Fatal(err)
	}
	b.ferry("folder", "set", "docs", "--path", moved)
	b.folder = moved
	converge(t, 60*time.Second, a, b)
	if got := b.inBytes(a.id) - received; got > 256<<10 {
		t.Fatalf("b received %d KiB after the move", got>>10)
	}
	if got := a.inBytes(b.id) - sent; got > 256<<10 {
		t.Fatalf("a received %d KiB after the move: b sent changes", got>>10)
	}
	if diff := compare(before, snapshot(t, a.folder)); diff != "" {
		t.Fatalf("a's folder changed: %s", diff)
	}
	for _, f := range b.status().Folders {
		if f.Conflicts != 0 || len(f.Errors) != 0 {
			t.Fatalf("after the move: %+v", f)
		}
	}
	if log := b.log.String(); strings.Contains(log, "kept for another directory") {
		t.Fatalf("the moved folder's index was rebuilt instead of kept:\n%s", tail(log, 2000))
	}
	// Changes go on both ways from the new path.
	writeFile(t, filepath.Join(moved, "after-move.txt"), []byte("hello"), 0o644)
	converge(t, 30*time.Second, a, b)
}

// shortOf is the short form of a device ID, as the history names devices.
func shortOf(t *testing.T, id string) string {
	t.Helper()
	d, err := proto.ParseDeviceID(id)
	if err != nil {
		t.Fatal(err)
	}
	return d.Short().String()
}

// inodes maps each file under root to its inode number.
func inodes(t *testing.T, root string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		out[p[len(root):]] = fi.Sys().(*syscall.Stat_t).Ino
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A folder copied to another file system (cp -a to a new disk) and set to
// its new path takes its files for what they were: no new versions go out,
// so the other device rewrites none of its files.
func TestFolderMovedToOtherFileSystem(t *testing.T) {
	shm, err := os.MkdirTemp("/dev/shm", "ferry-move-")
	if err != nil {
		t.Fatalf("no tmpfs to move to: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	var st1, st2 syscall.Stat_t
	if syscall.Stat(shm, &st1) != nil || syscall.Stat(t.TempDir(), &st2) != nil || st1.Dev == st2.Dev {
		t.Fatalf("/dev/shm is not another file system than the temp directory")
	}
	a, b := movePair(t, 30, 64<<10, 300)
	aIno := inodes(t, a.folder)

	moved := filepath.Join(shm, "docs")
	if out, err := exec.Command("cp", "-a", b.folder, moved).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v: %s", err, out)
	}
	bIno := inodes(t, moved)
	if err := os.RemoveAll(b.folder); err != nil {
		t.Fatal(err)
	}
	b.ferry("folder", "set", "docs", "--path", moved)
	b.folder = moved
	converge(t, 60*time.Second, a, b)
	// What b sends after its scan reaches a after that scan returned.
	time.Sleep(2 * time.Second)
	converge(t, 60*time.Second, a, b)
	// The files stay the versions a made: b sent no new ones.
	aShort := shortOf(t, a.id)
	for _, name := range []string{"d0/f00.bin", "d1/f01.bin", "d2/f29.bin"} {
		var vs []struct {
			ID uint64
			By string
		}
		if err := json.Unmarshal([]byte(a.ferry("versions", a.path(name), "--json")), &vs); err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || vs[0].ID != 0 || vs[0].By != aShort {
			t.Fatalf("a's versions of %s after b moved: %+v; want only a's own (%s)", name, vs, aShort)
		}
	}
	if log := b.log.String(); !strings.Contains(log, "on another file system than before") {
		t.Fatalf("b did not see the new file system:\n%s", tail(log, 2000))
	}
	if got := inodes(t, a.folder); !maps.Equal(got, aIno) {
		t.Fatal("a rewrote its files after b moved to another file system")
	}
	if got := inodes(t, moved); !maps.Equal(got, bIno) {
		t.Fatal("b rewrote its files after moving")
	}
	for _, f := range b.status().Folders {
		if f.Conflicts != 0 || len(f.Errors) != 0 {
			t.Fatalf("after the move: %+v", f)
		}
	}
}

// A removed folder keeps its files and stops syncing; the other device's
// share shows up as an offered folder, which accept takes into a new
// directory; unshare stops sharing with one device.
func TestRemoveOfferAccept(t *testing.T) {
	a, b := newDevice(t, "a"), newDevice(t, "b")
	writeFile(t, a.path("one.txt"), []byte("one"), 0o644)
	pair(a, b)
	a.start()
	b.start()
	converge(t, 30*time.Second, a, b)

	b.ferry("folder", "remove", "docs")
	if _, err := os.Stat(b.path("one.txt")); err != nil {
		t.Fatalf("remove touched the files: %v", err)
	}
	writeFile(t, a.path("two.txt"), []byte("two"), 0o644)
	type offer struct {
		Device, DeviceName, Folder string
		Existing                   bool
	}
	var offers []offer
	waitFor(t, 20*time.Second, "b lists a's folder as offered", func() bool {
		if err := json.Unmarshal([]byte(b.ferry("folder", "offered", "--json")), &offers); err != nil {
			t.Fatal(err)
		}
		return len(offers) == 1
	})
	if o := offers[0]; o.Device != a.id || o.DeviceName != "a" || o.Folder != "docs" || o.Existing {
		t.Fatalf("offered: %+v", o)
	}
	if out := b.ferry("folder", "offered"); !strings.Contains(out, "docs") {
		t.Fatalf("folder offered:\n%s", out)
	}
	if _, err := os.Stat(b.path("two.txt")); err == nil {
		t.Fatal("a removed folder still received a file")
	}

	// Accepting into a new directory: the index kept for the old one is
	// not used for it, so nothing is taken for deleted.
	into := filepath.Join(filepath.Dir(b.folder), "accepted")
	if out := strings.TrimSpace(b.ferry("folder", "accept", a.id, "docs", into)); out != into {
		t.Fatalf("accept printed %q, want %q", out, into)
	}
	b.folder = into
	converge(t, 30*time.Second, a, b)
	if log := b.log.String(); !strings.Contains(log, "kept for another directory") {
		t.Fatalf("the index kept for the removed folder's directory was not dropped:\n%s", tail(log, 2000))
	}
	if offered := strings.TrimSpace(b.ferry("folder", "offered", "--json")); offered != "[]" {
		t.Fatalf("still offered after accept: %s", offered)
	}
	for _, name := range []string{"one.txt", "two.txt"} {
		if _, err := os.Stat(a.path(name)); err != nil {
			t.Fatalf("a lost %s: %v", name, err)
		}
	}

	a.ferry("folder", "unshare", "docs", b.id)
	writeFile(t, a.path("three.txt"), []byte("three"), 0o644)
	a.ferry("scan", "docs")
	time.Sleep(2 * time.Second)
	if _, err := os.Stat(b.path("three.txt")); err == nil {
		t.Fatal("an unshared folder still synced")
	}
}
