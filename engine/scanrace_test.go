package engine

import (
	"testing"

	"ferry/proto"
)

// A walk that ran while a pull committed must not turn what it saw before
// the commit into a change: a file pulled after the walk read its directory
// is absent from the walk, and recording that as a deletion would delete the
// file on every device.
func TestScanIgnoresRecordsWrittenDuringTheWalk(t *testing.T) {
	g := proto.FileInfo{
		Name: "new.txt", Type: proto.FileTypeFile, Size: 3, ModTime: 5e18, Mode: 0o644,
		Version: vec(0x22, 1), Sequence: 1, ModifiedBy: devP.Short(),
		Blocks: []proto.Block{{Size: 3, Hash: proto.Hash{1}}},
	}
	st := &testStore{remote: map[proto.DeviceID][]proto.FileInfo{devP: {g}}}
	e := newTestEngine(t, st)
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 0}})
	rd := e.Ready()
	e.Advance()
	pulls := opsOf[PullOp](rd)
	if len(pulls) != 1 {
		t.Fatalf("want one pull, got %d ops", len(rd.Ops))
	}
	// A scan starts; then the pull finishes; then the walk reports what it
	// saw before the pull's rename: nothing.
	e.Step(ScanRequest{ID: 1})
	e.Advance()
	e.Step(OpResult{Name: "new.txt", Version: g.Version, Stat: Stat{Name: "new.txt", Type: proto.FileTypeFile, Size: 3, ModTime: g.ModTime, Mode: 0o644, Inode: 9}})
	e.Advance()
	e.Step(ScanResult{})
	rd = e.Ready()
	e.Advance()
	if l := e.files.local("new.txt"); l == nil || l.Deleted || !l.Version.Equal(g.Version) {
		t.Fatalf("local record after the racing scan: %v", l)
	}
	for _, f := range rd.Writes.Local {
		if f.Name == "new.txt" && f.Deleted {
			t.Fatal("the racing scan wrote a tombstone")
		}
	}
	// The next scan, which starts after the pull, sees the file as it is.
	e.Step(ScanRequest{ID: 2})
	e.Advance()
	e.Step(ScanResult{Entries: []Stat{{Name: "new.txt", Type: proto.FileTypeFile, Size: 3, ModTime: g.ModTime, Mode: 0o644, Inode: 9}}})
	rd = e.Ready()
	if len(rd.Writes.Local) != 0 || len(opsOf[HashOp](rd)) != 0 {
		t.Fatalf("an unchanged pulled file was rescanned: %+v", rd)
	}
}

// What a walk saw of a record this engine rewrote while the walk ran is
// left alone, but looked at again: the rewrite may not have touched the
// disk (a peer's version with the same content taken over), and a change
// the user made there meanwhile would otherwise stay unrecorded while the
// engine says it is in sync.
func TestScanLooksAgainAtRecordsWrittenDuringTheWalk(t *testing.T) {
	local := proto.FileInfo{
		Name: "d", Type: proto.FileTypeDir, Mode: 0o755, ModTime: 5e18,
		Version: vec(0x11, 5), Sequence: 1, ModifiedBy: devL.Short(),
	}
	e := newTestEngine(t, &testStore{local: []proto.FileInfo{local}})
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9}})
	e.Advance()
	// A scan starts; the user makes the directory 0700; the peer announces
	// it as it was, under a version that supersedes the local one, which
	// is taken over with no change on disk; then the walk reports 0700.
	e.Step(ScanRequest{})
	e.Advance()
	peer := local
	peer.Version, peer.ModifiedBy = vec(0x11, 5, 0x22, 6), devP.Short()
	e.Step(Received{From: devP, Update: &proto.IndexUpdate{Folder: "f", IndexID: 9, Files: []proto.FileInfo{peer}}})
	e.Advance()
	if l := e.files.local("d"); !l.Version.Equal(peer.Version) || l.Mode != 0o755 {
		t.Fatalf("the peer's version was not taken over: %v", l)
	}
	st := Stat{Name: "d", Type: proto.FileTypeDir, Mode: 0o700, ModTime: local.ModTime}
	e.Step(ScanResult{Entries: []Stat{st}})
	rd := e.Ready()
	e.Advance()
	if scans := opsOf[ScanOp](rd); len(scans) != 1 || scans[0].Subtree != "d" {
		t.Fatalf("after the walk: ops %+v, want a scan of d", rd.Ops)
	}
	e.Step(ScanResult{Subtree: "d", Entries: []Stat{st}})
	if l := e.files.local("d"); l.Mode != 0o700 || l.Version.Compare(peer.Version) != proto.Greater {
		t.Fatalf("after the second walk: %v, want mode 700 under a version above %v", l, peer.Version)
	}
}
