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
