package engine

import (
	"fmt"
	"slices"
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

// bigBlocks makes n blocks of 1 KiB whose hashes are tags.
func bigBlocks(tags ...byte) ([]proto.Block, int64) {
	var out []proto.Block
	var off int64
	for _, t := range tags {
		out = append(out, proto.Block{Offset: off, Size: 1024, Hash: proto.Hash{t}})
		off += 1024
	}
	return out, off
}

// A changed large file goes to a peer that has its previous version as a
// block-list delta; a peer that connects later gets the whole list.
func TestChangeAnnouncedAsDelta(t *testing.T) {
	blocks, size := bigBlocks(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	old := proto.FileInfo{Name: "big", Size: size, ModTime: 1, Mode: 0o644, Version: vec(0x11, 1), Sequence: 1, Blocks: blocks}
	e := newTestEngine(t, &testStore{local: []proto.FileInfo{old}})
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9, SeenIndexID: 7, SeenSequence: 1}})
	e.Advance()
	edited, _ := bigBlocks(1, 2, 3, 4, 5, 66, 7, 8, 9, 10)
	rd := scanFile(e, Stat{Name: "big", Size: size, ModTime: 2, Mode: 0o644}, edited)
	sent := filesTo(rd, devP)
	if len(sent) != 1 {
		t.Fatalf("sent %d records to P", len(sent))
	}
	if f := sent[0]; f.Delta == nil || len(f.Blocks) != 1 || f.Delta.Prefix != 5 || f.Delta.Suffix != 4 || !f.Delta.Base.Equal(old.Version) {
		t.Errorf("to P: %d blocks, delta %+v; want the one changed block against version 1", len(f.Blocks), f.Delta)
	}
	e.Advance()
	e.Step(PeerUp{Device: devQ, Hello: proto.FolderHello{ID: "f", IndexID: 8}})
	sent = filesTo(e.Ready(), devQ)
	if len(sent) != 1 || sent[0].Delta != nil || !slices.Equal(sent[0].Blocks, edited) {
		t.Errorf("to Q on connecting: %+v, want the whole record", sent)
	}
}

// filesTo returns the records sent to dev in rd.
func filesTo(rd Ready, dev proto.DeviceID) []proto.FileInfo {
	var out []proto.FileInfo
	for _, m := range rd.Messages {
		if u, ok := m.Msg.(*proto.IndexUpdate); ok && m.To == dev {
			out = append(out, u.Files...)
		}
	}
	return out
}

// A delta is rebuilt against the sender's previous record; one against a
// version not held is refused: the connection is closed and the peer's
// position stays before it, so the record comes again whole.
func TestReceivedDelta(t *testing.T) {
	blocks, size := bigBlocks(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	prev := proto.FileInfo{Name: "big", Size: size, ModTime: 1, Mode: 0o644, Version: vec(0x22, 1), Sequence: 4, Blocks: blocks}
	st := &testStore{remote: map[proto.DeviceID][]proto.FileInfo{devP: {prev}}}
	e := newTestEngine(t, st)
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9}})
	e.Advance()
	edited, _ := bigBlocks(1, 2, 3, 4, 5, 66, 7, 8, 9, 10)
	cur := proto.FileInfo{Name: "big", Size: size, ModTime: 2, Mode: 0o644, Version: vec(0x22, 2), Sequence: 5, Blocks: edited}
	d, ok := proto.MakeDelta(&prev, &cur)
	if !ok {
		t.Fatal("no delta")
	}
	e.Step(Received{From: devP, Update: &proto.IndexUpdate{Folder: "f", IndexID: 9, Files: []proto.FileInfo{d}}})
	rd := e.Ready()
	if got := e.files.remote(devP, "big"); got == nil || !slices.Equal(got.Blocks, edited) || got.Delta != nil {
		t.Fatalf("rebuilt record %+v, want the edited blocks", got)
	}
	if len(rd.Writes.Remote) != 1 || !slices.Equal(rd.Writes.Remote[0].File.Blocks, edited) {
		t.Fatalf("stored %+v, want the whole rebuilt record", rd.Writes.Remote)
	}
	e.Advance()

	// The next delta claims a base this device never saw.
	cur2 := cur
	cur2.Version, cur2.Sequence = vec(0x22, 9), 7
	stale := prev
	stale.Version = vec(0x22, 8)
	d2, _ := proto.MakeDelta(&stale, &cur2)
	e.Step(Received{From: devP, Update: &proto.IndexUpdate{Folder: "f", IndexID: 9, Files: []proto.FileInfo{d2}}})
	rd = e.Ready()
	closed := false
	for _, m := range rd.Messages {
		if _, ok := m.Msg.(*proto.Close); ok && m.To == devP {
			closed = true
		}
	}
	if !closed || len(rd.Writes.Remote) != 0 {
		t.Fatalf("delta against an unknown base: close %t, stored %d records", closed, len(rd.Writes.Remote))
	}
	if h, _ := e.Hello(devP); h.SeenSequence != 5 {
		t.Fatalf("position after a refused delta: %d, want 5", h.SeenSequence)
	}
}

// tokensTo returns the tokens of the paced messages to dev in rd.
func tokensTo(rd Ready, dev proto.DeviceID) []uint64 {
	var out []uint64
	for _, m := range rd.Messages {
		if m.To == dev && m.Token != 0 {
			out = append(out, m.Token)
		}
	}
	return out
}

// A peer that catches up gets the records it missed a few batches at a
// time, each further batch once one has gone out; a change made meanwhile
// comes in its turn by sequence, and once the last batch is out, changes
// are announced as they are made.
func TestCatchUpIsPaced(t *testing.T) {
	st := &testStore{}
	for i := range 23 {
		st.local = append(st.local, proto.FileInfo{
			Name: fmt.Sprintf("d%02d", i), Type: proto.FileTypeDir, Mode: 0o755, Version: vec(0x11, uint64(i+1)), Sequence: int64(i + 1),
		})
	}
	cfg := Config{Folder: "f", Local: devL, Devices: []proto.DeviceID{devP}, BatchFiles: 5}
	e, err := New(cfg, st, State{IndexID: 7, LastSequence: 23})
	if err != nil {
		t.Fatal(err)
	}
	e.Step(Tick{Now: 1_000_000 * 1e9})
	e.Advance()
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9}})
	rd := e.Ready()
	tokens := tokensTo(rd, devP)
	if got := updatesTo(rd, devP); len(tokens) != catchUpWindow || len(got) != 20 || got[0] != 1 || got[19] != 20 {
		t.Fatalf("first batches: %d paced messages with sequences %v; want %d, 1 to 20", len(tokens), got, catchUpWindow)
	}
	e.Advance()

	if got := updatesTo(scanFile(e, Stat{Name: "new", Size: 1, ModTime: 2, Mode: 0o644}, []proto.Block{{Size: 1}}), devP); len(got) != 0 {
		t.Fatalf("a change while catching up went out at once: %v", got)
	}
	e.Advance()
	e.Step(Sent{Device: devP, Token: tokens[0] + 100}) // no such batch
	if got := updatesTo(e.Ready(), devP); len(got) != 0 {
		t.Fatalf("an unknown token sent %v", got)
	}
	e.Step(Sent{Device: devP, Token: tokens[0]})
	rd = e.Ready()
	if got := updatesTo(rd, devP); !slices.Equal(got, []int64{21, 22, 23, 24}) {
		t.Fatalf("after a batch went out, sent %v; want 21 to 24, the change included", got)
	}
	tokens = append(tokens[1:], tokensTo(rd, devP)...)
	e.Advance()

	// Caught up, with four batches still on their way: a change waits for
	// room in the window, then comes from the index.
	if got := updatesTo(scanFile(e, Stat{Name: "later", Size: 1, ModTime: 3, Mode: 0o644}, []proto.Block{{Size: 1}}), devP); len(got) != 0 {
		t.Fatalf("a change went out past a full window: %v", got)
	}
	e.Advance()
	for _, tok := range tokens {
		e.Step(Sent{Device: devP, Token: tok})
	}
	if got := updatesTo(e.Ready(), devP); !slices.Equal(got, []int64{25}) {
		t.Fatalf("once the window emptied, sent %v; want 25", got)
	}
	e.Advance()
	got := updatesTo(scanFile(e, Stat{Name: "last", Size: 1, ModTime: 4, Mode: 0o644}, []proto.Block{{Size: 1}}), devP)
	if !slices.Equal(got, []int64{26}) {
		t.Fatalf("with room in the window, a change sent %v; want 26 at once", got)
	}
}
