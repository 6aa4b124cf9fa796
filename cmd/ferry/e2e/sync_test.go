package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// replaceFile puts data at path in one rename, as an editor saving a file
// does, so that a watcher never sees it half written: a test that counts
// versions must not find one of a truncated file. The new file is made
// beside the folder, on the same file system.
func replaceFile(t testing.TB, folder, path string, data []byte) {
	t.Helper()
	staged := filepath.Join(filepath.Dir(folder), "staged-"+filepath.Base(path))
	writeFile(t, staged, data, 0o644)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(staged, path); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// makeTree writes files files in nested directories plus the odd cases:
// empty files and dirs, symlinks, Unicode names, several modes and one
// large file of bigSize bytes.
func makeTree(t testing.TB, root string, files, bigSize int) {
	t.Helper()
	for i := range files {
		name := fmt.Sprintf("d%02d/sub%d/file-%04d.txt", i%37, i%5, i)
		writeFile(t, filepath.Join(root, name), randomBytes(uint64(i), 100+i*37%9000), 0o644)
	}
	writeFile(t, filepath.Join(root, "empty.txt"), nil, 0o644)
	writeFile(t, filepath.Join(root, "script.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	writeFile(t, filepath.Join(root, "private.txt"), []byte("secret"), 0o600)
	writeFile(t, filepath.Join(root, "Ünïcødé/日本語/ファイル.txt"), []byte("unicode"), 0o644)
	if err := os.MkdirAll(filepath.Join(root, "empty-dir/nested"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("script.sh", filepath.Join(root, "link-to-script")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "absolute-link")); err != nil {
		t.Fatal(err)
	}
	if bigSize > 0 {
		writeFile(t, filepath.Join(root, "big/large.bin"), randomBytes(42, bigSize), 0o644)
	}
	old := time.Date(2020, 5, 6, 7, 8, 9, 123456789, time.UTC)
	if err := os.Chtimes(filepath.Join(root, "private.txt"), old, old); err != nil {
		t.Fatal(err)
	}
}

func TestInitialSyncAndChanges(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	makeTree(t, a.folder, 1000, 64<<20)
	pair(a, b)
	a.start()
	b.start()
	converge(t, 3*time.Minute, a, b)
	if target, err := os.Readlink(b.path("absolute-link")); err != nil || target != "/etc/passwd" {
		t.Fatalf("symlink not kept as a link: %q %v", target, err)
	}

	// Edit, delete, new nested dirs, a renamed directory, a chmod.
	writeFile(t, a.path("d01/sub1/file-0001.txt"), []byte("edited on A"), 0o644)
	if err := os.Remove(a.path("d02/sub2/file-0002.txt")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, a.path("new/deeply/nested/file.txt"), []byte("new"), 0o644)
	if err := os.Rename(a.path("d03"), a.path("d03-renamed")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(a.path("empty.txt"), 0o640); err != nil {
		t.Fatal(err)
	}
	converge(t, time.Minute, a, b)
	if _, err := os.Stat(b.path("d03")); !os.IsNotExist(err) {
		t.Fatalf("renamed directory still at old name on B: %v", err)
	}

	// Changes flow the other way too.
	writeFile(t, b.path("from-b.txt"), []byte("hello from B"), 0o644)
	converge(t, time.Minute, a, b)
	if got, _ := os.ReadFile(a.path("from-b.txt")); string(got) != "hello from B" {
		t.Fatalf("A has %q", got)
	}
}

// A renamed or copied large file is rebuilt from local blocks: almost
// nothing crosses the network.
func TestRenameMovesNoData(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	writeFile(t, a.path("big.bin"), randomBytes(7, 100<<20), 0o644)
	pair(a, b)
	a.start()
	b.start()
	converge(t, 2*time.Minute, a, b)
	before := a.peer(b.id).OutBytes
	if err := os.MkdirAll(a.path("moved"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(a.path("big.bin"), a.path("moved/big-renamed.bin")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(a.path("moved/big-renamed.bin"))
	writeFile(t, a.path("copy.bin"), data, 0o644)
	converge(t, time.Minute, a, b)
	sent := a.peer(b.id).OutBytes - before
	t.Logf("rename + copy of a 100 MiB file sent %d bytes", sent)
	if sent > 1<<20 {
		t.Fatalf("rename + copy of a 100 MiB file sent %d bytes, want < 1 MiB", sent)
	}
}

// Both devices change the same file while one is stopped: both versions end
// up on both devices.
func TestConcurrentEditsKeepBoth(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	writeFile(t, a.path("notes.txt"), []byte("original"), 0o644)
	writeFile(t, a.path("gone.txt"), []byte("will be deleted on A, edited on B"), 0o644)
	pair(a, b)
	a.start()
	b.start()
	converge(t, time.Minute, a, b)
	b.stop()
	writeFile(t, a.path("notes.txt"), []byte("version from A"), 0o644)
	os.Remove(a.path("gone.txt"))
	a.ferry("scan", "docs")
	time.Sleep(20 * time.Millisecond)
	writeFile(t, b.path("notes.txt"), []byte("version from B, written later"), 0o644)
	writeFile(t, b.path("gone.txt"), []byte("edit beats delete"), 0o644)
	b.start()
	converge(t, time.Minute, a, b)
	for _, d := range []*device{a, b} {
		if got, _ := os.ReadFile(d.path("gone.txt")); string(got) != "edit beats delete" {
			t.Fatalf("%s: gone.txt = %q, want the edit", d.name, got)
		}
		versions := map[string]bool{}
		entries, _ := os.ReadDir(d.folder)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "notes") {
				data, _ := os.ReadFile(d.path(e.Name()))
				versions[string(data)] = true
				if e.Name() != "notes.txt" && !strings.Contains(e.Name(), ".conflict-") {
					t.Fatalf("%s: unexpected %s", d.name, e.Name())
				}
			}
		}
		if !versions["version from A"] || !versions["version from B, written later"] || len(versions) != 2 {
			t.Fatalf("%s: versions kept: %v", d.name, versions)
		}
		if got, _ := os.ReadFile(d.path("notes.txt")); string(got) != "version from B, written later" {
			t.Fatalf("%s: the later edit should win the name, got %q", d.name, got)
		}
	}
}

// A device that is not trusted gets nothing, and shows up as pending.
func TestUntrustedDeviceGetsNoData(t *testing.T) {
	a, b, c := newDevice(t, "A"), newDevice(t, "B"), newDevice(t, "C")
	writeFile(t, a.path("secret.txt"), []byte("for B only"), 0o644)
	pair(a, b)
	c.ferry("device", "add", a.id, "--addr", a.listen)
	c.ferry("folder", "share", "docs", a.id)
	a.start()
	b.start()
	c.start()
	converge(t, time.Minute, a, b)
	waitFor(t, 20*time.Second, "C pending on A", func() bool {
		for _, p := range a.status().Pending {
			if p.ID == c.id {
				return true
			}
		}
		return false
	})
	if _, err := os.Stat(c.path("secret.txt")); !os.IsNotExist(err) {
		t.Fatalf("untrusted device got the file: %v", err)
	}
	if p := c.peer(a.id); p.Connected || p.InBytes > 0 {
		t.Fatalf("untrusted device is connected or received data: %+v", p)
	}
	// Ignored, it is no longer listed, even as it keeps trying.
	a.ferry("device", "ignore", c.id)
	if n := len(a.status().Pending); n != 0 {
		t.Fatalf("%d pending devices after ignoring C", n)
	}
	refused := strings.Count(a.log.String(), "is not trusted")
	c.stop()
	c.start()
	waitFor(t, 20*time.Second, "C to try again", func() bool { return strings.Count(a.log.String(), "is not trusted") > refused })
	if s := a.status(); len(s.Pending) != 0 {
		t.Fatalf("an ignored device is listed again: %+v", s.Pending)
	}
}

// Killing the receiver in the middle of a large file and restarting it
// converges, and no partial file is ever visible at the file's name.
func TestKillReceiverMidFile(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	big := randomBytes(99, 512<<20)
	writeFile(t, a.path("huge.bin"), big, 0o644)
	pair(a, b)
	a.start()
	b.start()
	waitFor(t, 2*time.Minute, "a partial temp file on B", func() bool {
		matches, _ := filepath.Glob(filepath.Join(b.folder, ".ferry-tmp-*"))
		return len(matches) > 0
	})
	time.Sleep(300 * time.Millisecond)
	b.kill()
	if _, err := os.Stat(b.path("huge.bin")); !os.IsNotExist(err) {
		t.Fatalf("partial file visible at its name after kill: %v", err)
	}
	b.start()
	converge(t, 3*time.Minute, a, b)
	got, err := os.ReadFile(b.path("huge.bin"))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("huge.bin differs after restart: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(b.folder, ".ferry-tmp-*")); len(m) > 0 {
		t.Fatalf("temp files left: %v", m)
	}
}

// In a chain A–B–C (A and C not connected) changes pass through B.
func TestChainForwards(t *testing.T) {
	a, b, c := newDevice(t, "A"), newDevice(t, "B"), newDevice(t, "C")
	pair(a, b)
	pair(b, c)
	writeFile(t, a.path("from-a.txt"), []byte("A"), 0o644)
	writeFile(t, c.path("from-c.txt"), []byte("C"), 0o644)
	a.start()
	b.start()
	c.start()
	converge(t, time.Minute, a, b, c)
}
