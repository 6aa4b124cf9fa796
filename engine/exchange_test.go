package engine

import (
	"testing"

	"ferry/proto"
)

// updatesTo returns the sequences of the records sent to dev in rd.
func updatesTo(rd Ready, dev proto.DeviceID) []int64 {
	var seqs []int64
	for _, m := range rd.Messages {
		if u, ok := m.Msg.(*proto.IndexUpdate); ok && m.To == dev {
			for _, f := range u.Files {
				seqs = append(seqs, f.Sequence)
			}
		}
	}
	return seqs
}

func TestPeerDownDropsQueuedMessages(t *testing.T) {
	a := proto.FileInfo{Name: "a", Size: 1, ModTime: 1, Mode: 0o644, Version: vec(0x11, 1), Sequence: 1}
	e := newTestEngine(t, &testStore{local: []proto.FileInfo{a}})
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9, SeenIndexID: 7, SeenSequence: 1}})
	e.Advance()
	// A change is announced, but the connection drops before the driver
	// sends it.
	scanFile(e, Stat{Name: "b", Size: 1, ModTime: 2, Mode: 0o644}, []proto.Block{{Size: 1}})
	if got := updatesTo(e.Ready(), devP); len(got) != 1 || got[0] != 2 {
		t.Fatalf("announced %v, want sequence 2", got)
	}
	e.Step(PeerDown{Device: devP})
	if got := updatesTo(e.Ready(), devP); len(got) != 0 {
		t.Fatalf("messages for a dropped connection remain: %v", got)
	}
	// The next connection starts over from what the peer says it saw, in
	// sequence order.
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9, SeenIndexID: 7}})
	if got := updatesTo(e.Ready(), devP); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("resent %v, want sequences 1 and 2 in order", got)
	}
}

func TestPeerUpReplansNeededFiles(t *testing.T) {
	remote := proto.FileInfo{Name: "x", Size: 1, ModTime: 1, Mode: 0o644, Version: vec(0x22, 1), Sequence: 1,
		Blocks: []proto.Block{{Size: 1, Hash: proto.Hash{9}}}}
	st := &testStore{remote: map[proto.DeviceID][]proto.FileInfo{devP: {remote}}}
	e := newTestEngine(t, st)
	if pulls := opsOf[PullOp](e.Ready()); len(pulls) != 0 {
		t.Fatalf("pulled %v with no source connected", pulls)
	}
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f"}})
	pulls := opsOf[PullOp](e.Ready())
	if len(pulls) != 1 || len(pulls[0].Peers) != 1 || pulls[0].Peers[0] != devP {
		t.Errorf("pulls %+v after the holder connected, want x from it", pulls)
	}
}

func TestRenameAnnouncesNewNameFirst(t *testing.T) {
	blocks := []proto.Block{{Size: 4, Hash: proto.Hash{4}}}
	old := proto.FileInfo{Name: "old", Size: 4, ModTime: 1, Mode: 0o644, Blocks: blocks, Version: vec(0x11, 1), Sequence: 1, Inode: 3}
	e := newTestEngine(t, &testStore{local: []proto.FileInfo{old}})
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9, SeenIndexID: 7, SeenSequence: 1}})
	e.Advance()
	moved := Stat{Name: "new", Size: 4, ModTime: 1, Mode: 0o644, Inode: 3}
	e.Step(ScanRequest{})
	e.Step(ScanResult{Entries: []Stat{moved}})
	if got := updatesTo(e.Ready(), devP); len(got) != 0 {
		t.Fatalf("announced %v before the new name was hashed", got)
	}
	e.Step(HashResult{Stat: moved, Blocks: blocks})
	rd := e.Ready()
	var names []string
	for _, m := range rd.Messages {
		for _, f := range m.Msg.(*proto.IndexUpdate).Files {
			names = append(names, f.Name)
		}
	}
	if len(names) != 2 || names[0] != "new" || names[1] != "old" {
		t.Errorf("announced %v, want new, then the deletion of old", names)
	}
}
