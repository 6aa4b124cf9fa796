package enginetest

import (
	"fmt"
	"testing"

	"ferry/engine"
	"ferry/proto"
)

func fileRec(name string, seq int64, data []byte) proto.FileInfo {
	return proto.FileInfo{Name: name, Size: int64(len(data)), Sequence: seq, Blocks: Blocks(data), Version: proto.Vector{{ID: 1, Value: uint64(seq)}}}
}

func TestMemStoreBlockMap(t *testing.T) {
	m := NewMemStore(42)
	a := content("a", 2*BlockSize+10)
	m.Apply(engine.Writes{Local: []proto.FileInfo{fileRec("x", 1, a), fileRec("w", 2, a)}})
	blocks := Blocks(a)
	if name, off, ok, _ := m.BlockSource(blocks[1].Hash); !ok || name != "w" || off != BlockSize {
		t.Errorf("block 1 at %q %d %t, want the first name holding it, w, at %d", name, off, ok, BlockSize)
	}
	// Replacing and deleting records drops their blocks.
	gone := fileRec("w", 3, nil)
	gone.Deleted = true
	m.Apply(engine.Writes{Local: []proto.FileInfo{fileRec("x", 4, []byte("other")), gone}})
	if _, _, ok, _ := m.BlockSource(blocks[0].Hash); ok {
		t.Error("blocks of replaced and deleted files are still sources")
	}
	if name, _, ok, _ := m.BlockSource(Blocks([]byte("other"))[0].Hash); !ok || name != "x" {
		t.Errorf("new block at %q %t, want x", name, ok)
	}
	if st := m.State(); st.IndexID != 42 || st.LastSequence != 4 {
		t.Errorf("state %+v, want index 42 and sequence 4", st)
	}
}

func TestMemStoreTransactions(t *testing.T) {
	m := NewMemStore(1)
	p := deviceID(1)
	m.Apply(engine.Writes{
		Remote: []engine.RemoteFile{{Device: p, File: fileRec("r", 1, nil)}},
		Peers:  map[proto.DeviceID]engine.PeerIndex{p: {IndexID: 9, Sequence: 1}},
	})
	m.Stage(engine.Writes{Local: []proto.FileInfo{fileRec("lost", 5, nil)}, DropRemote: []proto.DeviceID{p}})
	m.Crash()
	if _, ok := m.Local("lost"); ok {
		t.Error("a staged write survived the crash")
	}
	if _, ok := m.Remote(p, "r"); !ok || m.Peer(p).Sequence != 1 {
		t.Error("a staged drop survived the crash")
	}
	m.Apply(engine.Writes{DropRemote: []proto.DeviceID{p}, Remote: []engine.RemoteFile{{Device: p, File: fileRec("s", 1, nil)}}})
	var seen []string
	_ = m.Each(func(dev proto.DeviceID, f proto.FileInfo) error {
		seen = append(seen, f.Name)
		return nil
	})
	if len(seen) != 1 || seen[0] != "s" {
		t.Errorf("records %v after drop then write, want only s", seen)
	}
}

// An engine started on an index without summaries writes them all once,
// with the mark that they are complete; started again, it writes none and
// counts the same status.
func TestEngineWritesMissingSummariesOnce(t *testing.T) {
	m := NewMemStore(7)
	local := deviceID(9)
	peer := deviceID(1)
	m.Apply(engine.Writes{
		Local:  []proto.FileInfo{fileRec("a", 1, []byte("aa")), fileRec("b", 2, []byte("bbb"))},
		Remote: []engine.RemoteFile{{Device: peer, File: fileRec("c", 5, []byte("cccc"))}},
	})
	m.DropSummaries()
	cfg := engine.Config{Folder: "f", Local: local, Devices: []proto.DeviceID{peer}}
	e, err := engine.New(cfg, m, m.State())
	if err != nil {
		t.Fatal(err)
	}
	rd := e.Ready()
	w := rd.Writes
	if !w.Summarized || len(w.Summaries) != 3 {
		t.Fatalf("first writes: summarized %v, %d summaries; want true and 3", w.Summarized, len(w.Summaries))
	}
	want := e.Status()
	m.Apply(w)
	e.Advance()
	e.Step(engine.Saved{Serial: rd.Serial})
	if err := e.VerifySummaries(); err != nil {
		t.Fatal(err)
	}
	if c, _ := m.Summaries("", "", 10); len(c) != 3 || c[2].Name != "c" || c[2].Need != engine.NeedFile {
		t.Fatalf("stored summaries %+v; want c to need a fetch", c)
	}

	e, err = engine.New(cfg, m, m.State())
	if err != nil {
		t.Fatal(err)
	}
	if w := e.Ready().Writes; w.Summarized || len(w.Summaries) != 0 {
		t.Fatalf("restart writes summarized %v and %d summaries; want none", w.Summarized, len(w.Summaries))
	}
	if got := e.Status(); got.NeedFiles != want.NeedFiles || got.NeedBytes != 4 || got.LocalBytes != want.LocalBytes || got.LocalBytes != 5 || got.GlobalFiles != 3 {
		t.Fatalf("status after restart %+v, want %+v", got, want)
	}
}

// An index written before summaries were kept is upgraded a batch at a
// time, each batch committed before the next: no Ready writes more than a
// few batches of summaries, the status says "upgrading" with the names
// done so far until the last batch, which marks the store summarized and
// reports every name.
func TestUpgradeGoesInBatches(t *testing.T) {
	m := NewMemStore(7)
	local, peer := deviceID(9), deviceID(1)
	var w engine.Writes
	for i := range 500 {
		w.Local = append(w.Local, fileRec(fmt.Sprintf("l/%03d", i), int64(i+1), []byte{byte(i)}))
	}
	for i := range 300 {
		name := fmt.Sprintf("l/%03d", i) // a third of them local names too
		if i%3 != 0 {
			name = fmt.Sprintf("r/%03d", i)
		}
		w.Remote = append(w.Remote, engine.RemoteFile{Device: peer, File: fileRec(name, int64(i+1), []byte("peer"))})
	}
	m.Apply(w)
	m.DropSummaries()
	names := 500 + 200
	const batch = 10
	cfg := engine.Config{Folder: "f", Local: local, Devices: []proto.DeviceID{peer}, SweepBatch: batch}
	e, err := engine.New(cfg, m, m.State())
	if err != nil {
		t.Fatal(err)
	}
	var done []engine.UpgradeEvent
	readys := 0
	for ; readys < 1000; readys++ {
		rd := e.Ready()
		if n := len(rd.Writes.Summaries); n > 9*batch {
			t.Fatalf("Ready %d writes %d summaries; want at most %d", readys, n, 9*batch)
		}
		for _, ev := range rd.Events {
			if u, ok := ev.(engine.UpgradeEvent); ok {
				done = append(done, u)
			}
		}
		if st := e.Status(); rd.Writes.Summarized != (st.State != "upgrading") {
			t.Fatalf("Ready %d: summarized %v, status %+v", readys, rd.Writes.Summarized, st)
		} else if !rd.Writes.Summarized && (st.Upgraded == 0 || st.Upgraded >= names) {
			t.Fatalf("Ready %d: %d names upgraded of %d", readys, st.Upgraded, names)
		}
		m.Apply(rd.Writes)
		e.Advance()
		if rd.Writes.Summarized {
			break
		}
		e.Step(engine.Saved{Serial: rd.Serial})
	}
	if readys < names/(9*batch) {
		t.Errorf("upgraded in %d Readys; want batches", readys)
	}
	if len(done) != 1 || !done[0].Done || done[0].Names != names {
		t.Fatalf("upgrade events %+v; want one, done, with %d names", done, names)
	}
	e.Step(engine.Saved{Serial: e.Ready().Serial})
	if err := e.VerifySummaries(); err != nil {
		t.Fatal(err)
	}
	if st := e.Status(); st.LocalFiles != 500 || st.GlobalFiles != names || st.NeedFiles != 200 {
		t.Fatalf("status after the upgrade %+v; want 500 local, %d global, 200 needed", st, names)
	}
}
