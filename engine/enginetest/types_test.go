package enginetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"ferry/engine"
)

// typed returns options for devices of the given folder types.
func typed(seed uint64, types ...engine.FolderType) Options {
	return Options{Devices: len(types), Seed: seed, DeviceConfig: func(i int, c *engine.Config) { c.Type = types[i] }}
}

// wantOn fails unless device i holds data at name (nil data: nothing).
func wantOn(t *testing.T, s *Sim, i int, name string, data []byte) {
	t.Helper()
	got, ok := s.Dev(i).FS.ReadFile(name)
	switch {
	case data == nil && ok:
		t.Errorf("%s: %s exists with %d bytes, want it absent", s.Dev(i).Name, name, len(got))
	case data != nil && (!ok || !bytes.Equal(got, data)):
		t.Errorf("%s: %s has %d bytes (exists %t), want %d bytes", s.Dev(i).Name, name, len(got), ok, len(data))
	}
}

// wantApart fails unless device i's status lists exactly names as kept
// apart from the global state, in the given state.
func wantApart(t *testing.T, s *Sim, i int, state string, names ...string) {
	t.Helper()
	st := s.Dev(i).Engine().Status()
	slices.Sort(names)
	if st.Apart != len(names) || !slices.Equal(st.ApartSample, names) || st.State != state || st.InSync != (len(names) == 0) {
		t.Errorf("%s: state %s, in sync %t, apart %d %q; want %s with %q", s.Dev(i).Name, st.State, st.InSync, st.Apart, st.ApartSample, state, names)
	}
}

// A directory tree deleted on a send-receive device is deleted whole on a
// receive-only one, also when the receive-only device had recorded the same
// files under versions of its own (a scan that saw pulled files before the
// pulls were recorded, or a copy made before the folders were shared).
func TestReceiveOnlyAppliesDirectoryDeletion(t *testing.T) {
	s := newSim(t, typed(1, engine.SendReceive, engine.ReceiveOnly))
	tree := map[string][]byte{"encoding/base64/base64.go": content("b64", 300)}
	for i := range 13 {
		tree[fmt.Sprintf("encoding/json/f%02d.go", i)] = content(fmt.Sprint("json", i), 200+i)
	}
	tree["encoding/json/testdata/code.json"] = content("code", 5000)
	for name, data := range tree {
		must(t, s.Write(devA, name, data))
		must(t, s.Write(devB, name, data))
		st, _ := s.Dev(devA).FS.Stat(name)
		must(t, s.Touch(devB, name, st.ModTime))
	}
	s.ScanAll()
	settle(t, s)
	wantApart(t, s, devB, "idle")
	must(t, s.Remove(devA, "encoding/json"))
	s.Scan(devA)
	settle(t, s)
	wantAbsent(t, s, "encoding/json")
	wantFile(t, s, "encoding/base64/base64.go", tree["encoding/base64/base64.go"])
}

// Changes made in a receive-only folder are not sent, are listed, and never
// win: a newer version from elsewhere replaces a local edit (kept as a
// conflict copy) and a local deletion, while a local edit that the others
// then delete stays.
func TestReceiveOnlyLocalChangesNeverWin(t *testing.T) {
	s := newSim(t, typed(2, engine.SendReceive, engine.ReceiveOnly))
	for _, name := range []string{"edited", "deleted", "added-back", "kept"} {
		must(t, s.Write(devA, name, content(name, 100)))
	}
	s.Scan(devA)
	settle(t, s)

	must(t, s.Write(devB, "edited", content("edit on B", 120)))
	must(t, s.Remove(devB, "deleted"))
	must(t, s.Write(devB, "new-on-b", content("new", 10)))
	must(t, s.Write(devB, "kept", content("kept on B", 50)))
	s.Scan(devB)
	quiet(t, s)
	wantOn(t, s, devA, "edited", content("edited", 100))
	wantOn(t, s, devA, "deleted", content("deleted", 100))
	wantOn(t, s, devA, "new-on-b", nil)
	wantApart(t, s, devB, "local-changes", "deleted", "edited", "kept", "new-on-b")
	wantApart(t, s, devA, "idle")

	must(t, s.Write(devA, "edited", content("edit on A", 130)))
	must(t, s.Write(devA, "deleted", content("deleted, edited on A", 140)))
	must(t, s.Remove(devA, "kept"))
	s.Scan(devA)
	quiet(t, s)
	wantOn(t, s, devB, "edited", content("edit on A", 130))
	wantOn(t, s, devB, "deleted", content("deleted, edited on A", 140))
	wantOn(t, s, devB, "kept", content("kept on B", 50))
	var copies []string
	for _, n := range conflictCopies(s, devB) {
		if strings.HasPrefix(n, "edited.conflict-") {
			copies = append(copies, n)
			wantOn(t, s, devB, n, content("edit on B", 120))
		}
	}
	if len(copies) != 1 {
		t.Fatalf("B's conflict copies of edited: %q, want one with B's edit", copies)
	}
	wantApart(t, s, devB, "local-changes", copies[0], "kept", "new-on-b")
	if n := conflictCopies(s, devA); len(n) != 0 {
		t.Errorf("A got conflict copies %q from a receive-only device", n)
	}
}

// A send-only folder does not take changes from elsewhere: it lists them and
// says it is out of sync, and its own changes still go out.
func TestSendOnlyTakesNothing(t *testing.T) {
	s := newSim(t, typed(3, engine.SendOnly, engine.SendReceive))
	must(t, s.Write(devA, "master", content("master", 100)))
	s.Scan(devA)
	settle(t, s)
	must(t, s.Write(devB, "master", content("edit on B", 90)))
	must(t, s.Write(devB, "from-b", content("from B", 10)))
	s.Scan(devB)
	quiet(t, s)
	wantOn(t, s, devA, "master", content("master", 100))
	wantOn(t, s, devA, "from-b", nil)
	wantApart(t, s, devA, "out-of-sync", "from-b", "master")
	must(t, s.Write(devA, "new-on-a", content("new", 5)))
	s.Scan(devA)
	quiet(t, s)
	wantOn(t, s, devB, "new-on-a", content("new", 5))
	// Override: A's state becomes the newest everywhere.
	decide(s, devA, engine.Override{})
	settle(t, s)
	wantFile(t, s, "master", content("master", 100))
	wantAbsent(t, s, "from-b")
	wantApart(t, s, devA, "idle")
}

// Revert undoes every change made in a receive-only folder, asking each time
// that what is replaced be kept in the history; the folder then matches the
// others. Without a history it changes nothing: the changes would be lost.
func TestReceiveOnlyRevert(t *testing.T) {
	for _, history := range []bool{true, false} {
		t.Run(fmt.Sprint("history ", history), func(t *testing.T) {
			opt := typed(4, engine.SendReceive, engine.ReceiveOnly)
			opt.Config = func(c *engine.Config) { c.History = history }
			s := newSim(t, opt)
			for _, name := range []string{"edited", "deleted", "same"} {
				must(t, s.Write(devA, name, content(name, 100)))
			}
			s.Scan(devA)
			settle(t, s)
			must(t, s.Write(devB, "edited", content("edit on B", 120)))
			must(t, s.Remove(devB, "deleted"))
			must(t, s.Write(devB, "added/new", content("new", 10)))
			s.Scan(devB)
			quiet(t, s)
			wantApart(t, s, devB, "local-changes", "added", "added/new", "deleted", "edited")
			decide(s, devB, engine.RevertDeletes{})
			if !history {
				quiet(t, s)
				wantApart(t, s, devB, "local-changes", "added", "added/new", "deleted", "edited")
				return
			}
			settle(t, s)
			wantFile(t, s, "edited", content("edited", 100))
			wantFile(t, s, "deleted", content("deleted", 100))
			wantAbsent(t, s, "added/new")
			if c := conflictCopies(s, devB); len(c) != 0 {
				t.Errorf("B made conflict copies %q while reverting", c)
			}
		})
	}
}
