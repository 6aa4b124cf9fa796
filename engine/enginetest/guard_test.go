package enginetest

import (
	"fmt"
	"slices"
	"testing"

	"ferry/engine"
)

// guardOn returns a Config option that turns the default mass-delete
// guard on for the devices given; the others have it off.
func guardOn(devs ...int) func(*engine.Config) {
	return func(c *engine.Config) {
		for _, i := range devs {
			if c.Local == deviceID(i) {
				c.Guard = engine.DefaultGuard
			}
		}
	}
}

// guardTree is a folder of 100 files, 80 of them under docs.
func guardTree() map[string][]byte {
	tree := make(map[string][]byte)
	for i := range 80 {
		tree[fmt.Sprintf("docs/%02d.txt", i)] = content(fmt.Sprintf("doc%d", i), 1+i*397%(3*BlockSize))
	}
	for i := range 20 {
		tree[fmt.Sprintf("keep/%02d.txt", i)] = content(fmt.Sprintf("keep%d", i), 10+i)
	}
	return tree
}

// newGuardSim starts a simulation whose devices all hold guardTree, made
// on A.
func newGuardSim(t *testing.T, devices int, seed uint64, guard ...int) (*Sim, map[string][]byte) {
	t.Helper()
	s := newSim(t, Options{Devices: devices, Seed: seed, Config: guardOn(guard...)})
	tree := guardTree()
	for name, data := range tree {
		must(t, s.Write(devA, name, data))
	}
	s.Scan(devA)
	settle(t, s)
	return s, tree
}

// quiet runs s until nothing happens, without asking for convergence: a
// device that holds deletions is not in sync, on purpose.
func quiet(t *testing.T, s *Sim) {
	t.Helper()
	if err := s.RunUntilQuiet(maxSteps); err != nil {
		t.Fatalf("%v\ntrace:\n%s", err, tail(s.Trace(), 200))
	}
}

// decide steps the user's ConfirmDeletes or RevertDeletes into device i.
func decide(s *Sim, i int, in engine.Input) {
	s.logf("%s user %T", s.Dev(i).Name, in)
	s.Dev(i).Engine().Step(in)
}

// wantTreeOn fails unless device i holds every file of tree, byte-exact.
func wantTreeOn(t *testing.T, s *Sim, i int, tree map[string][]byte) {
	t.Helper()
	missing := 0
	for name, data := range tree {
		if got, ok := s.Dev(i).FS.ReadFile(name); !ok || string(got) != string(data) {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%s: %d of %d files missing or changed", s.Dev(i).Name, missing, len(tree))
	}
}

// wantHeld fails unless device i's status is held with local and remote
// deletions held.
func wantHeld(t *testing.T, s *Sim, i int, local, remote int) {
	t.Helper()
	st := s.Dev(i).Engine().Status()
	if st.State != "held" || st.InSync || st.HeldLocal != local || st.HeldRemote != remote {
		t.Errorf("%s: status %+v, want held with %d local and %d remote deletions", s.Dev(i).Name, st, local, remote)
	}
}

// heldEvents counts the HeldEvents device i reported.
func heldEvents(s *Sim, i int) int {
	n := 0
	for _, ev := range s.Dev(i).Events() {
		if _, ok := ev.(engine.HeldEvent); ok {
			n++
		}
	}
	return n
}

// wantAnnouncedLive fails unless device i's stored records of device
// from's names are all live.
func wantAnnouncedLive(t *testing.T, s *Sim, i, from int, names []string) {
	t.Helper()
	for _, name := range names {
		if f, ok := s.Dev(i).Store.Remote(s.Dev(from).ID, name); ok && f.Deleted {
			t.Errorf("%s: %s announced %s deleted", s.Dev(i).Name, s.Dev(from).Name, name)
			return
		}
	}
}

func docNames(tree map[string][]byte) []string {
	var out []string
	for name := range tree {
		if len(name) > 5 && name[:5] == "docs/" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// 80 of 100 files deleted on A: A holds the deletions, announces none of
// them, and keeps holding across a restart; once confirmed, they go out,
// and the guards of B and C let deletions confirmed on A through.
func TestGuardLocalConfirm(t *testing.T) {
	s, tree := newGuardSim(t, 3, 41, devA, devB, devC)
	must(t, s.Remove(devA, "docs"))
	s.Scan(devA)
	quiet(t, s)
	wantHeld(t, s, devA, 81, 0) // the 80 files and docs itself
	if heldEvents(s, devA) == 0 {
		t.Errorf("A reported no HeldEvent")
	}
	for _, i := range []int{devB, devC} {
		wantTreeOn(t, s, i, tree)
		wantAnnouncedLive(t, s, i, devA, docNames(tree))
	}

	// Held deletions are not recorded: a restart finds them again.
	s.Crash(devA)
	must(t, s.Restart(devA))
	quiet(t, s)
	wantHeld(t, s, devA, 81, 0)
	for _, i := range []int{devB, devC} {
		wantTreeOn(t, s, i, tree)
	}

	decide(s, devA, engine.ConfirmDeletes{})
	settle(t, s)
	for _, name := range append(docNames(tree), "docs") {
		wantAbsent(t, s, name)
	}
	for name, data := range tree {
		if name[:5] == "keep/" {
			wantFile(t, s, name, data)
		}
	}
	for i := range 3 {
		if st := s.Dev(i).Engine().Status(); st.HeldLocal+st.HeldRemote != 0 || st.LocalFiles != 21 {
			t.Errorf("%s: status %+v, want nothing held and 21 entries", s.Dev(i).Name, st)
		}
	}
}

// RevertDeletes on A pulls every vanished file back, byte-exact, and
// every device ends as it began.
func TestGuardLocalRevert(t *testing.T) {
	s, tree := newGuardSim(t, 3, 42, devA, devB, devC)
	must(t, s.Remove(devA, "docs"))
	s.Scan(devA)
	quiet(t, s)
	wantHeld(t, s, devA, 81, 0)
	for _, i := range []int{devB, devC} {
		wantTreeOn(t, s, i, tree)
		if st := s.Dev(i).Engine().Status(); st.HeldRemote != 0 {
			t.Errorf("%s: holds %d remote deletions, want none announced", s.Dev(i).Name, st.HeldRemote)
		}
	}

	decide(s, devA, engine.RevertDeletes{})
	settle(t, s)
	for name, data := range tree {
		wantFile(t, s, name, data)
	}
	for i := range 3 {
		if c := conflictCopies(s, i); len(c) > 0 {
			t.Errorf("%s: conflict copies %v", s.Dev(i).Name, c)
		}
	}
	// A second scan finds nothing to do.
	s.ScanAll()
	settle(t, s)
}

// A, without the guard, deletes 80 of 100 files; B, with it, holds the
// deletions and keeps its files, while C, without it, deletes them. B then
// reverts (the files come back everywhere) or confirms (they go there too).
func TestGuardPeerHolds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		decide engine.Input
	}{
		{"revert", engine.RevertDeletes{}},
		{"confirm", engine.ConfirmDeletes{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, tree := newGuardSim(t, 3, 43, devB)
			must(t, s.Remove(devA, "docs"))
			s.Scan(devA)
			quiet(t, s)
			wantHeld(t, s, devB, 0, 81)
			wantTreeOn(t, s, devB, tree)
			if heldEvents(s, devB) == 0 {
				t.Errorf("B reported no HeldEvent")
			}
			for _, name := range docNames(tree) {
				wantAbsentOn(t, s, devA, name)
				wantAbsentOn(t, s, devC, name)
			}
			for _, i := range []int{devA, devC} {
				if st := s.Dev(i).Engine().Status(); !st.InSync {
					t.Errorf("%s: status %+v, want in sync", s.Dev(i).Name, st)
				}
			}

			decide(s, devB, tc.decide)
			settle(t, s)
			for name, data := range tree {
				if _, revert := tc.decide.(engine.RevertDeletes); revert || name[:5] == "keep/" {
					wantFile(t, s, name, data)
				} else {
					wantAbsent(t, s, name)
				}
			}
			for i := range 3 {
				if c := conflictCopies(s, i); len(c) > 0 {
					t.Errorf("%s: conflict copies %v", s.Dev(i).Name, c)
				}
			}
		})
	}
}

// A directory of 80 of the folder's 100 files moved elsewhere loses no
// file: neither A, which scanned it, nor its peers hold anything.
func TestGuardDirectoryRenameNotHeld(t *testing.T) {
	s, tree := newGuardSim(t, 3, 44, devA, devB, devC)
	before := s.BlockBytes()
	must(t, s.Rename(devA, "docs", "archive/docs"))
	s.Scan(devA)
	settle(t, s)
	for name, data := range tree {
		if name[:5] == "docs/" {
			wantFile(t, s, "archive/"+name, data)
			wantAbsent(t, s, name)
		} else {
			wantFile(t, s, name, data)
		}
	}
	wantAbsent(t, s, "docs")
	for i := range 3 {
		if n := heldEvents(s, i); n != 0 {
			t.Errorf("%s: %d HeldEvents for a rename", s.Dev(i).Name, n)
		}
	}
	if moved := s.BlockBytes() - before; moved != 0 {
		t.Errorf("the rename moved %d block bytes, want 0", moved)
	}
}

// B, made send-only, keeps the 80 files A deletes. Made send-receive
// again, B recomputes every name two at a time while its commits lag
// (see Options), and its guard still judges the deletions all together:
// it holds every one and removes nothing.
func TestGuardJudgesASweepWhole(t *testing.T) {
	s, tree := newGuardSim(t, 2, 43, devB)
	s.Configure(devB, func(c *engine.Config) { c.Type = engine.SendOnly })
	must(t, s.Remove(devA, "docs"))
	s.Scan(devA)
	quiet(t, s)
	wantTreeOn(t, s, devB, tree)
	s.Configure(devB, func(c *engine.Config) { c.Type = engine.SendReceive })
	quiet(t, s)
	wantTreeOn(t, s, devB, tree)
	wantHeld(t, s, devB, 0, 81)
}
