package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// heldStatus is the part of a folder's status the safety net fills in.
type heldStatus struct {
	ID         string   `json:"id"`
	State      string   `json:"state"`
	InSync     bool     `json:"inSync"`
	Errors     []string `json:"errors"`
	HeldLocal  int      `json:"heldLocal"`
	HeldRemote int      `json:"heldRemote"`
	HeldSample []string `json:"heldSample"`
	MassChange int      `json:"massChange"`
}

func (d *device) held() heldStatus {
	d.t.Helper()
	var s struct {
		Folders []heldStatus `json:"folders"`
	}
	if err := json.Unmarshal([]byte(d.ferry("status", "--json")), &s); err != nil {
		d.t.Fatalf("%s: status --json: %v", d.name, err)
	}
	for _, f := range s.Folders {
		if f.ID == "docs" {
			return f
		}
	}
	d.t.Fatalf("%s: no folder docs in status", d.name)
	return heldStatus{}
}

// hasError reports whether one of errs contains every part.
func hasError(errs []string, parts ...string) bool {
	for _, e := range errs {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(e, p)
		}
		if all {
			return true
		}
	}
	return false
}

// writeSet writes n files of 1-2 KiB under dir (relative to d's folder) and
// returns their contents by name.
func writeSet(t *testing.T, d *device, dir string, n int) map[string][]byte {
	t.Helper()
	files := make(map[string][]byte, n)
	for i := range n {
		name := fmt.Sprintf("%s/f%03d.txt", dir, i)
		files[name] = randomBytes(uint64(len(dir)*1000+i), 1024+i)
		writeFile(t, d.path(name), files[name], 0o644)
	}
	return files
}

// wantFiles fails unless d holds every file byte-exact.
func wantFiles(t *testing.T, d *device, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		got, err := os.ReadFile(d.path(name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %s has %d bytes (%v), want %d", d.name, name, len(got), err, len(data))
		}
	}
}

func hasFiles(d *device, files map[string][]byte) bool {
	for name, data := range files {
		got, err := os.ReadFile(d.path(name))
		if err != nil || !bytes.Equal(got, data) {
			return false
		}
	}
	return true
}

func noneOf(d *device, files map[string][]byte) bool {
	for name := range files {
		if _, err := os.Lstat(d.path(name)); err == nil {
			return false
		}
	}
	return true
}

// syncedPair makes A and B, with files under "keep" and "set" on A, and
// waits until B has them.
func syncedPair(t *testing.T, set int) (a, b *device, keep, files map[string][]byte) {
	t.Helper()
	a, b = newDevice(t, "A"), newDevice(t, "B")
	keep = writeSet(t, a, "keep", 10)
	files = writeSet(t, a, "set", set)
	pair(a, b)
	a.start()
	b.start()
	converge(t, time.Minute, a, b)
	return a, b, keep, files
}

// An emptied folder (the disk not mounted at start) is an error on A, never
// deletions on B; when the real folder is back A goes on with no transfer.
func TestEmptiedFolderIsAnErrorNotDeletions(t *testing.T) {
	a, b, keep, files := syncedPair(t, 30)
	a.stop()
	aside := a.folder + ".real"
	if err := os.Rename(a.folder, aside); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(a.folder, 0o755); err != nil {
		t.Fatal(err)
	}
	a.start()
	waitFor(t, 20*time.Second, "A shows the missing marker", func() bool {
		return hasError(a.held().Errors, "disk may be unmounted", "ferry folder resume docs")
	})
	if _, _, code := a.try("scan", "docs"); code == 0 {
		t.Error("a scan of the stopped folder succeeded")
	}
	time.Sleep(2 * time.Second)
	wantFiles(t, b, keep)
	wantFiles(t, b, files)
	if n := strings.Count(a.log.String(), "disk may be unmounted"); n != 1 {
		t.Errorf("A logged the missing marker %d times, want once", n)
	}
	if _, err := os.Stat(filepath.Join(a.folder, ".ferry")); err == nil {
		t.Error("A made a marker in the empty directory")
	}
	inBefore := a.peer(b.id).InBytes
	if err := os.Remove(a.folder); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(aside, a.folder); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "A runs the folder again", func() bool { st := a.held(); return st.InSync && len(st.Errors) == 0 })
	converge(t, time.Minute, a, b)
	if in := a.peer(b.id).InBytes - inBefore; in > 64<<10 {
		t.Errorf("A fetched %d bytes after its folder came back; nothing had changed", in)
	}
}

// TestResumeMakesTheMarker: the user says an emptied folder is right.
func TestResumeMakesTheMarker(t *testing.T) {
	a, b, keep, _ := syncedPair(t, 5)
	a.stop()
	if err := os.RemoveAll(filepath.Join(a.folder, ".ferry")); err != nil {
		t.Fatal(err)
	}
	a.start()
	waitFor(t, 20*time.Second, "A stopped the folder", func() bool { return hasError(a.held().Errors, "ferry folder resume docs") })
	a.ferry("folder", "resume", "docs")
	waitFor(t, 20*time.Second, "A runs again", func() bool { st := a.held(); return st.InSync && len(st.Errors) == 0 })
	wantFiles(t, b, keep)
}

// losetupFree reports whether a loop device can be attached here.
func loopAvailable() bool {
	_, err := os.Stat("/dev/loop-control")
	return err == nil && exec.Command("losetup", "-f").Run() == nil
}

func runCmd(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// A folder on a real disk that is unmounted while the daemon runs stops
// with the error, keeps it across a restart, and B keeps every file; with
// the disk mounted again A goes on by itself with no transfer.
func TestUnmountedDiskWhileRunning(t *testing.T) {
	if !loopAvailable() {
		t.Fatal("no loop device: this test needs /dev/loop-control and losetup")
	}
	base := t.TempDir()
	img := filepath.Join(base, "disk.img")
	runCmd(t, "truncate", "-s", "32M", img)
	runCmd(t, "mkfs.ext4", "-q", "-F", img)
	mnt := filepath.Join(base, "folder")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	runCmd(t, "mount", "-o", "loop", img, mnt)
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	a := newDeviceIn(t, base, "A")
	b := newDevice(t, "B")
	files := writeSet(t, a, "set", 20)
	pair(a, b)
	a.start()
	b.start()
	converge(t, time.Minute, a, b)
	runCmd(t, "umount", "-l", mnt)
	waitFor(t, 20*time.Second, "A stops the folder", func() bool { return hasError(a.held().Errors, "ferry folder resume docs") })
	a.stop()
	a.start()
	waitFor(t, 20*time.Second, "A still has the error after a restart", func() bool { return hasError(a.held().Errors, "ferry folder resume docs") })
	time.Sleep(time.Second)
	wantFiles(t, b, files)
	inBefore := a.peer(b.id).InBytes
	// The lazy unmount let go once A closed the folder: mount it again.
	waitFor(t, 20*time.Second, "the disk mounted again", func() bool {
		return exec.Command("mount", "-o", "loop", img, mnt).Run() == nil
	})
	waitFor(t, 30*time.Second, "A runs the folder again", func() bool { st := a.held(); return st.InSync && len(st.Errors) == 0 })
	converge(t, time.Minute, a, b)
	wantFiles(t, a, files)
	if in := a.peer(b.id).InBytes - inBefore; in > 64<<10 {
		t.Errorf("A fetched %d bytes after its disk came back", in)
	}
}

// noDAC runs the daemon without root's right to ignore file modes, so that
// a chmod 000 directory is unreadable to it as to any user.
var noDAC = []string{"setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps", "-all"}

// An unreadable directory keeps its records: B keeps its files, and A says
// which path it could not read until it can.
func TestUnreadableDirectoryKeepsFiles(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	a.wrap = noDAC
	keep := writeSet(t, a, "keep", 5)
	files := writeSet(t, a, "locked", 20)
	pair(a, b)
	a.start()
	b.start()
	converge(t, time.Minute, a, b)
	locked := a.path("locked")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	a.ferry("scan", "docs")
	st := a.held()
	if !hasError(st.Errors, "locked", "not read") {
		t.Fatalf("A's errors %q do not name the unreadable directory", st.Errors)
	}
	time.Sleep(2 * time.Second)
	wantFiles(t, b, files)
	wantFiles(t, b, keep)
	if err := os.Chmod(locked, 0o755); err != nil {
		t.Fatal(err)
	}
	a.ferry("scan", "docs")
	if errs := a.held().Errors; hasError(errs, "locked") {
		t.Errorf("the error stays after the directory is readable: %q", errs)
	}
	converge(t, time.Minute, a, b)
	wantFiles(t, b, files)
}

// A special file where a file was is not that file's deletion.
func TestSpecialFileWhereAFileWasIsKept(t *testing.T) {
	a, b, _, files := syncedPair(t, 3)
	name := "set/f001.txt"
	if err := os.Remove(a.path(name)); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(a.path(name), 0o644); err != nil {
		t.Fatal(err)
	}
	a.ferry("scan", "docs")
	if errs := a.held().Errors; !hasError(errs, name, "not read") {
		t.Errorf("A's errors %q do not name the fifo", errs)
	}
	time.Sleep(2 * time.Second)
	wantFiles(t, b, files)
}

// A nested mount that goes away leaves an empty directory: what was on it
// is held, not deleted, until the user confirms.
func TestVanishedNestedMountIsHeld(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	keep := writeSet(t, a, "keep", 40)
	mountTmpfs(t, a.path("disk"), "8m")
	files := writeSet(t, a, "disk", 10)
	pair(a, b)
	a.start()
	b.start()
	converge(t, time.Minute, a, b)
	runCmd(t, "umount", "-l", a.path("disk"))
	a.ferry("scan", "docs")
	waitFor(t, 20*time.Second, "A holds the files of the vanished mount", func() bool {
		st := a.held()
		return st.State == "held" && st.HeldLocal >= len(files)
	})
	time.Sleep(2 * time.Second)
	wantFiles(t, b, files)
	wantFiles(t, b, keep)
	a.ferry("folder", "confirm-deletes", "docs")
	waitFor(t, 30*time.Second, "B deletes them once confirmed", func() bool { return noneOf(b, files) })
	wantFiles(t, b, keep)
}

// rm -rf of most of a folder is held on A; revert brings every file back,
// and a second time confirm lets the deletions go out.
func TestMassDeleteHeldRevertConfirm(t *testing.T) {
	a, b, keep, files := syncedPair(t, 90)
	if err := os.RemoveAll(a.path("set")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "A holds the deletions", func() bool {
		st := a.held()
		return st.State == "held" && st.HeldLocal >= len(files) && len(st.HeldSample) == 20 && !st.InSync
	})
	out := a.ferry("status")
	if !strings.Contains(out, "vanished here") || !strings.Contains(out, "ferry folder revert docs") {
		t.Errorf("status does not explain the hold:\n%s", out)
	}
	time.Sleep(2 * time.Second)
	wantFiles(t, b, files)
	if b.held().State == "held" {
		t.Error("B was told of the deletions")
	}
	a.ferry("folder", "revert", "docs")
	waitFor(t, 30*time.Second, "A gets its files back", func() bool { return hasFiles(a, files) })
	waitFor(t, 30*time.Second, "A in sync", func() bool { st := a.held(); return st.InSync && st.State == "idle" })
	converge(t, time.Minute, a, b)

	if err := os.RemoveAll(a.path("set")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "A holds the deletions again", func() bool { return a.held().State == "held" })
	a.ferry("folder", "confirm-deletes", "docs")
	waitFor(t, 30*time.Second, "B deletes them", func() bool { return noneOf(b, files) })
	converge(t, time.Minute, a, b)
	wantFiles(t, b, keep)
}

// A peer that deletes most of the folder at once is held on B: B keeps its
// files; revert sends them back to A, confirm deletes them.
func TestPeerMassDeleteHeld(t *testing.T) {
	a, b, keep, files := syncedPair(t, 90)
	a.ferry("folder", "guard", "docs", "off")
	for round := range 2 {
		if err := os.RemoveAll(a.path("set")); err != nil {
			t.Fatal(err)
		}
		a.ferry("scan", "docs")
		waitFor(t, 30*time.Second, "B holds A's deletions", func() bool {
			st := b.held()
			return st.State == "held" && st.HeldRemote >= len(files)
		})
		time.Sleep(2 * time.Second)
		wantFiles(t, b, files)
		if round == 0 {
			b.ferry("folder", "revert", "docs")
			waitFor(t, 30*time.Second, "A gets the files back from B", func() bool { return hasFiles(a, files) })
			converge(t, time.Minute, a, b)
			continue
		}
		b.ferry("folder", "confirm-deletes", "docs")
		waitFor(t, 30*time.Second, "B deletes them", func() bool { return noneOf(b, files) })
	}
	converge(t, time.Minute, a, b)
	wantFiles(t, b, keep)
}

// Renaming a directory of many files moves them: nothing is held.
func TestRenameOfManyFilesIsNotHeld(t *testing.T) {
	a, b, _, files := syncedPair(t, 100)
	if err := os.Rename(a.path("set"), a.path("moved")); err != nil {
		t.Fatal(err)
	}
	moved := make(map[string][]byte, len(files))
	for name, data := range files {
		moved["moved/"+strings.TrimPrefix(name, "set/")] = data
	}
	waitFor(t, 30*time.Second, "B has the new names", func() bool { return hasFiles(b, moved) && noneOf(b, files) })
	for _, d := range []*device{a, b} {
		if st := d.held(); st.HeldLocal+st.HeldRemote > 0 {
			t.Errorf("%s holds %d+%d deletions after a rename", d.name, st.HeldLocal, st.HeldRemote)
		}
	}
}

// Rewriting most files at once goes through, flagged until resumed.
func TestMassChangeIsFlagged(t *testing.T) {
	a, b, _, files := syncedPair(t, 90)
	changed := make(map[string][]byte, len(files))
	for name := range files {
		changed[name] = randomBytes(uint64(len(name))*7+1, 3000)
		writeFile(t, a.path(name), changed[name], 0o644)
	}
	a.ferry("scan", "docs")
	waitFor(t, 30*time.Second, "B has the new contents", func() bool { return hasFiles(b, changed) })
	if n := a.held().MassChange; n < len(files) {
		t.Errorf("massChange = %d, want %d", n, len(files))
	}
	a.ferry("folder", "resume", "docs")
	waitFor(t, 10*time.Second, "the warning cleared", func() bool { return a.held().MassChange == 0 })
}
