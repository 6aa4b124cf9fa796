package engine

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/proto"
)

func TestConflictFor(t *testing.T) {
	loser := proto.FileInfo{Name: "x.txt", ModTime: 0, ModifiedBy: devL.Short(), Version: vec(0x11, 5, 0x22, 1)}
	winner := &proto.FileInfo{Name: "x.txt", ModTime: 9, Size: 1, Version: vec(0x22, 2)}
	first, second := conflictName(&loser), numberedConflictName(&loser, 2)
	at := func(name string, v proto.Vector, deleted bool) proto.FileInfo {
		return proto.FileInfo{Name: name, Version: v, Deleted: deleted, ModifiedBy: devL.Short()}
	}
	for _, tc := range []struct {
		name   string
		local  []proto.FileInfo
		global *proto.FileInfo
		want   string
		keep   bool
	}{
		{name: "free name", global: winner, want: first, keep: true},
		{name: "older local version: no conflict", global: &proto.FileInfo{Name: "x.txt", Version: vec(0x11, 6, 0x22, 1)}},
		{name: "same content: nothing to keep", global: &proto.FileInfo{Name: "x.txt", ModTime: 9, Version: vec(0x22, 2)}},
		{name: "copy already made", local: []proto.FileInfo{at(first, copyVersion(&loser, first), false)}, global: winner},
		{name: "loser's vector at the name", local: []proto.FileInfo{at(first, loser.Version, false)}, global: winner, want: second, keep: true},
		{name: "copy edited since", local: []proto.FileInfo{at(first, vec(0x11, 7, 0x22, 1), false)}, global: winner, want: second, keep: true},
		{name: "copy deleted since", local: []proto.FileInfo{at(first, vec(0x11, 7, 0x22, 1), true)}, global: winner, want: first, keep: true},
		{name: "deleted copy", local: []proto.FileInfo{at(first, copyVersion(&loser, first), true)}, global: winner, want: first, keep: true},
		{
			// Same content is not enough: the record may be stale.
			name:   "name taken by another version",
			local:  []proto.FileInfo{at(first, vec(0x11, 3), false)},
			global: winner, want: second, keep: true,
		},
		{
			name:   "copy's vector, other content",
			local:  []proto.FileInfo{{Name: first, Size: 9, Version: copyVersion(&loser, first)}},
			global: winner, want: second, keep: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &testStore{local: append([]proto.FileInfo{loser}, tc.local...)}
			e := newTestEngine(t, st)
			l := e.files.local("x.txt")
			got, kept := e.sync.conflictFor(l, tc.global)
			if got != tc.want || (kept != nil) != tc.keep {
				t.Errorf("conflictFor = %q, %v; want %q, keep %t", got, kept, tc.want, tc.keep)
			}
		})
	}
}

func TestDirectoryDeleteWaitsForChildren(t *testing.T) {
	d := proto.FileInfo{Name: "d", Type: proto.FileTypeDir, Mode: 0o755, Version: vec(0x22, 1), Sequence: 1}
	f := proto.FileInfo{Name: "d/f", Mode: 0o644, Version: vec(0x22, 1), Sequence: 2}
	dGone, fGone := d, f
	dGone.Deleted, dGone.Version, dGone.Sequence = true, vec(0x22, 2), 3
	fGone.Deleted, fGone.Version, fGone.Sequence = true, vec(0x22, 2), 4
	e := newTestEngine(t, &testStore{local: []proto.FileInfo{d, f}})
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9}})
	e.Advance()
	e.Step(Received{From: devP, Update: &proto.IndexUpdate{Folder: "f", IndexID: 9, Files: []proto.FileInfo{dGone, fGone}}})
	if dels := opsOf[DeleteOp](e.Ready()); len(dels) != 0 {
		t.Fatalf("deletes %v before DeleteDelay passed", dels)
	}
	e.Advance()
	e.Step(Tick{Now: e.now + int64(e.cfg.DeleteDelay)})
	dels := opsOf[DeleteOp](e.Ready())
	if len(dels) != 1 || dels[0].File.Name != "d/f" {
		t.Fatalf("deletes %v, want only d/f while it is in flight", dels)
	}
	e.Advance()
	e.Step(OpResult{Name: "d/f", Version: fGone.Version})
	dels = opsOf[DeleteOp](e.Ready())
	if len(dels) != 1 || dels[0].File.Name != "d" {
		t.Fatalf("deletes %v after d/f, want d", dels)
	}
}

func TestOrphanParentIsScanned(t *testing.T) {
	dGone := proto.FileInfo{Name: "d", Type: proto.FileTypeDir, Deleted: true, Version: vec(0x22, 2), Sequence: 1}
	f := proto.FileInfo{Name: "d/e/f", Mode: 0o644, Version: vec(0x33, 1), Sequence: 2}
	e := newTestEngine(t, &testStore{local: []proto.FileInfo{dGone}})
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9}})
	e.Advance()
	e.Step(Received{From: devP, Update: &proto.IndexUpdate{Folder: "f", IndexID: 9, Files: []proto.FileInfo{f}}})
	pulls := opsOf[PullOp](e.Ready())
	if len(pulls) != 1 {
		t.Fatalf("pulls %v, want d/e/f", pulls)
	}
	e.Advance()
	e.Step(OpResult{Name: "d/e/f", Version: f.Version, Stat: Stat{Name: "d/e/f", Inode: 3}})
	scans := opsOf[ScanOp](e.Ready())
	if len(scans) != 1 || scans[0].Subtree != "d" {
		t.Errorf("scans %v, want one of d, the deleted directory the pull recreated", scans)
	}
}

func TestNotEmptyDirectoryIsKept(t *testing.T) {
	d := proto.FileInfo{Name: "d", Type: proto.FileTypeDir, Mode: 0o755, Version: vec(0x22, 1), Sequence: 1}
	for _, tc := range []struct {
		name  string
		other proto.FileInfo
		want  proto.Ordering // of the kept directory's version to other's
	}{
		{"deleted", proto.FileInfo{Name: "d", Type: proto.FileTypeDir, Deleted: true, Version: vec(0x22, 1, 0x33, 1)}, proto.Greater},
		// The file must not lose its content: it stays concurrent, loses
		// by the conflict rule, and is kept as a conflict copy.
		{"replaced by a file", proto.FileInfo{Name: "d", Size: 1, Mode: 0o644, Version: vec(0x22, 1, 0x33, 1),
			Blocks: []proto.Block{{Size: 1}}}, proto.Concurrent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(t, &testStore{local: []proto.FileInfo{d}})
			e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9}})
			e.Advance()
			other := tc.other
			other.Sequence = 5
			e.Step(Received{From: devP, Update: &proto.IndexUpdate{Folder: "f", IndexID: 9, Files: []proto.FileInfo{other}}})
			if len(e.Ready().Ops) != 1 {
				t.Fatalf("ops %v, want one for d", e.Ready().Ops)
			}
			e.Advance()
			e.Step(OpResult{Name: "d", Version: other.Version, NotEmpty: true, Err: errNotEmptyTest})
			l := e.files.local("d")
			if l.Deleted || l.Type != proto.FileTypeDir || l.Version.Compare(other.Version) != tc.want {
				t.Errorf("kept %v, want a live directory %v to %v", l, tc.want, other.Version)
			}
			if g, _ := e.files.lookup("d").global(e.devices); g != l {
				t.Errorf("global %v, want the kept directory", g)
			}
		})
	}
}

var errNotEmptyTest = errors.New("directory not empty")

func TestInterleaveFetches(t *testing.T) {
	type it struct {
		fetch bool
		by    proto.ShortID
		name  string
	}
	items := []it{{false, 0, "dir"}, {true, 2, "a"}, {true, 2, "b"}, {true, 2, "c"}, {true, 1, "z"}, {true, 2, "d"}, {false, 0, "gone"}}
	interleaveFetches(items, func(x it) (bool, proto.ShortID) { return x.fetch, x.by })
	var got []string
	for _, x := range items {
		got = append(got, x.name)
	}
	if want := []string{"dir", "z", "a", "b", "c", "d", "gone"}; !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
}

// A pull that started before the disk filled and finishes on the room it
// had does not end the pause: only an operation started while paused shows
// that space was freed.
func TestSpacePauseEndsOnlyOnAProbe(t *testing.T) {
	var files []proto.FileInfo
	for i, name := range []string{"a", "b", "c"} {
		files = append(files, proto.FileInfo{Name: name, Size: 1, Mode: 0o644, Version: vec(0x22, 1),
			Sequence: int64(i + 1), Blocks: []proto.Block{{Size: 1, Hash: proto.Hash{byte(i + 1)}}}})
	}
	e := newTestEngine(t, &testStore{})
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9}})
	e.Advance()
	e.Step(Received{From: devP, Update: &proto.IndexUpdate{Folder: "f", IndexID: 9, Files: files}})
	if pulls := opsOf[PullOp](e.Ready()); len(pulls) != 3 {
		t.Fatalf("pulls %v, want three", pulls)
	}
	e.Advance()
	full := func() bool {
		return len(e.Status().Errors) == 1 && strings.Contains(e.Status().Errors[0], "pulling paused")
	}
	e.Step(OpResult{Name: "a", Version: files[0].Version, NoSpace: true, Err: errors.New("no space")})
	if !full() {
		t.Fatalf("errors %q after a pull found the disk full, want the pause", e.Status().Errors)
	}
	e.Advance()
	e.Step(OpResult{Name: "b", Version: files[1].Version, Stat: Stat{Name: "b", Size: 1, Inode: 2}})
	e.Advance()
	e.Step(OpResult{Name: "c", Version: files[2].Version, Stat: Stat{Name: "c", Size: 1, Inode: 3}})
	if !full() {
		t.Fatalf("errors %q after pulls started earlier finished, want the pause to stay", e.Status().Errors)
	}
	e.Advance()
	e.Step(Tick{Now: e.now + int64(e.cfg.RetryAfter)})
	probes := opsOf[PullOp](e.Ready())
	if len(probes) != 1 || probes[0].File.Name != "a" {
		t.Fatalf("pulls %v once the pause is over, want one probe of a", probes)
	}
	e.Advance()
	e.Step(OpResult{Name: "a", Version: files[0].Version, Stat: Stat{Name: "a", Size: 1, Inode: 1}})
	if full() {
		t.Errorf("errors %q after the probe succeeded, want none", e.Status().Errors)
	}
}

// Temp files are cleaned when the folder starts and once a pull that may
// have left one is followed by a moment with nothing to pull; never while
// a pull is in flight or a file waits for a retry that would reuse its temp.
func TestCleanTempsWhenNothingWaits(t *testing.T) {
	e, err := New(Config{Folder: "f", Local: devL, Devices: []proto.DeviceID{devP}}, &testStore{}, State{IndexID: 7})
	if err != nil {
		t.Fatal(err)
	}
	cleans := func() int { return len(opsOf[CleanTempsOp](e.Ready())) }
	e.Step(Tick{Now: 1_000_000 * 1e9})
	if cleans() != 1 {
		t.Fatalf("ops %v at the start, want a clean: a crash leaves temps no result reports", e.Ready().Ops)
	}
	e.Advance()
	e.Step(TempsCleaned{Removed: 3})
	e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9}})
	e.Advance()

	v1 := proto.FileInfo{Name: "big", Size: 1, Mode: 0o644, Version: vec(0x22, 1), Sequence: 1,
		Blocks: []proto.Block{{Size: 1, Hash: proto.Hash{1}}}}
	e.Step(Received{From: devP, Update: &proto.IndexUpdate{Folder: "f", IndexID: 9, Files: []proto.FileInfo{v1}}})
	if len(opsOf[PullOp](e.Ready())) != 1 {
		t.Fatalf("ops %v, want a pull of big", e.Ready().Ops)
	}
	e.Advance()
	e.Step(OpResult{Name: "big", Version: v1.Version, Err: errors.New("peer gone")})
	e.Step(Tick{Now: e.now + int64(e.cfg.RetryAfter)/2})
	if cleans() != 0 {
		t.Fatalf("ops %v while big waits for a retry, want no clean: the retry reuses its temp", e.Ready().Ops)
	}
	e.Advance()
	// The peer replaces the version before the retry: v1's temp is left
	// over once v2 is in.
	v2 := v1
	v2.Version, v2.Sequence, v2.Blocks = vec(0x22, 2), 2, []proto.Block{{Size: 1, Hash: proto.Hash{2}}}
	e.Step(Received{From: devP, Update: &proto.IndexUpdate{Folder: "f", IndexID: 9, Files: []proto.FileInfo{v2}}})
	e.Step(Tick{Now: e.now + int64(e.cfg.RetryAfter)})
	pulls := opsOf[PullOp](e.Ready())
	if len(pulls) != 1 || !pulls[0].File.Version.Equal(v2.Version) || cleans() != 0 {
		t.Fatalf("ops %v, want only the pull of big's second version", e.Ready().Ops)
	}
	e.Advance()
	e.Step(OpResult{Name: "big", Version: v2.Version, Stat: Stat{Name: "big", Size: 1, Inode: 4}})
	if cleans() != 1 {
		t.Fatalf("ops %v once big is in, want a clean of the first version's temp", e.Ready().Ops)
	}
	e.Advance()
	e.Step(TempsCleaned{Removed: 1})
	e.Step(Tick{Now: e.now + int64(time.Hour)})
	if cleans() != 0 {
		t.Errorf("ops %v an hour later with nothing failed, want no clean", e.Ready().Ops)
	}
}

// With history on, an operation that replaces or removes a local file asks
// for it to be kept first, saying why; with history off it does not.
func TestOperationsKeepWhatTheyReplace(t *testing.T) {
	local := proto.FileInfo{Name: "f", Size: 1, Mode: 0o644, Version: vec(0x22, 1), Sequence: 1, ModifiedBy: dev(0x22).Short(),
		Blocks: []proto.Block{{Size: 1, Hash: proto.Hash{1}}}}
	newer := local
	newer.Version, newer.Blocks, newer.ModifiedBy = vec(0x22, 1, 0x33, 1), []proto.Block{{Size: 1, Hash: proto.Hash{2}}}, dev(0x33).Short()
	concurrent := newer
	concurrent.Version = vec(0x33, 1)
	gone := newer
	gone.Deleted, gone.Blocks, gone.Size = true, nil, 0
	for _, tc := range []struct {
		name    string
		history bool
		remote  proto.FileInfo
		want    KeepKind // 0: no Keep
	}{
		{"replaced", true, newer, KeepReplaced},
		{"deleted", true, gone, KeepDeleted},
		{"conflict", true, concurrent, KeepConflict},
		{"history off", false, newer, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(Config{Folder: "f", Local: devL, Devices: []proto.DeviceID{devP}, History: tc.history, DeleteDelay: 1},
				&testStore{local: []proto.FileInfo{local}}, State{IndexID: 7, LastSequence: 1})
			if err != nil {
				t.Fatal(err)
			}
			e.Step(Tick{Now: 1_000_000 * 1e9})
			e.Step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9}})
			e.Advance()
			r := tc.remote
			r.Sequence = 3
			e.Step(Received{From: devP, Update: &proto.IndexUpdate{Folder: "f", IndexID: 9, Files: []proto.FileInfo{r}}})
			e.Step(Tick{Now: e.now + int64(time.Second)})
			var keep *Keep
			n := 0
			for _, op := range e.Ready().Ops {
				switch op := op.(type) {
				case PullOp:
					keep, n = op.Keep, n+1
				case DeleteOp:
					keep, n = op.Keep, n+1
				}
			}
			if n != 1 {
				t.Fatalf("ops %v, want one for f", e.Ready().Ops)
			}
			switch {
			case tc.want == 0 && keep != nil:
				t.Errorf("keep %+v with history off", keep)
			case tc.want != 0 && (keep == nil || keep.Kind != tc.want || !keep.File.Version.Equal(local.Version) || keep.By != tc.remote.ModifiedBy):
				t.Errorf("keep %+v, want kind %d of the local version, by %v", keep, tc.want, tc.remote.ModifiedBy)
			}
		})
	}
}
