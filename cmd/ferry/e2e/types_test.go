package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// docsStatus returns the status of d's folder "docs".
func (d *device) docsStatus() folderStatus {
	for _, f := range d.status().Folders {
		if f.ID == "docs" {
			return f
		}
	}
	d.t.Fatalf("%s has no folder docs", d.name)
	return folderStatus{}
}

// A receive-only device applies a directory tree's deletion whole, as a
// send-receive one does: A and B share a copy of Go's src/encoding, A
// removes encoding/json, and B ends with the same tree. (Both folders'
// mass-delete guards are off: with them on, A would hold its own deletion
// of a third of the tree for confirmation, which is not what this is about.)
func TestReceiveOnlyAppliesTreeDeletion(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	b.ferry("folder", "set", "docs", "--type", "receive-only")
	copyTree(t, "/usr/local/go/src/encoding", a.path("encoding"))
	pair(a, b)
	for _, d := range []*device{a, b} {
		d.ferry("folder", "guard", "docs", "off")
	}
	a.start()
	b.start()
	converge(t, 2*time.Minute, a, b)
	// A scan the watcher started after the last check may still run: it
	// must end with the folder idle, without local changes.
	st := b.docsStatus()
	for end := time.Now().Add(10 * time.Second); st.State == "scanning" && time.Now().Before(end); st = b.docsStatus() {
		time.Sleep(50 * time.Millisecond)
	}
	if st.Type != "receive-only" || st.State != "idle" {
		t.Fatalf("B: type %s, state %s; want an idle receive-only folder", st.Type, st.State)
	}
	if err := os.RemoveAll(a.path("encoding/json")); err != nil {
		t.Fatal(err)
	}
	converge(t, time.Minute, a, b)
	if _, err := os.Stat(b.path("encoding/json")); !os.IsNotExist(err) {
		t.Fatalf("B still has encoding/json: %v", err)
	}
}

// receiveOnlyPair starts A and a receive-only B, in sync on notes.txt.
func receiveOnlyPair(t *testing.T) (a, b *device) {
	a, b = newDevice(t, "A"), newDevice(t, "B")
	b.ferry("folder", "set", "docs", "--type", "receive-only")
	writeFile(t, a.path("notes.txt"), []byte("from A\n"), 0o644)
	pair(a, b)
	a.start()
	b.start()
	converge(t, time.Minute, a, b)
	return a, b
}

// A change made in a receive-only folder stays there, listed as a local
// change; a newer version from the other device replaces it and keeps it
// as a conflict copy on that device alone.
func TestReceiveOnlyLocalChange(t *testing.T) {
	a, b := receiveOnlyPair(t)
	writeFile(t, b.path("notes.txt"), []byte("edited on the backup\n"), 0o644)
	b.ferry("scan", "docs")
	waitFor(t, 10*time.Second, "B lists its local change", func() bool {
		st := b.docsStatus()
		return st.State == "local-changes" && !st.InSync && slices.Equal(st.ApartSample, []string{"notes.txt"})
	})
	a.ferry("scan", "docs")
	if got, _ := os.ReadFile(a.path("notes.txt")); string(got) != "from A\n" {
		t.Fatalf("A's notes.txt is %q: a receive-only device's change went out", got)
	}
	writeFile(t, a.path("notes.txt"), []byte("A edits again\n"), 0o644)
	a.ferry("scan", "docs")
	waitFor(t, 20*time.Second, "B takes A's newer version", func() bool {
		got, _ := os.ReadFile(b.path("notes.txt"))
		return string(got) == "A edits again\n"
	})
	copies := strayNames(t, b.folder, ".conflict-")
	if len(copies) != 1 {
		t.Fatalf("B's conflict copies: %q, want the one with its own edit", copies)
	}
	if got, _ := os.ReadFile(b.path(copies[0])); string(got) != "edited on the backup\n" {
		t.Errorf("B's conflict copy holds %q, want its own edit", got)
	}
	time.Sleep(time.Second)
	if c := strayNames(t, a.folder, ".conflict-"); len(c) != 0 {
		t.Errorf("A got %q from the receive-only device", c)
	}
}

// ferry folder revert on a receive-only device undoes the changes made
// there, and loses none of them: each goes to the history first, and comes
// back from it.
func TestReceiveOnlyRevertKeepsTheChanges(t *testing.T) {
	a, b := receiveOnlyPair(t)
	writeFile(t, b.path("notes.txt"), []byte("edited on the backup\n"), 0o644)
	writeFile(t, b.path("extra.txt"), []byte("made on the backup\n"), 0o644)
	b.ferry("scan", "docs")
	waitFor(t, 10*time.Second, "B lists two local changes", func() bool { return b.docsStatus().Apart == 2 })
	b.ferry("folder", "revert", "docs")
	converge(t, 30*time.Second, a, b)
	for name, want := range map[string]string{"notes.txt": "edited on the backup\n", "extra.txt": "made on the backup\n"} {
		vs := b.versions(name)
		kept := vs[len(vs)-1]
		if kept.Kind != "reverted" {
			t.Fatalf("B's versions of %s: %+v; want the undone change kept as reverted", name, vs)
		}
		out := t.TempDir()
		b.ferry("restore", b.path(name), "--version", strconv.FormatUint(kept.ID, 10), "--to", out)
		if got, _ := os.ReadFile(filepath.Join(out, name)); string(got) != want {
			t.Errorf("%s restored from the history: %q, want %q", name, got, want)
		}
	}
}

// A send-only device takes no change from elsewhere and lists it; its own
// changes still go out, and override makes its state the newest
// everywhere, the replaced versions kept in the other device's history.
func TestSendOnlyOverride(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	a.ferry("folder", "set", "docs", "--type", "send-only")
	writeFile(t, a.path("master.txt"), []byte("the master copy\n"), 0o644)
	pair(a, b)
	a.start()
	b.start()
	converge(t, time.Minute, a, b)
	writeFile(t, b.path("master.txt"), []byte("changed on B\n"), 0o644)
	writeFile(t, b.path("from-b.txt"), []byte("made on B\n"), 0o644)
	b.ferry("scan", "docs")
	waitFor(t, 20*time.Second, "A lists what it does not take", func() bool {
		st := a.docsStatus()
		return st.State == "out-of-sync" && slices.Equal(st.ApartSample, []string{"from-b.txt", "master.txt"})
	})
	if got, _ := os.ReadFile(a.path("master.txt")); string(got) != "the master copy\n" {
		t.Fatalf("the send-only device took B's change: %q", got)
	}
	if _, err := os.Stat(a.path("from-b.txt")); !os.IsNotExist(err) {
		t.Fatalf("the send-only device took B's new file: %v", err)
	}
	a.ferry("folder", "override", "docs")
	converge(t, 30*time.Second, a, b)
	if vs := b.versions("master.txt"); len(vs) != 2 || vs[1].Kind != "edited" {
		t.Errorf("B's versions of master.txt: %+v; want its own change kept", vs)
	}
	if vs := b.versions("from-b.txt"); len(vs) != 1 || vs[0].Kind != "deleted" {
		t.Errorf("B's versions of from-b.txt: %+v; want it kept as deleted", vs)
	}
	if _, _, code := b.try("folder", "override", "docs"); code != 1 {
		t.Errorf("override on a send-receive folder: exit %d, want 1", code)
	}
}
