package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"ferry/proto"
)

// winNames are the name rules of a Windows device, cut down: "CON" with
// any extension is reserved, and case is ignored.
type winNames struct{ caseSensitive bool }

func (winNames) Problem(name string) string {
	for comp := range strings.SplitSeq(name, "/") {
		if base, _, _ := strings.Cut(comp, "."); strings.EqualFold(base, "CON") {
			return fmt.Sprintf("%q is a device name reserved on Windows", comp)
		}
	}
	return ""
}

func (w winNames) CaseInsensitive() bool { return !w.caseSensitive }

func (w winNames) Fold(name string) string {
	if w.caseSensitive {
		return name
	}
	return strings.ToUpper(name)
}

// newWinRig is newRig on a device whose file system follows names.
func newWinRig(t *testing.T, names Names, local, peer []proto.FileInfo) *rig {
	t.Helper()
	cfg := Config{Folder: "f", Local: devL, Devices: []proto.DeviceID{devP, devQ}, MaxPulls: 1000, Names: names}
	return newRigConfig(t, cfg, local, peer)
}

// peerRec is devP's record of a file named name, its content its name.
func peerRec(name string) proto.FileInfo {
	f := fileRec(name)
	f.Version, f.ModifiedBy = vec(0x22, 1), devP.Short()
	return f
}

// opLog records the operations a test driver carried out: pulls, mkdirs
// and symlinks counted by name, and every operation in order.
type opLog struct {
	pulls map[string]int
	order []string // "pull NAME", "delete NAME"
}

func newOpLog() *opLog { return &opLog{pulls: map[string]int{}} }

// finish carries out the operations in rd on r's disk, as a driver that
// succeeds, and returns what the engine handed out after them.
func (r *rig) finish(rd Ready, log *opLog) Ready {
	r.t.Helper()
	var acc Ready
	for _, op := range rd.Ops {
		var f proto.FileInfo
		switch op := op.(type) {
		case PullOp:
			f = op.File
		case MkdirOp:
			f = op.File
		case SymlinkOp:
			f = op.File
		case DeleteOp:
			log.order = append(log.order, "delete "+op.File.Name)
			delete(r.disk, op.File.Name)
			next := r.step(OpResult{Name: op.File.Name, Version: op.File.Version})
			acc.Ops, acc.Events = append(acc.Ops, next.Ops...), append(acc.Events, next.Events...)
			continue
		default:
			continue
		}
		log.pulls[f.Name]++
		log.order = append(log.order, "pull "+f.Name)
		st := statOf(f)
		st.Inode = uint64(1000 + len(r.disk))
		r.disk[f.Name] = onDisk{st: st, blocks: f.Blocks}
		next := r.step(OpResult{Name: f.Name, Version: f.Version, Stat: st})
		acc.Ops, acc.Events = append(acc.Ops, next.Ops...), append(acc.Events, next.Events...)
	}
	return acc
}

// settle carries out operations until the engine hands out none, moving
// the clock past every delay and retry a few times, with a scan between:
// anything the engine would try again is tried.
func (r *rig) settle(rd Ready, log *opLog) (refused []NameRefused) {
	r.t.Helper()
	for range 10 {
		refused = append(refused, eventsOf[NameRefused](rd)...)
		for len(rd.Ops) > 0 {
			rd = r.finish(rd, log)
			refused = append(refused, eventsOf[NameRefused](rd)...)
		}
		rd = r.later(r.e.cfg.RetryAfter + r.e.cfg.DeleteDelay)
		next := r.scan()
		rd.Ops, rd.Events = append(rd.Ops, next.Ops...), append(rd.Events, next.Events...)
	}
	return refused
}

// errorsAbout returns the status lines of r's folder about name.
func (r *rig) errorsAbout(name string) []string {
	var out []string
	for _, e := range r.e.Status().Errors {
		if strings.HasPrefix(e, name+": ") {
			out = append(out, e)
		}
	}
	return out
}

// TestReservedNameIsNotPulled: a name Windows reserves is never pulled
// there, however often the engine looks again; its status says why and
// what to do, and the file renamed on the peer is pulled under its new name.
func TestReservedNameIsNotPulled(t *testing.T) {
	r := newWinRig(t, winNames{}, nil, nil)
	con, ok := peerRec("docs/CON.txt"), peerRec("docs/ok.txt")
	log := newOpLog()
	refused := r.settle(r.receive(con, ok), log)

	if log.pulls[con.Name] != 0 || log.pulls[ok.Name] != 1 {
		t.Fatalf("pulled %v, want docs/ok.txt once and docs/CON.txt never", log.pulls)
	}
	if len(refused) != 1 || refused[0].Name != con.Name {
		t.Errorf("NameRefused events %v, want one for docs/CON.txt", refused)
	}
	want := `docs/CON.txt: "CON.txt" is a device name reserved on Windows; rename it on the device that has it`
	if got := r.errorsAbout(con.Name); !slices.Equal(got, []string{want}) {
		t.Errorf("status errors %q, want %q", got, want)
	}
	if st := r.e.Status(); st.State != "error" || st.NeedFiles != 1 || st.InSync {
		t.Errorf("status %s, need %d, in sync %t; want error, 1, false", st.State, st.NeedFiles, st.InSync)
	}
	if w := r.e.NextWake(); w != 0 && w <= r.e.now {
		t.Errorf("NextWake %d at %d: a timer for a name that cannot be stored", w, r.e.now)
	}

	// Renamed on the peer: the error goes, the file comes under its new name.
	renamed := peerRec("docs/CON_.txt")
	r.settle(r.receive(gonePeer(con), renamed), log)
	if log.pulls[renamed.Name] != 1 || log.pulls[con.Name] != 0 {
		t.Errorf("pulled %v after the rename, want docs/CON_.txt once", log.pulls)
	}
	if st := r.e.Status(); len(st.Errors) != 0 || !st.InSync {
		t.Errorf("status %s, errors %q after the rename; want in sync without errors", st.State, st.Errors)
	}
}

// TestReservedNameWithoutRules: without name rules (a Linux device) the
// same records are pulled.
func TestReservedNameWithoutRules(t *testing.T) {
	r := newRigConfig(t, Config{Folder: "f", Local: devL, Devices: []proto.DeviceID{devP}, MaxPulls: 1000}, nil, nil)
	log := newOpLog()
	r.settle(r.receive(peerRec("CON.txt"), peerRec("a"), peerRec("A")), log)
	if want := map[string]int{"CON.txt": 1, "a": 1, "A": 1}; !maps.Equal(log.pulls, want) {
		t.Errorf("pulled %v, want each name once", log.pulls)
	}
}

// TestCaseClash: a name the file system takes for another that is here, or
// that is pulled instead, is not pulled; a rename that changes only case
// goes through once the old name is gone.
func TestCaseClash(t *testing.T) {
	a, docs, docsX := fileRec("a.txt"), dirRec("Docs"), fileRec("Docs/x")
	inSync := []proto.FileInfo{a, docs, docsX} // devP has what is here
	for _, tc := range []struct {
		name     string
		names    Names
		receive  []proto.FileInfo
		pulled   []string // once each
		order    []string // of the operations, if it matters
		unfit    string   // the name that is not pulled, "" for none
		reason   string   // part of its status line
		fix      []proto.FileInfo
		fixPulls []string
	}{
		{
			name: "another case of a name here", names: winNames{},
			receive: []proto.FileInfo{peerRec("A.TXT")},
			unfit:   "A.TXT", reason: `"A.TXT" and "a.txt" are one name on this device, whose file system ignores case; rename one of them on the device that has them`,
			fix:      []proto.FileInfo{gonePeer(peerRec("A.TXT")), peerRec("b.txt")},
			fixPulls: []string{"b.txt"},
		},
		{
			name: "two cases in one update", names: winNames{},
			receive: []proto.FileInfo{peerRec("Readme"), peerRec("README")},
			pulled:  []string{"README"},
			unfit:   "Readme", reason: `"Readme" and "README" are one name`,
			fix:      []proto.FileInfo{gonePeer(peerRec("Readme")), peerRec("Readme.old")},
			fixPulls: []string{"Readme.old"},
		},
		{
			name: "a directory above in another case", names: winNames{},
			receive: []proto.FileInfo{peerRec("docs/y")},
			unfit:   "docs/y", reason: `"docs" and "Docs" are one name`,
			fix:      []proto.FileInfo{gonePeer(peerRec("docs/y")), peerRec("Docs/y")},
			fixPulls: []string{"Docs/y"},
		},
		{
			name: "a rename that changes only case", names: winNames{},
			receive: []proto.FileInfo{gonePeer(a), func() proto.FileInfo { f := peerRec("A.txt"); f.Blocks = a.Blocks; return f }()},
			pulled:  []string{"A.txt"},
			order:   []string{"delete a.txt", "pull A.txt"},
		},
		{
			name: "a file system that keeps case apart", names: winNames{caseSensitive: true},
			receive: []proto.FileInfo{peerRec("A.TXT"), peerRec("docs/y"), peerRec("Readme"), peerRec("README")},
			pulled:  []string{"A.TXT", "README", "Readme", "docs/y"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newWinRig(t, tc.names, inSync, inSync)
			log := newOpLog()
			refused := r.settle(r.receive(tc.receive...), log)
			want := map[string]int{}
			for _, name := range tc.pulled {
				want[name] = 1
			}
			if !maps.Equal(log.pulls, want) {
				t.Errorf("pulled %v, want %v", log.pulls, want)
			}
			if tc.order != nil && !slices.Equal(log.order, tc.order) {
				t.Errorf("operations %q, want %q", log.order, tc.order)
			}
			got := r.e.Status().Errors
			switch {
			case tc.unfit == "" && len(got) != 0:
				t.Errorf("status errors %q, want none", got)
			case tc.unfit != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tc.unfit+": ") || !strings.Contains(got[0], tc.reason)):
				t.Errorf("status errors %q, want one for %s saying %s", got, tc.unfit, tc.reason)
			case tc.unfit != "" && (len(refused) != 1 || refused[0].Name != tc.unfit):
				t.Errorf("NameRefused events %v, want one for %s", refused, tc.unfit)
			}
			if tc.fix == nil {
				return
			}
			log = newOpLog()
			r.settle(r.receive(tc.fix...), log)
			want = map[string]int{}
			for _, name := range tc.fixPulls {
				want[name] = 1
			}
			if !maps.Equal(log.pulls, want) {
				t.Errorf("pulled %v after the peer's rename, want %v", log.pulls, want)
			}
			if st := r.e.Status(); len(st.Errors) != 0 || !st.InSync {
				t.Errorf("status %s, errors %q after the peer's rename; want in sync without errors", st.State, st.Errors)
			}
		})
	}
}

// TestRefusedNameWaitsForNewVersion: a name the file system refused when
// it was written (too long for it, say) is not tried again on every retry,
// only for a new version or after a scan.
func TestRefusedNameWaitsForNewVersion(t *testing.T) {
	r := newWinRig(t, winNames{}, nil, nil)
	long := peerRec("long-name")
	rd := r.receive(long)
	tries := 0
	refuse := func(rd Ready) Ready {
		var acc Ready
		for _, op := range opsOf[PullOp](rd) {
			tries++
			next := r.step(OpResult{Name: op.File.Name, Version: op.File.Version, BadName: true, Err: errors.New("file name too long")})
			acc.Events = append(acc.Events, next.Events...)
			acc.Ops = append(acc.Ops, next.Ops...)
		}
		return acc
	}
	ev := eventsOf[NameRefused](refuse(rd))
	if tries != 1 || len(ev) != 1 {
		t.Fatalf("%d tries, events %v; want one try and one NameRefused", tries, ev)
	}
	for range 10 {
		refuse(r.later(r.e.cfg.RetryAfter))
	}
	if tries != 1 {
		t.Errorf("%d tries after ten retry periods, want 1", tries)
	}
	want := "long-name: the file system here refused the name: file name too long; rename it on the device that has it"
	if got := r.errorsAbout("long-name"); !slices.Equal(got, []string{want}) {
		t.Errorf("status errors %q, want %q", got, want)
	}

	refuse(r.scan())
	if tries != 2 {
		t.Errorf("%d tries after a scan, want 2", tries)
	}
	newer := long
	newer.Version, newer.ModTime = long.Version.Update(devP.Short(), 2), 200
	refuse(r.receive(newer))
	if tries != 3 {
		t.Errorf("%d tries after a new version, want 3", tries)
	}
	r.receive(gonePeer(newer))
	if st := r.e.Status(); len(st.Errors) != 0 || !st.InSync {
		t.Errorf("status %s, errors %q after the peer deleted it; want in sync without errors", st.State, st.Errors)
	}
}
