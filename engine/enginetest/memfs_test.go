package enginetest

import (
	"bytes"
	"errors"
	"testing"

	"ferry/engine"
	"ferry/proto"
)

func TestMemFSUserActions(t *testing.T) {
	m := NewMemFS()
	must(t, m.WriteFile("a/b/c.txt", []byte("hello"), 100))
	must(t, m.Symlink("c.txt", "a/l", 100))
	st, _ := m.Stat("a/b/c.txt")
	must(t, m.WriteFile("a/b/c.txt", []byte("hello!"), 100))
	again, _ := m.Stat("a/b/c.txt")
	if again.Inode != st.Inode || again.ModTime <= st.ModTime {
		t.Errorf("in-place write: %+v after %+v, want same inode, later mtime", again, st)
	}
	must(t, m.Rename("a", "z/a"))
	if got := m.Names(); len(got) != 5 || got[0] != "z" || got[4] != "z/a/l" {
		t.Errorf("names after rename %v", got)
	}
	moved, _ := m.Stat("z/a/b/c.txt")
	if moved.Inode != st.Inode {
		t.Error("rename changed the inode")
	}
	if err := m.Rename("z/a", "z/a/b/x"); err == nil {
		t.Error("renamed a directory into itself")
	}
	if got := m.Walk("z/a/b"); len(got) != 2 || got[1].Size != 6 {
		t.Errorf("walk of subtree %+v", got)
	}
	if got := m.Walk("missing"); len(got) != 0 {
		t.Errorf("walk of a missing subtree %+v, want nothing", got)
	}
	must(t, m.RemoveAll("z/a/b"))
	if _, ok := m.Stat("z/a/b/c.txt"); ok {
		t.Error("RemoveAll left a child")
	}
}

func TestMemFSOps(t *testing.T) {
	m := NewMemFS()
	old := []byte("old content")
	must(t, m.WriteFile("x", old, 100))
	cur, _ := m.Stat("x")
	newData := content("new", BlockSize+1)
	f := proto.FileInfo{Name: "x", Size: int64(len(newData)), ModTime: 200, Mode: 0o600, Blocks: Blocks(newData), Version: proto.Vector{{ID: 1, Value: 2}}}
	peer := NewMemFS()
	must(t, peer.WriteFile("x", newData, 200))
	fetch := func(_ proto.DeviceID, name string, b proto.Block) ([]byte, bool) { return peer.ReadBlock(name, b) }

	// A stale expectation refuses the pull.
	stale := engine.Expect{Stat: cur}
	stale.Stat.Size++
	r := m.Exec(engine.PullOp{File: f, Peers: []proto.DeviceID{{1}}, Expect: stale}, fetch).(engine.OpResult)
	if !r.Changed || r.Err == nil {
		t.Fatalf("pull with a stale expectation: %+v", r)
	}
	// A pull with a conflict name keeps what was there.
	r = m.Exec(engine.PullOp{File: f, Peers: []proto.DeviceID{{1}}, Expect: engine.Expect{Stat: cur}, ConflictName: "x.c"}, fetch).(engine.OpResult)
	if r.Err != nil || r.Conflict == nil || r.Conflict.Name != "x.c" || r.Stat.ModTime != 200 || r.Stat.Mode != 0o600 {
		t.Fatalf("pull: %+v", r)
	}
	if got, _ := m.ReadFile("x"); !bytes.Equal(got, newData) {
		t.Error("pulled content differs")
	}
	if got, _ := m.ReadFile("x.c"); !bytes.Equal(got, old) {
		t.Error("conflict copy lost the old content")
	}
	// A taken conflict name is never overwritten.
	now, _ := m.Stat("x")
	r = m.Exec(engine.PullOp{File: f, Expect: engine.Expect{Stat: now}, ConflictName: "x.c",
		Local: []engine.LocalBlock{{Name: "x"}, {Name: "x", Offset: BlockSize}}}, nil).(engine.OpResult)
	if r.Err == nil || !errors.Is(r.Err, ErrExist) {
		t.Errorf("pull over a taken conflict name: %+v", r)
	}
	// Deleting a directory that is not empty is refused as such.
	must(t, m.WriteFile("d/f", nil, 1))
	dst, _ := m.Stat("d")
	r = m.Exec(engine.DeleteOp{File: proto.FileInfo{Name: "d", Type: proto.FileTypeDir, Deleted: true}, Expect: engine.Expect{Stat: dst}}, nil).(engine.OpResult)
	if !r.NotEmpty {
		t.Errorf("delete of a full directory: %+v", r)
	}
	// Without a source for a block, the pull fails and changes nothing.
	r = m.Exec(engine.PullOp{File: f, Expect: engine.Expect{Absent: true}}, nil).(engine.OpResult)
	if r.Err == nil || !errors.Is(r.Err, errNoSource) {
		t.Errorf("pull without sources: %+v", r)
	}
}
