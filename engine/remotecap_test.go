package engine

import (
	"fmt"
	"strings"
	"testing"

	"ferry/proto"
)

// remoteCapEngine is a test engine that keeps at most limit records of
// each peer.
func remoteCapEngine(t *testing.T, st *testStore, limit int) *Engine {
	t.Helper()
	state := State{IndexID: 7, Peers: map[proto.DeviceID]PeerIndex{devP: {IndexID: 9, Sequence: 1}}}
	e, err := New(Config{Folder: "f", Local: devL, Devices: []proto.DeviceID{devP, devQ}, MaxRemoteFiles: limit}, st, state)
	if err != nil {
		t.Fatal(err)
	}
	e.Step(Tick{Now: 1_000_000 * 1e9})
	e.Advance()
	return e
}

func remoteDir(name string, seq int64) proto.FileInfo {
	return proto.FileInfo{Name: name, Type: proto.FileTypeDir, Mode: 0o755, ModTime: 1, Version: vec(0x22, uint64(seq)), Sequence: seq}
}

// closeTo returns the reason of a Close sent to dev in rd, "" if none.
func closeTo(rd Ready, dev proto.DeviceID) string {
	for _, m := range rd.Messages {
		if c, ok := m.Msg.(*proto.Close); ok && m.To == dev {
			return c.Reason
		}
	}
	return ""
}

// A peer announcing more files than the folder keeps of one device is
// refused: the records past the bound are not stored nor counted as seen,
// and the connection is closed saying why. Records of names it already
// has still come in, and other peers are not affected.
func TestRemoteFilesBounded(t *testing.T) {
	held := []proto.FileInfo{remoteDir("old", 1)}
	e := remoteCapEngine(t, &testStore{remote: map[proto.DeviceID][]proto.FileInfo{devP: held}}, 3)
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9}})
	e.Step(PeerUp{Device: devQ, Hello: proto.FolderHello{ID: "f", IndexID: 8}})
	e.Advance()

	var files []proto.FileInfo
	for i := range 5 {
		files = append(files, remoteDir(fmt.Sprintf("d%d", i), int64(i+2)))
	}
	e.Step(Received{From: devP, Update: &proto.IndexUpdate{Folder: "f", IndexID: 9, Files: files}})
	rd := e.Ready()
	if reason := closeTo(rd, devP); !strings.Contains(reason, "more than 3 files") {
		t.Fatalf("close reason %q, want a refusal of more than 3 files", reason)
	}
	stored := map[string]bool{}
	for _, w := range rd.Writes.Remote {
		stored[w.File.Name] = true
	}
	if len(stored) != 2 || !stored["d0"] || !stored["d1"] {
		t.Fatalf("stored %v, want d0 and d1 beside the one held", stored)
	}
	if seq := e.peers[devP].index.Sequence; seq != 3 {
		t.Fatalf("seen up to sequence %d, want 3: the refused records come again", seq)
	}
	e.Advance()

	// A new version of a name it has is taken.
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9}})
	e.Step(Received{From: devP, Update: &proto.IndexUpdate{Folder: "f", IndexID: 9, Files: []proto.FileInfo{remoteDir("old", 10)}}})
	rd = e.Ready()
	if reason := closeTo(rd, devP); reason != "" || len(rd.Writes.Remote) != 1 {
		t.Fatalf("an update of a held name: close %q, writes %v", reason, rd.Writes.Remote)
	}
	e.Advance()

	e.Step(Received{From: devQ, Update: &proto.IndexUpdate{Folder: "f", IndexID: 8, Files: files[:3]}})
	if rd := e.Ready(); closeTo(rd, devQ) != "" || len(rd.Writes.Remote) != 3 {
		t.Fatalf("another peer within the bound was refused: %+v", rd.Messages)
	}
}

// The bound defaults to 10 million files per device.
func TestRemoteFilesDefault(t *testing.T) {
	c := Config{Folder: "f", Local: devL}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.MaxRemoteFiles != 10_000_000 {
		t.Fatalf("default bound %d", c.MaxRemoteFiles)
	}
}
