package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/proto"
)

func TestGuardTrips(t *testing.T) {
	def := DefaultGuard
	for _, tc := range []struct {
		name        string
		g           Guard
		gone, total int
		want        bool
	}{
		{"off", Guard{}, 1000, 1000, false},
		{"off, negative", Guard{Files: -1, Percent: -1}, 10, 10, false},
		{"nothing gone", def, 0, 100, false},
		{"nothing gone of nothing", def, 0, 0, false},
		{"below both", def, 49, 100, false},
		{"files reached, percent not", def, 50, 201, false},
		{"both reached", def, 50, 200, true},
		{"percent reached, files not", def, 30, 100, false},
		{"many of many", def, 600, 1000, true},
		{"all of a small folder", def, 3, 3, true},
		{"all of two", def, 2, 2, true},
		{"the one file of a folder", def, 1, 1, false},
		{"files only", Guard{Files: 10}, 10, 1_000_000, true},
		{"files only, below", Guard{Files: 10}, 9, 1_000_000, false},
		{"percent only", Guard{Percent: 10}, 10, 100, true},
		{"percent only, below", Guard{Percent: 10}, 9, 100, false},
	} {
		if got := tc.g.Trips(tc.gone, tc.total); got != tc.want {
			t.Errorf("%s: %+v.Trips(%d, %d) = %t, want %t", tc.name, tc.g, tc.gone, tc.total, got, tc.want)
		}
	}
}

// rig drives one engine over a folder on disk kept as a map: walks and
// hashing are answered from it at once, other operations are collected
// and left to the test.
type rig struct {
	t    *testing.T
	e    *Engine
	disk map[string]onDisk
	skip []Skip // what every walk reports it could not read
}

type onDisk struct {
	st     Stat
	blocks []proto.Block
}

const rigNow = int64(1_000_000 * 1e9)

// fileRecs returns n file records named prefix000, prefix001, ..., each
// with its own content.
func fileRecs(prefix string, n int) []proto.FileInfo {
	out := make([]proto.FileInfo, n)
	for i := range out {
		out[i] = fileRec(fmt.Sprintf("%s%03d", prefix, i))
	}
	return out
}

// fileRec returns the record of a local file whose content is its name.
func fileRec(name string) proto.FileInfo {
	var h proto.Hash
	copy(h[:], name)
	return proto.FileInfo{
		Name: name, Size: 10, ModTime: 100, Mode: 0o644, Blocks: []proto.Block{{Size: 10, Hash: h}},
		Version: vec(0x11, 1), ModifiedBy: devL.Short(),
	}
}

func dirRec(name string) proto.FileInfo {
	return proto.FileInfo{Name: name, Type: proto.FileTypeDir, ModTime: 100, Mode: 0o755, Version: vec(0x11, 1), ModifiedBy: devL.Short()}
}

func statOf(f proto.FileInfo) Stat {
	return Stat{Name: f.Name, Type: f.Type, Size: f.Size, ModTime: f.ModTime, Mode: f.Mode, Target: f.Target, Inode: f.Inode, Mount: f.Mount}
}

// newRig starts an engine for devL with guard g over the local records,
// numbered in order, all on disk, and connects devP, which announced
// peer. Everything the start produced is taken.
func newRig(t *testing.T, g Guard, local, peer []proto.FileInfo) *rig {
	t.Helper()
	cfg := Config{Folder: "f", Local: devL, Devices: []proto.DeviceID{devP, devQ}, Guard: g, MaxPulls: 1000}
	return newRigConfig(t, cfg, local, peer)
}

// newRigConfig is newRig with the engine's whole configuration.
func newRigConfig(t *testing.T, cfg Config, local, peer []proto.FileInfo) *rig {
	t.Helper()
	r := &rig{t: t, disk: make(map[string]onDisk)}
	local = slices.Clone(local)
	for i := range local {
		local[i].Sequence, local[i].Inode = int64(i+1), uint64(i+1)
		r.disk[local[i].Name] = onDisk{st: statOf(local[i]), blocks: local[i].Blocks}
	}
	peer = slices.Clone(peer)
	for i := range peer {
		peer[i].Sequence = int64(i + 1)
	}
	st := &testStore{local: local, remote: map[proto.DeviceID][]proto.FileInfo{devP: peer}}
	state := State{IndexID: 7, LastSequence: int64(len(local)), Peers: map[proto.DeviceID]PeerIndex{devP: {IndexID: 9, Sequence: int64(len(peer))}}}
	e, err := New(cfg, st, state)
	if err != nil {
		t.Fatal(err)
	}
	r.e = e
	r.step(Tick{Now: rigNow})
	r.step(PeerUp{Device: devP, Hello: proto.FolderHello{ID: "f", IndexID: 9, SeenIndexID: 7, SeenSequence: int64(len(local))}})
	return r
}

// step feeds in, answers the walks and hash jobs that follow, and returns
// everything else the engine handed out meanwhile.
func (r *rig) step(in Input) Ready {
	r.t.Helper()
	r.e.Step(in)
	var acc Ready
	for range 1000 {
		if !r.e.HasReady() {
			return acc
		}
		rd := r.e.Ready()
		r.e.Advance()
		acc.Writes.Local = append(acc.Writes.Local, rd.Writes.Local...)
		acc.Messages = append(acc.Messages, rd.Messages...)
		acc.Events = append(acc.Events, rd.Events...)
		for _, op := range rd.Ops {
			switch op := op.(type) {
			case ScanOp:
				r.e.Step(r.walk(op.Subtree))
			case HashOp:
				r.e.Step(r.hash(op.Stat))
			default:
				acc.Ops = append(acc.Ops, op)
			}
		}
	}
	r.t.Fatal("the engine never ran out of work")
	return acc
}

// scan runs a scan of the whole folder.
func (r *rig) scan() Ready { r.t.Helper(); return r.step(ScanRequest{}) }

func (r *rig) walk(subtree string) ScanResult {
	res := ScanResult{Subtree: subtree}
	for _, sk := range r.skip {
		if covers(subtree, sk.Name) {
			res.Skipped = append(res.Skipped, sk)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.disk)) {
		unread := slices.ContainsFunc(res.Skipped, func(sk Skip) bool { return covers(sk.Name, name) })
		if covers(subtree, name) && !unread {
			res.Entries = append(res.Entries, r.disk[name].st)
		}
	}
	return res
}

func (r *rig) hash(st Stat) HashResult {
	d, ok := r.disk[st.Name]
	if !ok {
		return HashResult{Stat: st, Err: errors.New("gone")}
	}
	return HashResult{Stat: d.st, Blocks: d.blocks}
}

func (r *rig) remove(names ...string) {
	for _, name := range names {
		delete(r.disk, name)
	}
}

// rename moves a file on disk, keeping its inode and content.
func (r *rig) rename(from, to string) {
	d := r.disk[from]
	delete(r.disk, from)
	d.st.Name = to
	r.disk[to] = d
}

// rewrite gives the file name new content of the same size.
func (r *rig) rewrite(name string) {
	d := r.disk[name]
	d.st.ModTime++
	var h proto.Hash
	copy(h[:], "new "+name)
	d.blocks = []proto.Block{{Size: int32(d.st.Size), Hash: h}}
	r.disk[name] = d
}

// live reports whether the local record of name is a live one.
func (r *rig) live(name string) bool {
	l := r.e.files.local(name)
	return l != nil && !l.Deleted
}

// deletedIn returns the names of the local deletion records rd writes.
func deletedIn(rd Ready) []string {
	var out []string
	for _, f := range rd.Writes.Local {
		if f.Deleted {
			out = append(out, f.Name)
		}
	}
	slices.Sort(out)
	return out
}

// announced returns the records rd sends to dev whose deletion flag is
// deleted.
func announced(rd Ready, dev proto.DeviceID, deleted bool) []proto.FileInfo {
	var out []proto.FileInfo
	for _, m := range rd.Messages {
		if u, ok := m.Msg.(*proto.IndexUpdate); ok && m.To == dev {
			for _, f := range u.Files {
				if f.Deleted == deleted {
					out = append(out, f)
				}
			}
		}
	}
	return out
}

func namesOf(files []proto.FileInfo) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Name)
	}
	slices.Sort(out)
	return out
}

func eventsOf[T Event](rd Ready) []T {
	var out []T
	for _, ev := range rd.Events {
		if e, ok := ev.(T); ok {
			out = append(out, e)
		}
	}
	return out
}

// everyFifthKept returns the names of files, but every fifth: 80 of 100,
// not a prefix of them in name order.
func everyFifthKept(files []proto.FileInfo) []string {
	var out []string
	for i, f := range files {
		if i%5 != 2 {
			out = append(out, f.Name)
		}
	}
	return out
}

func TestMassDeleteHeld(t *testing.T) {
	files := fileRecs("f", 100)
	r := newRig(t, DefaultGuard, files, nil)
	gone := everyFifthKept(files)
	r.remove(gone...)
	rd := r.scan()
	if d := deletedIn(rd); len(d) != 0 {
		t.Fatalf("recorded %d deletions the guard should hold: %v", len(d), d)
	}
	if a := announced(rd, devP, true); len(a) != 0 {
		t.Fatalf("announced %d deletions the guard should hold", len(a))
	}
	if ev := eventsOf[HeldEvent](rd); len(ev) != 1 || ev[0] != (HeldEvent{Local: 80}) {
		t.Errorf("events %+v, want one HeldEvent of 80 local files", rd.Events)
	}
	for _, name := range gone {
		if !r.live(name) {
			t.Fatalf("%s: local record %+v, want it kept live", name, r.e.files.local(name))
		}
	}
	st := r.e.Status()
	if st.State != "held" || st.InSync || st.HeldLocal != 80 || st.HeldRemote != 0 || st.LocalFiles != 100 {
		t.Errorf("status %+v, want held with 80 local files held, 100 still counted", st)
	}
	if want := gone[:maxSample]; !slices.Equal(st.HeldSample, want) {
		t.Errorf("held sample %v, want the first %d names in order %v", st.HeldSample, maxSample, want)
	}

	// While something is held, any further deletion is held with it, even
	// one too small to trip the guard by itself...
	r.remove("f002")
	rd = r.scan()
	if d := deletedIn(rd); len(d) != 0 {
		t.Fatalf("recorded deletions %v while the guard holds others", d)
	}
	if st := r.e.Status(); st.HeldLocal != 81 {
		t.Errorf("held %d after one more file went, want 81", st.HeldLocal)
	}
	// ... also when a scan of just that file finds it gone.
	r.remove("f007")
	if d := deletedIn(r.step(ScanRequest{Subtree: "f007"})); len(d) != 0 {
		t.Fatalf("a scan of f007 recorded deletions %v while the guard holds others", d)
	}
	if st := r.e.Status(); st.HeldLocal != 82 {
		t.Errorf("held %d after f007 went, want 82", st.HeldLocal)
	}
	// ... and a file that comes back is no longer held.
	r.disk["f001"] = onDisk{st: statOf(r.e.files.local("f001").Clone()), blocks: files[1].Blocks}
	rd = r.scan()
	if len(rd.Writes.Local) != 0 || len(rd.Messages) != 0 {
		t.Errorf("a file back as it was wrote %v and sent %d messages", rd.Writes.Local, len(rd.Messages))
	}
	if st := r.e.Status(); st.HeldLocal != 81 || slices.Contains(st.HeldSample, "f001") {
		t.Errorf("status %+v after f001 came back, want 81 held without it", st)
	}
}

// A folder whose every file went is held however small it is.
func TestAllFilesGoneHeld(t *testing.T) {
	r := newRig(t, DefaultGuard, fileRecs("f", 3), nil)
	r.remove("f000", "f001", "f002")
	if d := deletedIn(r.scan()); len(d) != 0 {
		t.Fatalf("recorded deletions %v of every file", d)
	}
	if st := r.e.Status(); st.HeldLocal != 3 || st.State != "held" {
		t.Errorf("status %+v, want 3 held", st)
	}
}

func TestFewDeletesGoOut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files int
		gone  int
	}{
		{"below the files threshold", 100, 49},
		{"below the percentage", 400, 99},
		{"the one file of a folder", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := fileRecs("f", tc.files)
			r := newRig(t, DefaultGuard, append(files, dirRec("d")), nil)
			var gone []string
			for _, f := range files[:tc.gone] {
				gone = append(gone, f.Name)
			}
			r.remove(gone...)
			rd := r.scan()
			if d := deletedIn(rd); !slices.Equal(d, gone) {
				t.Fatalf("recorded deletions %v, want %v", d, gone)
			}
			if a := namesOf(announced(rd, devP, true)); !slices.Equal(a, gone) {
				t.Errorf("announced deletions %v, want %v", a, gone)
			}
			for _, f := range announced(rd, devP, true) {
				if f.Confirmed {
					t.Errorf("%s: a deletion no one confirmed is announced as Confirmed", f.Name)
				}
			}
			if st := r.e.Status(); st.State != "idle" || st.HeldLocal != 0 || len(eventsOf[HeldEvent](rd)) != 0 {
				t.Errorf("status %+v, events %+v: want idle, nothing held", st, rd.Events)
			}
		})
	}
}

// Files moved to new names are not lost: a mass rename is not held, and
// the moved ones do not count with files really gone at the same time.
func TestMassRenameNotHeld(t *testing.T) {
	for _, tc := range []struct {
		name          string
		moved, gone   int
		held          bool
		wantDeletions int
	}{
		{"every file moved", 100, 0, false, 100},
		{"moves and a few deletions", 40, 40, false, 80},
		{"moves and a mass deletion", 20, 60, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := fileRecs("f", 100)
			r := newRig(t, DefaultGuard, files, nil)
			for _, f := range files[:tc.moved] {
				r.rename(f.Name, "moved/"+f.Name)
			}
			for _, f := range files[tc.moved : tc.moved+tc.gone] {
				r.remove(f.Name)
			}
			rd := r.scan()
			if d := deletedIn(rd); len(d) != tc.wantDeletions {
				t.Errorf("recorded %d deletions, want %d", len(d), tc.wantDeletions)
			}
			st := r.e.Status()
			if held := st.HeldLocal > 0; held != tc.held {
				t.Errorf("status %+v, want held %t", st, tc.held)
			}
			if tc.held && st.HeldLocal != tc.moved+tc.gone {
				// Held once tripped: the moved names' deletions wait
				// with the rest.
				t.Errorf("held %d, want %d", st.HeldLocal, tc.moved+tc.gone)
			}
			if got := len(announced(rd, devP, false)); got != tc.moved {
				t.Errorf("announced %d new names, want %d", got, tc.moved)
			}
		})
	}
}

func TestConfirmDeletesRecordsHeld(t *testing.T) {
	files := fileRecs("f", 100)
	r := newRig(t, DefaultGuard, files, nil)
	gone := everyFifthKept(files)
	r.remove(gone...)
	r.scan()
	rd := r.step(ConfirmDeletes{})
	if d := deletedIn(rd); !slices.Equal(d, gone) {
		t.Fatalf("confirm recorded deletions %v, want the %d held", d, len(gone))
	}
	if a := namesOf(announced(rd, devP, true)); !slices.Equal(a, gone) {
		t.Errorf("confirm announced deletions of %d files, want %d", len(a), len(gone))
	}
	for _, f := range announced(rd, devP, true) {
		if !f.Confirmed {
			t.Errorf("%s: deletion announced without Confirmed", f.Name)
			break
		}
	}
	for _, name := range gone {
		if r.live(name) {
			t.Fatalf("%s still live after confirm", name)
		}
	}
	if st := r.e.Status(); st.State != "idle" || st.HeldLocal != 0 || !st.InSync || st.LocalFiles != 20 {
		t.Errorf("status %+v after confirm, want idle, 20 files", st)
	}
	// Nothing is held any more: a few deletions go out, and the next mass
	// deletion trips again.
	r.remove("f002", "f007", "f012")
	if got := deletedIn(r.scan()); !slices.Equal(got, []string{"f002", "f007", "f012"}) {
		t.Errorf("recorded deletions %v, want f002 f007 f012", got)
	}
	var rest []string
	for name := range r.disk {
		rest = append(rest, name)
	}
	r.remove(rest...)
	if got := deletedIn(r.scan()); len(got) != 0 {
		t.Errorf("recorded deletions %v of every file left", got)
	}
	if st := r.e.Status(); st.HeldLocal != 17 {
		t.Errorf("held %d of the folder's last 17 files", st.HeldLocal)
	}
}

func TestRevertDeletesPullsBack(t *testing.T) {
	files := fileRecs("f", 100)
	// devP has every file as it is here.
	r := newRig(t, DefaultGuard, files, files)
	gone := everyFifthKept(files)
	r.remove(gone...)
	r.scan()
	rd := r.step(RevertDeletes{})
	if len(rd.Writes.Local) != 0 || len(announced(rd, devP, true)) != 0 {
		t.Fatalf("revert wrote %v, want nothing until the files are back", rd.Writes.Local)
	}
	pulls := opsOf[PullOp](rd)
	var names []string
	for _, p := range pulls {
		names = append(names, p.File.Name)
		if !p.Expect.Absent || !slices.Contains(p.Peers, devP) || p.File.Deleted {
			t.Errorf("pull %+v, want the file from devP where nothing is", p)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, gone) {
		t.Fatalf("revert pulls %v, want the %d held files", names, len(gone))
	}
	if st := r.e.Status(); st.HeldLocal != 0 || st.NeedFiles != len(gone) {
		t.Errorf("status %+v after revert, want nothing held, %d needed", st, len(gone))
	}
	// The pulls succeed: each file is back and nothing more is asked.
	var more Ready
	for _, p := range pulls {
		f := p.File
		f.Inode = uint64(1000 + len(r.disk))
		r.disk[f.Name] = onDisk{st: statOf(f), blocks: f.Blocks}
		rd := r.step(OpResult{Name: f.Name, Version: f.Version, Stat: statOf(f)})
		more.Ops = append(more.Ops, rd.Ops...)
	}
	more.Ops = append(more.Ops, r.step(Tick{Now: rigNow + int64(time.Minute)}).Ops...)
	if len(more.Ops) != 0 {
		t.Fatalf("after every file came back: %d more operations, first %+v", len(more.Ops), more.Ops[0])
	}
	if rd := r.scan(); len(deletedIn(rd)) != 0 || len(r.e.Status().Errors) != 0 {
		t.Errorf("a scan after the revert wrote %v, status %+v", rd.Writes.Local, r.e.Status())
	}
	if st := r.e.Status(); st.State != "idle" || !st.InSync || st.NeedFiles != 0 || st.LocalFiles != 100 {
		t.Errorf("status %+v after the files came back, want idle with 100 files", st)
	}
}

// A reverted file the user puts back before it is pulled is not pulled
// again and again: the pull finds the name taken and a scan finds the file
// as its record says.
func TestRevertedFileBackBeforePull(t *testing.T) {
	files := fileRecs("f", 100)
	r := newRig(t, DefaultGuard, files, files)
	gone := everyFifthKept(files)
	saved := maps.Clone(r.disk)
	r.remove(gone...)
	r.scan()
	pulls := opsOf[PullOp](r.step(RevertDeletes{}))
	if len(pulls) != len(gone) {
		t.Fatalf("revert pulls %d files, want %d", len(pulls), len(gone))
	}
	maps.Copy(r.disk, saved) // moved back, inodes and times as they were
	var more []PullOp
	for _, p := range pulls {
		rd := r.step(OpResult{Name: p.File.Name, Version: p.File.Version, Changed: true, Err: errors.New("changed")})
		more = append(more, opsOf[PullOp](rd)...)
	}
	more = append(more, opsOf[PullOp](r.later(time.Minute))...)
	if len(more) != 0 {
		t.Fatalf("%d pulls again of files back as recorded, first %+v", len(more), more[0])
	}
	if st := r.e.Status(); st.State != "idle" || st.NeedFiles != 0 || st.LocalFiles != 100 {
		t.Errorf("status %+v, want idle with 100 files", st)
	}
}

func TestGuardOffNeverHolds(t *testing.T) {
	files := fileRecs("f", 100)
	r := newRig(t, Guard{}, files, nil)
	var gone []string
	for _, f := range files {
		gone = append(gone, f.Name)
	}
	r.remove(gone...)
	rd := r.scan()
	if d := deletedIn(rd); !slices.Equal(d, gone) {
		t.Fatalf("guard off recorded %d deletions, want all %d", len(d), len(gone))
	}
	if st := r.e.Status(); st.HeldLocal != 0 || st.State != "idle" {
		t.Errorf("status %+v with the guard off, want idle", st)
	}
}

func TestUnreadSubtreeKept(t *testing.T) {
	local := append([]proto.FileInfo{dirRec("sub")}, fileRecs("sub/f", 3)...)
	local = append(local, fileRec("top"), fileRec("other"))
	// The guard is off: only the skip keeps the unread files.
	r := newRig(t, Guard{}, local, nil)
	r.skip = []Skip{{Name: "sub", Err: errors.New("permission denied")}}
	r.remove("top")
	rd := r.scan()
	if d := deletedIn(rd); !slices.Equal(d, []string{"top"}) {
		t.Fatalf("recorded deletions %v, want only top: nothing at or under sub", d)
	}
	for _, name := range []string{"sub", "sub/f000", "sub/f001", "sub/f002"} {
		if !r.live(name) {
			t.Errorf("%s lost its record though it was not read", name)
		}
	}
	wantErr := "sub: not read, kept as it was: permission denied"
	if st := r.e.Status(); !slices.Equal(st.Errors, []string{wantErr}) || st.State != "error" {
		t.Errorf("status %+v, want the error %q", st, wantErr)
	}
	// A scan of elsewhere leaves it; one that covers sub and reads it
	// clears it.
	r.skip = nil
	r.step(ScanRequest{Subtree: "other"})
	if st := r.e.Status(); !slices.Equal(st.Errors, []string{wantErr}) {
		t.Errorf("errors %q after a scan of other, want %q kept", st.Errors, wantErr)
	}
	rd = r.scan()
	if len(rd.Writes.Local) != 0 {
		t.Errorf("reading sub again wrote %v", rd.Writes.Local)
	}
	if st := r.e.Status(); len(st.Errors) != 0 || st.State != "idle" {
		t.Errorf("status %+v once sub was read, want idle without errors", st)
	}
	// A skip under a subtree scan is cleared by the next scan of it.
	r.skip = []Skip{{Name: "sub/f001", Err: errors.New("i/o error")}}
	r.step(ScanRequest{Subtree: "sub"})
	if st := r.e.Status(); len(st.Errors) != 1 || !strings.HasPrefix(st.Errors[0], "sub/f001: not read") {
		t.Errorf("errors %q, want sub/f001 not read", st.Errors)
	}
	r.skip = nil
	r.step(ScanRequest{Subtree: "sub"})
	if st := r.e.Status(); len(st.Errors) != 0 {
		t.Errorf("errors %q after sub was read, want none", st.Errors)
	}
}

// A special file (a socket, a fifo) is left out on purpose: it is worth a
// line only where a live record says a file was, and that record stays.
func TestSpecialSkip(t *testing.T) {
	deleted := fileRec("was-deleted")
	deleted.Deleted, deleted.Blocks, deleted.Size = true, nil, 0
	r := newRig(t, Guard{}, []proto.FileInfo{fileRec("was-file"), fileRec("plain"), deleted}, nil)
	special := errors.New("special file")
	r.remove("was-file", "was-deleted")
	r.skip = []Skip{
		{Name: "fifo", Err: special, Special: true},
		{Name: "was-deleted", Err: special, Special: true},
		{Name: "was-file", Err: special, Special: true},
	}
	rd := r.scan()
	if len(deletedIn(rd)) != 0 || !r.live("was-file") {
		t.Errorf("wrote %v, want the record of was-file kept", rd.Writes.Local)
	}
	want := []string{"was-file: not read, kept as it was: special file"}
	if st := r.e.Status(); !slices.Equal(st.Errors, want) {
		t.Errorf("errors %q, want %q", st.Errors, want)
	}
}

func TestMountChangeHolds(t *testing.T) {
	mnt := dirRec("mnt")
	mnt.Mount = true
	local := append([]proto.FileInfo{mnt, dirRec("mnt/sub")}, fileRecs("mnt/sub/f", 2)...)
	local = append(local, fileRecs("f", 100)...)
	r := newRig(t, DefaultGuard, local, nil)
	// The disk is unmounted: the mount point is an empty directory on the
	// folder's own file system.
	r.remove("mnt/sub", "mnt/sub/f000", "mnt/sub/f001")
	d := r.disk["mnt"]
	d.st.Mount = false
	r.disk["mnt"] = d
	r.remove("f000") // gone as usual
	rd := r.scan()
	if got := deletedIn(rd); !slices.Equal(got, []string{"f000"}) {
		t.Fatalf("recorded deletions %v, want only f000", got)
	}
	if l := r.e.files.local("mnt"); !l.Mount {
		t.Errorf("mnt record %+v lost its mount flag while names under it are held", l)
	}
	st := r.e.Status()
	want := []string{"mnt/sub", "mnt/sub/f000", "mnt/sub/f001"}
	if st.State != "held" || st.HeldLocal != 3 || !slices.Equal(st.HeldSample, want) {
		t.Errorf("status %+v, want the 3 names under mnt held", st)
	}
	if ev := eventsOf[HeldEvent](rd); len(ev) != 1 || ev[0].Local != 3 {
		t.Errorf("events %+v, want a HeldEvent of 3", rd.Events)
	}
	// What a mount change holds does not hold deletions elsewhere, which
	// the guard judges as usual.
	r.remove("f001")
	if got := deletedIn(r.scan()); !slices.Equal(got, []string{"f001"}) {
		t.Errorf("recorded deletions %v, want f001 although a mount change is held", got)
	}
	if st := r.e.Status(); st.HeldLocal != 3 {
		t.Errorf("held %d, want the 3 under mnt", st.HeldLocal)
	}
	rd = r.step(ConfirmDeletes{})
	if got := deletedIn(rd); !slices.Equal(got, []string{"mnt/sub", "mnt/sub/f000", "mnt/sub/f001"}) {
		t.Errorf("confirm recorded deletions %v", got)
	}
	if l := r.e.files.local("mnt"); l.Mount || l.Deleted {
		t.Errorf("mnt record %+v after confirm, want live on the folder's file system", l)
	}
	if st := r.e.Status(); st.HeldLocal != 0 || st.State != "idle" {
		t.Errorf("status %+v after confirm, want idle", st)
	}
	// The next scan finds the mount point as recorded.
	if rd := r.scan(); len(rd.Writes.Local) != 0 || r.e.Status().HeldLocal != 0 {
		t.Errorf("a scan after confirm wrote %v, status %+v", rd.Writes.Local, r.e.Status())
	}
}

func TestMassChangeFlag(t *testing.T) {
	files := fileRecs("f", 100)
	r := newRig(t, DefaultGuard, files, nil)
	for _, f := range files[:10] {
		r.rewrite(f.Name)
	}
	rd := r.scan()
	if st := r.e.Status(); st.MassChange != 0 || len(eventsOf[MassChangeEvent](rd)) != 0 {
		t.Fatalf("10 rewritten files flagged: %+v", st)
	}
	for _, f := range files[10:70] {
		r.rewrite(f.Name)
	}
	rd = r.scan()
	if ev := eventsOf[MassChangeEvent](rd); len(ev) != 1 || ev[0].Files != 60 {
		t.Errorf("events %+v, want MassChangeEvent of 60", rd.Events)
	}
	// The changes are not held back.
	if got := len(announced(rd, devP, false)); got != 60 {
		t.Errorf("announced %d changed files, want 60", got)
	}
	st := r.e.Status()
	if st.MassChange != 60 || st.HeldLocal != 0 || st.State != "idle" {
		t.Errorf("status %+v, want MassChange 60, not held", st)
	}
	r.step(Acknowledge{})
	if st := r.e.Status(); st.MassChange != 0 {
		t.Errorf("MassChange %d after Acknowledge, want 0", st.MassChange)
	}
}

// gonePeer returns devP's deletion of f, superseding the version here.
func gonePeer(f proto.FileInfo) proto.FileInfo {
	return proto.FileInfo{Name: f.Name, Deleted: true, ModTime: f.ModTime, Mode: f.Mode, Version: f.Version.Update(devP.Short(), 2), ModifiedBy: devP.Short()}
}

// receive feeds devP's records to r's engine.
func (r *rig) receive(files ...proto.FileInfo) Ready {
	r.t.Helper()
	files = slices.Clone(files)
	seq := r.e.peers[devP].index.Sequence
	for i := range files {
		files[i].Sequence = seq + int64(i+1)
	}
	return r.step(Received{From: devP, Update: &proto.IndexUpdate{Folder: "f", IndexID: 9, Files: files}})
}

// later moves r's clock past the delay of deletions and returns what the
// engine handed out.
func (r *rig) later(d time.Duration) Ready {
	r.t.Helper()
	r.e.now += int64(d)
	return r.step(Tick{Now: r.e.now})
}

func deleteNames(rd Ready) []string {
	var out []string
	for _, op := range opsOf[DeleteOp](rd) {
		out = append(out, op.File.Name)
	}
	slices.Sort(out)
	return out
}
