package engine

import (
	"slices"
	"testing"
	"time"

	"ferry/proto"
)

func TestTombstonesExpireOnceEveryDeviceHasThem(t *testing.T) {
	const day = 24 * 60 * 60
	now := uint64(1_000_000) // the test engine's clock, in seconds
	gone := func(name string, seq int64, at uint64) proto.FileInfo {
		return proto.FileInfo{Name: name, Deleted: true, Sequence: seq, ModifiedBy: devL.Short(), Version: vec(0x11, at)}
	}
	old, recent, disputed := gone("d/old", 1, now-10*day), gone("recent", 2, now-day), gone("disputed", 3, now-10*day)
	live := proto.FileInfo{Name: "live", Sequence: 4, Version: vec(0x11, 1), Size: 1}
	st := &testStore{
		local: []proto.FileInfo{old, recent, disputed, live},
		remote: map[proto.DeviceID][]proto.FileInfo{
			devP: {old, recent, disputed},
			// devQ is still announcing an older live version of "disputed",
			// and has never heard of "d/old".
			devQ: {{Name: "disputed", Version: vec(0x11, 1), Size: 3, Sequence: 9}},
		},
	}
	e := newTestEngine(t, st)
	cfg := e.cfg
	cfg.TombstoneLifetime = 5 * 24 * time.Hour
	e.Step(ConfigChange{Config: cfg})
	e.Advance()
	e.Step(ScanRequest{})
	rd := e.Ready()
	e.Advance()
	scan := opsOf[ScanOp](rd)
	if len(scan) != 1 {
		t.Fatalf("ops %v", rd.Ops)
	}
	e.Step(ScanResult{Subtree: "", Entries: []Stat{{Name: "live", Size: 1, Mode: 0}}})
	rd = e.Ready()
	if !slices.Equal(rd.Writes.Forget, []string{"d/old"}) {
		t.Fatalf("forgot %q, want only d/old: recent is too young, disputed is not taken in by every device", rd.Writes.Forget)
	}
	if e.files.lookup("d/old") != nil || e.files.lookup("d") != nil {
		t.Error("d/old is still in the table")
	}
	if e.files.local("disputed") == nil || e.files.local("recent") == nil {
		t.Error("a kept tombstone was dropped")
	}
	if err := e.Verify(); err != nil {
		t.Error(err)
	}
	for _, op := range rd.Ops {
		if p, ok := op.(PullOp); ok {
			t.Errorf("pull of %s after the expiry: a forgotten tombstone brought a file back", p.File.Name)
		}
	}
}

func TestUnsharedDeviceRecordsLeave(t *testing.T) {
	f := proto.FileInfo{Name: "a", Size: 5, Version: vec(0x22, 1), Sequence: 1}
	st := &testStore{remote: map[proto.DeviceID][]proto.FileInfo{devP: {f}, devQ: {f}, dev(0x44): {f}}}
	// dev 0x44 is not shared with at all: its records leave at start.
	e, err := New(Config{Folder: "f", Local: devL, Devices: []proto.DeviceID{devP, devQ}}, st, State{IndexID: 7})
	if err != nil {
		t.Fatal(err)
	}
	if rd := e.Ready(); !slices.Equal(rd.Writes.DropRemote, []proto.DeviceID{dev(0x44)}) {
		t.Fatalf("first Ready drops %v, want the unshared device", rd.Writes.DropRemote)
	}
	e.Advance()
	cfg := e.cfg
	cfg.Devices = []proto.DeviceID{devQ}
	e.Step(ConfigChange{Config: cfg})
	rd := e.Ready()
	if !slices.Equal(rd.Writes.DropRemote, []proto.DeviceID{devP}) {
		t.Fatalf("drops %v after unsharing devP", rd.Writes.DropRemote)
	}
	if e.files.remote(devP, "a") != nil {
		t.Error("devP's record is still in memory")
	}
	if _, ok := e.Hello(devP); ok {
		t.Error("the folder still says hello to devP")
	}
	if e.files.remote(devQ, "a") == nil {
		t.Error("devQ's record was dropped too")
	}
}

// Looking for tombstones reads every name, so full scans do it at most
// every few hours: a tombstone that comes of age an hour after a look is
// forgotten by the first full scan after the next look is due.
func TestTombstoneExpiryIsPaced(t *testing.T) {
	const day, hour = 24 * 60 * 60, 60 * 60
	now := uint64(1_000_000)
	gone := proto.FileInfo{Name: "gone", Deleted: true, Sequence: 1, ModifiedBy: devL.Short(), Version: vec(0x11, now-5*day+hour/2)}
	st := &testStore{local: []proto.FileInfo{gone}, remote: map[proto.DeviceID][]proto.FileInfo{devP: {gone}, devQ: {gone}}}
	e := newTestEngine(t, st)
	cfg := e.cfg
	cfg.TombstoneLifetime = 5 * 24 * time.Hour
	e.Step(ConfigChange{Config: cfg})
	e.Advance()
	fullScan := func(at uint64) []string {
		t.Helper()
		e.Step(Tick{Now: int64(at) * 1e9})
		e.Advance()
		e.Step(ScanRequest{})
		e.Advance()
		e.Step(ScanResult{Subtree: ""})
		rd := e.Ready()
		e.Advance()
		return rd.Writes.Forget
	}
	if f := fullScan(now); len(f) != 0 {
		t.Fatalf("forgot %q while the tombstone was young", f)
	}
	if f := fullScan(now + hour); len(f) != 0 {
		t.Fatalf("forgot %q an hour after a look", f)
	}
	if f := fullScan(now + 7*hour); !slices.Equal(f, []string{"gone"}) {
		t.Fatalf("forgot %q once a look was due, want the tombstone", f)
	}
}
