package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of size at dir until the test ends.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs at %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

// folderErrors returns the errors of d's folder "docs".
func (d *device) folderErrors() []string {
	for _, f := range d.status().Folders {
		if f.ID == "docs" {
			return f.Errors
		}
	}
	return nil
}

// Pulling into a full disk pauses with one clear error, leaves every file
// that is visible whole, and resumes by itself once there is room.
func TestDiskFullPausesPullsAndResumes(t *testing.T) {
	a := newDevice(t, "A")
	base := t.TempDir()
	mountTmpfs(t, filepath.Join(base, "folder"), "6m")
	b := newDeviceIn(t, base, "B")
	want := map[string][]byte{}
	for i := range 16 {
		name := fmt.Sprintf("f%02d.bin", i)
		want[name] = randomBytes(uint64(1000+i), 1<<20)
		writeFile(t, a.path(name), want[name], 0o644)
	}
	pair(a, b)
	a.start()
	b.start()
	waitFor(t, time.Minute, "B says its disk is full", func() bool {
		for _, e := range b.folderErrors() {
			if strings.Contains(e, "pulling paused") && strings.Contains(e, "not enough free disk space") {
				return true
			}
		}
		return false
	})
	if errs := b.folderErrors(); len(errs) != 1 {
		t.Errorf("B lists %d errors, want the one line about space: %q", len(errs), errs)
	}
	checkWholeFiles(t, b, want)
	// Room appears: the pulls resume by themselves, no scan asked.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", b.folder).CombinedOutput(); err != nil {
		t.Fatalf("grow tmpfs: %v: %s", err, out)
	}
	waitFor(t, time.Minute, "B has every file", func() bool {
		for name, data := range want {
			got, err := os.ReadFile(b.path(name))
			if err != nil || !bytes.Equal(got, data) {
				return false
			}
		}
		return true
	})
	waitFor(t, 30*time.Second, "B in sync without errors", func() bool { return b.inSync() && len(b.folderErrors()) == 0 })
}

// checkWholeFiles fails if a name that ferry does not hide holds anything
// but the complete file.
func checkWholeFiles(t *testing.T, d *device, want map[string][]byte) {
	t.Helper()
	ents, err := os.ReadDir(d.folder)
	if err != nil {
		t.Fatal(err)
	}
	whole := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".ferry") {
			continue
		}
		got, err := os.ReadFile(d.path(e.Name()))
		if err != nil || !bytes.Equal(got, want[e.Name()]) {
			t.Errorf("%s: %s is visible with %d bytes that are not the file (%v)", d.name, e.Name(), len(got), err)
		}
		whole++
	}
	if whole == 0 || whole == len(want) {
		t.Errorf("%s holds %d of %d files while its disk is full", d.name, whole, len(want))
	}
}

// An index that is deleted or damaged while the daemon is stopped is
// rebuilt from the folder and the peer: nothing is deleted, nothing is
// fetched again, no conflict copy appears, and the log says what happened
// in one line.
func TestLostIndexIsRebuiltWithoutDeletesOrConflicts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		line   string
	}{
		{"deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, "the index is missing"},
		{"truncated", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()/3); err != nil {
				t.Fatal(err)
			}
		}, "the index was damaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newDevice(t, "A"), newDevice(t, "B")
			makeTree(t, a.folder, 60, 0)
			pair(a, b)
			a.start()
			b.start()
			converge(t, time.Minute, a, b)
			before := snapshot(t, b.folder)
			a.stop()
			index := filepath.Join(a.home, "index.db")
			tc.damage(t, index)
			// B changes one file meanwhile: A must take the edit, not undo it.
			edited := randomBytes(77, 5000)
			writeFile(t, b.path("d01/sub1/file-0001.txt"), edited, 0o644)
			b.ferry("scan", "docs")
			a.start() // its byte counters start at 0
			converge(t, time.Minute, a, b)
			if got, err := os.ReadFile(a.path("d01/sub1/file-0001.txt")); err != nil || !bytes.Equal(got, edited) {
				t.Errorf("A holds %d bytes at the edited file, want B's edit (%v)", len(got), err)
			}
			after := snapshot(t, b.folder)
			for name := range before {
				if _, ok := after[name]; !ok {
					t.Errorf("B lost %s", name)
				}
			}
			for name := range after {
				// Only the file that differs may be kept twice.
				if strings.Contains(name, ".conflict-") && !strings.HasPrefix(name, "d01/sub1/file-0001.conflict-") {
					t.Errorf("a conflict copy appeared: %s", name)
				}
			}
			if in := a.peer(b.id).InBytes; in > 200<<10 {
				t.Errorf("A fetched %d bytes from B to rebuild its index; the files were all there", in)
			}
			if n := strings.Count(a.log.String(), tc.line); n != 1 {
				t.Errorf("A's log says %q %d times, want once:\n%s", tc.line, n, tail(a.log.String(), 2000))
			}
			if tc.name == "truncated" {
				kept, _ := filepath.Glob(index + ".damaged-*")
				if len(kept) != 1 {
					t.Errorf("damaged index kept as %q, want one file", kept)
				}
			}
		})
	}
}

// A removed device is no longer dialled or served: the connection drops,
// and its attempts to come back only list it as pending.
func TestRemovedDeviceIsNotServed(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	makeTree(t, a.folder, 10, 0)
	pair(a, b)
	a.start()
	b.start()
	converge(t, time.Minute, a, b)
	a.ferry("device", "remove", b.id)
	waitFor(t, 20*time.Second, "B sees A gone", func() bool { return !b.peer(a.id).Connected })
	waitFor(t, 20*time.Second, "A lists B as pending", func() bool {
		st := a.status()
		return len(st.Devices) == 0 && len(st.Pending) == 1 && st.Pending[0].ID == b.id
	})
	// A new file on A stays on A.
	writeFile(t, a.path("after-removal.txt"), []byte("only A"), 0o644)
	a.ferry("scan", "docs")
	time.Sleep(2 * time.Second)
	if _, err := os.Stat(b.path("after-removal.txt")); err == nil {
		t.Error("a file reached the removed device")
	}
	if b.peer(a.id).Connected {
		t.Error("B is connected to A again")
	}
}
