package engine

import (
	"testing"
	"time"

	"ferry/proto"
)

func TestChanged(t *testing.T) {
	file := &proto.FileInfo{Name: "f", Type: proto.FileTypeFile, Size: 10, ModTime: 100, Mode: 0o644, Inode: 5}
	dir := &proto.FileInfo{Name: "d", Type: proto.FileTypeDir, ModTime: 100, Mode: 0o755, Inode: 6}
	link := &proto.FileInfo{Name: "l", Type: proto.FileTypeSymlink, ModTime: 100, Mode: 0o777, Target: "t", Inode: 7}
	gone := &proto.FileInfo{Name: "f", Type: proto.FileTypeFile, Deleted: true}
	noInode := &proto.FileInfo{Name: "f", Type: proto.FileTypeFile, Size: 10, ModTime: 100, Mode: 0o644}
	stat := func(f *proto.FileInfo, change func(*Stat)) Stat {
		st := Stat{Name: f.Name, Type: f.Type, Size: f.Size, ModTime: f.ModTime, Mode: f.Mode, Target: f.Target, Inode: f.Inode}
		if change != nil {
			change(&st)
		}
		return st
	}
	for _, tc := range []struct {
		name string
		l    *proto.FileInfo
		st   Stat
		want bool
	}{
		{"no record", nil, stat(file, nil), true},
		{"deleted record", gone, stat(file, nil), true},
		{"file unchanged", file, stat(file, nil), false},
		{"file size", file, stat(file, func(s *Stat) { s.Size++ }), true},
		{"file mtime", file, stat(file, func(s *Stat) { s.ModTime++ }), true},
		{"file mode", file, stat(file, func(s *Stat) { s.Mode = 0o600 }), true},
		{"file inode", file, stat(file, func(s *Stat) { s.Inode = 9 }), true},
		{"file inode unknown on disk", file, stat(file, func(s *Stat) { s.Inode = 0 }), false},
		{"file inode unknown in index", noInode, stat(file, func(s *Stat) { s.Inode = 9 }), false},
		{"file became dir", file, stat(file, func(s *Stat) { s.Type = proto.FileTypeDir }), true},
		{"dir unchanged", dir, stat(dir, nil), false},
		{"dir mtime is not compared", dir, stat(dir, func(s *Stat) { s.ModTime += 50 }), false},
		{"dir inode is not compared", dir, stat(dir, func(s *Stat) { s.Inode = 9 }), false},
		{"dir mode", dir, stat(dir, func(s *Stat) { s.Mode = 0o700 }), true},
		{"symlink unchanged", link, stat(link, nil), false},
		{"symlink target", link, stat(link, func(s *Stat) { s.Target = "u" }), true},
		// A driver's Expect check compares these too: not noticing them
		// would plan a refused operation again and again.
		{"symlink mtime", link, stat(link, func(s *Stat) { s.ModTime++ }), true},
		{"symlink inode", link, stat(link, func(s *Stat) { s.Inode = 9 }), true},
	} {
		if got := changed(tc.l, tc.st); got != tc.want {
			t.Errorf("%s: changed = %t, want %t", tc.name, got, tc.want)
		}
	}
}

// scanFile feeds a scan that finds one file and its hash to e.
func scanFile(e *Engine, st Stat, blocks []proto.Block) Ready {
	e.Step(ScanRequest{Subtree: st.Name})
	e.Step(ScanResult{Subtree: st.Name, Entries: []Stat{st}})
	e.Step(HashResult{Stat: st, Blocks: blocks})
	return e.Ready()
}

func TestLocalChangeVersions(t *testing.T) {
	blocks := []proto.Block{{Size: 3, Hash: proto.Hash{1}}}
	global := proto.FileInfo{Name: "x", Size: 3, ModTime: 50, Mode: 0o644, Blocks: blocks, Version: vec(0x22, 4), Sequence: 1}
	for _, tc := range []struct {
		name  string
		local []proto.FileInfo
		st    Stat
		want  proto.Vector // nil: no new version
		inode uint64
	}{
		{
			name:  "unchanged content only records a new-found inode",
			local: []proto.FileInfo{{Name: "x", Size: 3, ModTime: 50, Mode: 0o644, Blocks: blocks, Version: vec(0x22, 4)}},
			st:    Stat{Name: "x", Size: 3, ModTime: 50, Mode: 0o644, Inode: 2},
			inode: 2,
		},
		{
			name:  "identical file in place of the recorded one is a new version",
			local: []proto.FileInfo{{Name: "x", Size: 3, ModTime: 50, Mode: 0o644, Blocks: blocks, Version: vec(0x22, 4), Inode: 1}},
			st:    Stat{Name: "x", Size: 3, ModTime: 50, Mode: 0o644, Inode: 2},
			want:  vec(0x11, 1_000_000, 0x22, 4),
		},
		{
			name:  "same content, new mtime is a new version",
			local: []proto.FileInfo{{Name: "x", Size: 3, ModTime: 50, Mode: 0o644, Blocks: blocks, Version: vec(0x22, 4)}},
			st:    Stat{Name: "x", Size: 3, ModTime: 60, Mode: 0o644},
			want:  vec(0x11, 1_000_000, 0x22, 4),
		},
		{
			name: "content of the unseen global version supersedes it",
			st:   Stat{Name: "x", Size: 3, ModTime: 50, Mode: 0o644},
			want: vec(0x11, 1_000_000, 0x22, 4),
		},
		{
			name:  "new content",
			local: []proto.FileInfo{{Name: "x", Size: 3, ModTime: 50, Mode: 0o644, Blocks: blocks, Version: vec(0x22, 4)}},
			st:    Stat{Name: "x", Size: 3, ModTime: 50, Mode: 0o600},
			want:  vec(0x11, 1_000_000, 0x22, 4),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(t, &testStore{local: tc.local, remote: map[proto.DeviceID][]proto.FileInfo{devP: {global}}})
			rd := scanFile(e, tc.st, blocks)
			if len(rd.Writes.Local) != 1 {
				t.Fatalf("local writes %v, want one", rd.Writes.Local)
			}
			got := rd.Writes.Local[0]
			if tc.want == nil {
				if len(rd.Messages) != 0 || got.Inode != tc.inode || !got.Version.Equal(tc.local[0].Version) {
					t.Errorf("wrote %v (inode %d) and %d messages, want only the inode refreshed", got, got.Inode, len(rd.Messages))
				}
				return
			}
			if !got.Version.Equal(tc.want) || got.ModTime != tc.st.ModTime {
				t.Errorf("new version %v mtime %d, want %v mtime %d", got.Version, got.ModTime, tc.want, tc.st.ModTime)
			}
		})
	}
}

// TestScanIntervalChangeTakesEffect: shortening the interval (a folder that
// turned out not to be watchable) must not wait out the old, long period.
func TestScanIntervalChangeTakesEffect(t *testing.T) {
	e, err := New(Config{Folder: "f", Local: devL, Devices: []proto.DeviceID{devP}, ScanInterval: time.Hour}, &testStore{}, State{IndexID: 7})
	if err != nil {
		t.Fatal(err)
	}
	now := int64(1_000_000 * 1e9)
	scansAfter := func(d time.Duration) int {
		now += int64(d)
		e.Step(Tick{Now: now})
		n := len(opsOf[ScanOp](e.Ready()))
		e.Advance()
		return n
	}
	scansAfter(0)
	if n := scansAfter(time.Minute); n != 0 {
		t.Fatalf("%d scans a minute into an hourly interval", n)
	}
	cfg := e.cfg
	cfg.ScanInterval = 10 * time.Second
	e.Step(ConfigChange{Config: cfg})
	e.Advance()
	scansAfter(time.Second) // schedules by the new interval
	if n := scansAfter(11 * time.Second); n != 1 {
		t.Fatalf("%d scans 11 s after the interval became 10 s, want 1", n)
	}
}

// NextWake names the earliest timer the engine set, so that a driver can
// sleep until then.
func TestNextWake(t *testing.T) {
	e, err := New(Config{Folder: "f", Local: devL, Devices: []proto.DeviceID{devP}, ScanInterval: time.Hour}, &testStore{}, State{IndexID: 7})
	if err != nil {
		t.Fatal(err)
	}
	now := int64(1_000_000 * 1e9)
	e.Step(Tick{Now: now})
	e.Advance()
	if got := e.NextWake(); got != now+int64(time.Hour) {
		t.Fatalf("next wake %d, want the periodic scan at %d", got, now+int64(time.Hour))
	}
	// A file still being written is rescanned once it settles: sooner.
	st := Stat{Name: "busy", Type: proto.FileTypeFile, Size: 1, ModTime: 1, Mode: 0o644}
	e.Step(ScanRequest{Subtree: "busy"})
	e.Step(ScanResult{Subtree: "busy", Entries: []Stat{st}})
	e.Step(HashResult{Stat: st, Err: ErrFileChanging})
	e.Advance()
	want := now + int64(e.cfg.RetryAfter)/5
	if got := e.NextWake(); got != want {
		t.Fatalf("next wake %d, want the settle rescan at %d", got, want)
	}
}

// A scan asked for while another runs starts as soon as that one ends, in
// the same step: a driver that sleeps between inputs must not stall it
// (the deletion of a renamed directory's old name would reach peers long
// before its new name).
func TestQueuedScanStartsWhenRunEnds(t *testing.T) {
	e := newTestEngine(t, &testStore{})
	e.Step(ScanRequest{Subtree: "old"})
	if scans := opsOf[ScanOp](e.Ready()); len(scans) != 1 || scans[0].Subtree != "old" {
		t.Fatalf("scans %+v, want old", scans)
	}
	e.Advance()
	e.Step(ScanRequest{Subtree: "new"})
	if scans := opsOf[ScanOp](e.Ready()); len(scans) != 0 {
		t.Fatalf("a second scan started while one runs: %+v", scans)
	}
	e.Step(ScanResult{Subtree: "old"})
	if scans := opsOf[ScanOp](e.Ready()); len(scans) != 1 || scans[0].Subtree != "new" {
		t.Fatalf("after the first run ended: scans %+v, want new at once", scans)
	}
}

// A full scan that took 30 s keeps the next periodic one 270 s away, though
// the interval is 10 s: a large folder that cannot be watched is not
// walked back to back.
func TestPeriodicScansRestAfterASlowOne(t *testing.T) {
	e, err := New(Config{Folder: "f", Local: devL, Devices: []proto.DeviceID{devP}, ScanInterval: 10 * time.Second}, &testStore{}, State{IndexID: 7})
	if err != nil {
		t.Fatal(err)
	}
	now := int64(1_000_000 * 1e9)
	scansAfter := func(d time.Duration) int {
		now += int64(d)
		e.Step(Tick{Now: now})
		n := len(opsOf[ScanOp](e.Ready()))
		e.Advance()
		return n
	}
	scansAfter(0)
	if n := scansAfter(11 * time.Second); n != 1 {
		t.Fatalf("%d scans after the interval, want 1", n)
	}
	scansAfter(30 * time.Second) // the walk takes 30 s
	e.Step(ScanResult{Subtree: ""})
	e.Advance()
	for _, d := range []time.Duration{11 * time.Second, time.Minute, 3 * time.Minute} {
		if n := scansAfter(d); n != 0 {
			t.Fatalf("a periodic scan %v after the last: want it to wait 270 s", d)
		}
	}
	if n := scansAfter(20 * time.Second); n != 1 {
		t.Fatalf("%d scans 281 s after a 30 s scan, want 1", n)
	}
}
