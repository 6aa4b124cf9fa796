package enginetest

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ferry/engine"
	"ferry/proto"
)

const (
	devA, devB, devC = 0, 1, 2
	maxSteps         = 200_000
)

// newSim builds a traced simulation or fails the test.
func newSim(t *testing.T, opt Options) *Sim {
	t.Helper()
	opt.Trace = true
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// settle runs s until quiet and fails the test, with the trace, unless all
// devices converged.
func settle(t *testing.T, s *Sim) {
	t.Helper()
	if err := s.RunUntilQuiet(maxSteps); err != nil {
		t.Fatalf("%v\ntrace:\n%s", err, tail(s.Trace(), 200))
	}
	if err := s.Converged(); err != nil {
		t.Fatalf("not converged: %v\ntrace:\n%s", err, tail(s.Trace(), 200))
	}
}

// tail returns the last n lines of text.
func tail(text string, n int) string {
	lines := strings.Split(text, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// content returns n bytes made of tag, ':' and a counter, over and over:
// two calls with different tags (that hold no ':') return different bytes
// if n is longer than each tag.
func content(tag string, n int) []byte {
	b := make([]byte, 0, n+len(tag)+24)
	for i := 0; len(b) < n; i++ {
		b = append(b, tag...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ';')
	}
	return b[:n]
}

// wantFile fails unless every device has data at name.
func wantFile(t *testing.T, s *Sim, name string, data []byte) {
	t.Helper()
	for i := range s.opt.Devices {
		got, ok := s.Dev(i).FS.ReadFile(name)
		if !ok || !bytes.Equal(got, data) {
			t.Errorf("%s: %s has %d bytes (exists %t), want %d bytes", s.Dev(i).Name, name, len(got), ok, len(data))
		}
	}
}

// wantAbsent fails unless no device has name.
func wantAbsent(t *testing.T, s *Sim, name string) {
	t.Helper()
	for i := range s.opt.Devices {
		if _, ok := s.Dev(i).FS.Stat(name); ok {
			t.Errorf("%s: %s still exists", s.Dev(i).Name, name)
		}
	}
}

// conflictCopies returns the names on device i that are conflict copies.
func conflictCopies(s *Sim, i int) []string {
	var out []string
	for _, n := range s.Dev(i).FS.Names() {
		if strings.Contains(n, ".conflict-") {
			out = append(out, n)
		}
	}
	return out
}

func TestInitialSync(t *testing.T) {
	s := newSim(t, Options{Devices: 3, Seed: 1})
	tree := map[string][]byte{
		"readme.txt":             content("readme", 100),
		"empty":                  nil,
		"docs/big.bin":           content("big", 5*BlockSize+123),
		"docs/deep/er/file.md":   content("deep", 4000),
		"docs/deep/er/empty.txt": nil,
		"grüße/日本語.txt":          content("unicode", 10),
		"grüße/Ærø ünïcødé.dat":  content("nfc", BlockSize),
	}
	for name, data := range tree {
		must(t, s.Write(devA, name, data))
	}
	must(t, s.Mkdir(devA, "emptydir"))
	must(t, s.Symlink(devA, "../readme.txt", "docs/link"))
	must(t, s.Chmod(devA, "docs/big.bin", 0o600))
	must(t, s.Mkdir(devA, "private"))
	must(t, s.Chmod(devA, "private", 0o700))
	s.Scan(devA)
	settle(t, s)

	for name, data := range tree {
		wantFile(t, s, name, data)
	}
	for i := range 3 {
		fs := s.Dev(i).FS
		if st, ok := fs.Stat("emptydir"); !ok || st.Type != proto.FileTypeDir {
			t.Errorf("%s: emptydir is %+v", s.Dev(i).Name, st)
		}
		if st, _ := fs.Stat("docs/link"); st.Type != proto.FileTypeSymlink || st.Target != "../readme.txt" {
			t.Errorf("%s: docs/link is %+v", s.Dev(i).Name, st)
		}
		if st, _ := fs.Stat("docs/big.bin"); st.Mode != 0o600 {
			t.Errorf("%s: docs/big.bin mode %o", s.Dev(i).Name, st.Mode)
		}
		if st, _ := fs.Stat("private"); st.Mode != 0o700 {
			t.Errorf("%s: private mode %o", s.Dev(i).Name, st.Mode)
		}
		if got := s.Dev(i).Engine().Status(); got.LocalFiles != 14 || got.Conflicts != 0 {
			t.Errorf("%s: status %+v, want 14 local files and no conflicts", s.Dev(i).Name, got)
		}
	}
	// Every block of data reached B and C once at most: the big file's six
	// blocks are not fetched twice per device.
	var total int64
	for _, data := range tree {
		total += int64(len(data))
	}
	if got := s.BlockBytes(); got > 2*total {
		t.Errorf("moved %d block bytes, want at most %d", got, 2*total)
	}
}

func TestEditDeleteRename(t *testing.T) {
	s := newSim(t, Options{Devices: 3, Seed: 2})
	must(t, s.Write(devA, "edit.txt", content("v1", 3000)))
	must(t, s.Write(devA, "gone.txt", content("gone", 10)))
	must(t, s.Write(devA, "old.bin", content("moved", 3*BlockSize+7)))
	must(t, s.Write(devA, "dir/a.txt", content("dir-a", 2*BlockSize)))
	must(t, s.Write(devA, "dir/sub/b.txt", content("dir-b", 100)))
	s.Scan(devA)
	settle(t, s)

	s.Run(3) // let time pass so the edit has a later mtime
	must(t, s.Write(devB, "edit.txt", content("v2", 3500)))
	must(t, s.Remove(devB, "gone.txt"))
	s.Scan(devB)
	settle(t, s)
	wantFile(t, s, "edit.txt", content("v2", 3500))
	wantAbsent(t, s, "gone.txt")

	before := s.BlockBytes()
	must(t, s.Rename(devC, "old.bin", "new.bin"))
	s.Scan(devC)
	settle(t, s)
	wantFile(t, s, "new.bin", content("moved", 3*BlockSize+7))
	wantAbsent(t, s, "old.bin")
	if moved := s.BlockBytes() - before; moved != 0 {
		t.Errorf("rename moved %d block bytes, want 0", moved)
	}

	before = s.BlockBytes()
	must(t, s.Rename(devB, "dir", "renamed/dir"))
	s.Scan(devB)
	settle(t, s)
	wantFile(t, s, "renamed/dir/a.txt", content("dir-a", 2*BlockSize))
	wantFile(t, s, "renamed/dir/sub/b.txt", content("dir-b", 100))
	wantAbsent(t, s, "dir")
	if moved := s.BlockBytes() - before; moved != 0 {
		t.Errorf("directory rename moved %d block bytes, want 0", moved)
	}
	for i := range 3 {
		if c := conflictCopies(s, i); len(c) > 0 {
			t.Errorf("%s: unexpected conflict copies %v", s.Dev(i).Name, c)
		}
	}
}

func TestChain(t *testing.T) {
	s := newSim(t, Options{Devices: 3, Seed: 3, Links: [][2]int{{devA, devB}, {devB, devC}}})
	must(t, s.Write(devA, "from-a/file.txt", content("a", 6000)))
	s.Scan(devA)
	settle(t, s)
	wantFile(t, s, "from-a/file.txt", content("a", 6000))

	must(t, s.Write(devC, "from-c.txt", content("c", 100)))
	must(t, s.Write(devC, "from-a/file.txt", content("a-edited-on-c", 7000)))
	s.Scan(devC)
	settle(t, s)
	wantFile(t, s, "from-c.txt", content("c", 100))
	wantFile(t, s, "from-a/file.txt", content("a-edited-on-c", 7000))

	must(t, s.Remove(devA, "from-c.txt"))
	s.Scan(devA)
	settle(t, s)
	wantAbsent(t, s, "from-c.txt")
	// A and C never met: C learned A's changes only from B's records.
	if _, ok := s.Dev(devC).Store.Remote(s.Dev(devA).ID, "from-a/file.txt"); ok {
		t.Error("C holds a record from A although they are not linked")
	}
}

func TestConcurrentEdit(t *testing.T) {
	for _, tc := range []struct {
		name          string
		first, second int // who edits first (and loses, by the earlier mtime)
	}{
		{"isolated device wins", devA, devC},
		{"isolated device loses", devC, devA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, Options{Devices: 3, Seed: 4})
			must(t, s.Write(devB, "x.txt", content("base", 5000)))
			s.Scan(devB)
			settle(t, s)
			s.Isolate(devC)

			s.Run(20)
			loserTime := s.Now()
			must(t, s.Write(tc.first, "x.txt", content("first", 5100)))
			s.Scan(tc.first)
			must(t, s.RunUntilQuiet(maxSteps))
			must(t, s.Write(tc.second, "x.txt", content("second", 4900)))
			s.Scan(tc.second)
			must(t, s.RunUntilQuiet(maxSteps))
			s.Connect(devC, devA)
			s.Connect(devC, devB)
			settle(t, s)

			wantFile(t, s, "x.txt", content("second", 4900))
			copies := conflictCopies(s, devA)
			if len(copies) != 1 {
				t.Fatalf("conflict copies %v, want one", copies)
			}
			want := fmt.Sprintf("x.conflict-%s-%s.txt",
				time.Unix(0, loserTime).UTC().Format("20060102-150405"), s.Dev(tc.first).ID.Short())
			if copies[0] != want {
				t.Errorf("conflict copy %q, want %q", copies[0], want)
			}
			wantFile(t, s, copies[0], content("first", 5100))
			wantStableConflicts(t, s)
		})
	}
}

// wantStableConflicts checks that more time, scans and reconnections make
// no new conflict copies.
func wantStableConflicts(t *testing.T, s *Sim) {
	t.Helper()
	count := func() (events, copies int) {
		for i := range s.opt.Devices {
			events += len(s.Dev(i).Conflicts())
			copies += len(conflictCopies(s, i))
		}
		return events, copies
	}
	events, copies := count()
	s.Isolate(devB)
	s.Run(100)
	s.Connect(devB, devA)
	s.Connect(devB, devC)
	s.ScanAll()
	settle(t, s)
	if e, c := count(); e != events || c != copies {
		t.Errorf("settling again: %d conflict events and %d copies, had %d and %d", e, c, events, copies)
	}
}

func TestEditBeatsDelete(t *testing.T) {
	for _, tc := range []struct {
		name     string
		editLast bool
	}{
		{"delete after edit", false},
		{"edit after delete", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, Options{Devices: 3, Seed: 5})
			must(t, s.Write(devA, "doc/x.txt", content("base", 300)))
			s.Scan(devA)
			settle(t, s)
			s.Isolate(devC)
			edit := func() {
				must(t, s.Write(devC, "doc/x.txt", content("edited", 400)))
				s.Scan(devC)
				must(t, s.RunUntilQuiet(maxSteps))
			}
			if !tc.editLast {
				edit()
			}
			s.Run(20)
			must(t, s.Remove(devA, "doc/x.txt"))
			s.Scan(devA)
			must(t, s.RunUntilQuiet(maxSteps))
			wantAbsentOn(t, s, devB, "doc/x.txt")
			s.Run(20)
			if tc.editLast {
				edit()
			}
			s.Connect(devC, devA)
			s.Connect(devC, devB)
			settle(t, s)
			wantFile(t, s, "doc/x.txt", content("edited", 400))
			for i := range 3 {
				if c := conflictCopies(s, i); len(c) > 0 {
					t.Errorf("%s: conflict copies %v", s.Dev(i).Name, c)
				}
			}
		})
	}
}

// wantAbsentOn fails if device i has name.
func wantAbsentOn(t *testing.T, s *Sim, i int, name string) {
	t.Helper()
	if _, ok := s.Dev(i).FS.Stat(name); ok {
		t.Errorf("%s: %s exists", s.Dev(i).Name, name)
	}
}

func TestThreeWayConflict(t *testing.T) {
	s := newSim(t, Options{Devices: 3, Seed: 6})
	must(t, s.Write(devA, "notes.md", content("base", 2*BlockSize)))
	s.Scan(devA)
	settle(t, s)
	for i := range 3 {
		s.Isolate(i)
	}
	versions := make([][]byte, 3)
	for _, i := range []int{devB, devA, devC} { // mtime order: C wins, then A, then B
		s.Run(15)
		versions[i] = content("edit-"+s.Dev(i).Name, 2*BlockSize+100*i)
		must(t, s.Write(i, "notes.md", versions[i]))
		s.Scan(i)
		must(t, s.RunUntilQuiet(maxSteps))
	}
	s.Connect(devA, devB)
	s.Connect(devB, devC)
	s.Connect(devA, devC)
	settle(t, s)

	wantFile(t, s, "notes.md", versions[devC])
	for i := range 3 {
		copies := conflictCopies(s, i)
		if len(copies) != 2 {
			t.Errorf("%s: conflict copies %v, want two", s.Dev(i).Name, copies)
		}
		for v, data := range versions {
			if !holds(s.Dev(i).FS, data) {
				t.Errorf("%s lost the version written on %s", s.Dev(i).Name, s.Dev(v).Name)
			}
		}
	}
	for _, loser := range []int{devA, devB} {
		want := regexp.MustCompile(`^notes\.conflict-\d{8}-\d{6}-` + s.Dev(loser).ID.Short().String() + `\.md$`)
		if !slices.ContainsFunc(conflictCopies(s, devA), want.MatchString) {
			t.Errorf("no conflict copy matching %s", want)
		}
	}
}

// holds reports whether some regular file in fs has exactly data.
func holds(fs *MemFS, data []byte) bool {
	for _, n := range fs.Names() {
		if got, ok := fs.ReadFile(n); ok && bytes.Equal(got, data) {
			return true
		}
	}
	return false
}

// runUntil steps s until cond holds, failing after maxSteps.
func runUntil(t *testing.T, s *Sim, cond func() bool) {
	t.Helper()
	for range maxSteps {
		if cond() {
			return
		}
		s.Step()
	}
	t.Fatalf("condition not reached after %d steps\ntrace:\n%s", maxSteps, tail(s.Trace(), 100))
}

func TestPullResumesOnReconnect(t *testing.T) {
	s := newSim(t, Options{Devices: 2, Seed: 7})
	must(t, s.Write(devA, "x.bin", content("x", 3*BlockSize)))
	s.Scan(devA)
	runUntil(t, s, func() bool {
		_, ok := s.Dev(devB).Store.Remote(s.Dev(devA).ID, "x.bin")
		return ok
	})
	s.Disconnect(devA, devB)
	must(t, s.RunUntilQuiet(maxSteps))
	if _, ok := s.Dev(devB).FS.Stat("x.bin"); ok {
		t.Fatal("B got x.bin without a connection")
	}
	if st := s.Dev(devB).Engine().Status(); st.NeedFiles != 1 {
		t.Fatalf("B status %+v, want one needed file", st)
	}
	s.Connect(devA, devB)
	settle(t, s)
	wantFile(t, s, "x.bin", content("x", 3*BlockSize))
}

func TestReceiverCrashMidSync(t *testing.T) {
	s := newSim(t, Options{Devices: 3, Seed: 8, Config: func(c *engine.Config) { c.MaxPulls = 4 }})
	files := make(map[string][]byte)
	for i := range 30 {
		name := fmt.Sprintf("d%d/f%02d.bin", i%3, i)
		files[name] = content(name, 1000+i*700)
		must(t, s.Write(devA, name, files[name]))
	}
	s.Scan(devA)
	b := s.Dev(devB)
	runUntil(t, s, func() bool {
		rd := b.Engine().Ready()
		return len(b.FS.Names()) >= 12 && b.PendingOps() > 0 && len(rd.Writes.Local) > 0
	})
	committed := 0
	for name := range files {
		if _, ok := b.Store.Local(name); ok {
			committed++
		}
	}
	onDisk := 0
	for name := range files {
		if _, ok := b.FS.Stat(name); ok {
			onDisk++
		}
	}
	if committed >= onDisk {
		t.Fatalf("want files on disk whose records are not committed: %d committed, %d on disk", committed, onDisk)
	}
	s.Crash(devB)
	s.Run(50)
	must(t, s.Restart(devB))
	settle(t, s)
	for name, data := range files {
		wantFile(t, s, name, data)
		la, _ := s.Dev(devA).Store.Local(name)
		lb, _ := b.Store.Local(name)
		if !la.Version.Equal(lb.Version) {
			t.Errorf("%s: B has version %v, A %v", name, lb.Version, la.Version)
		}
	}
	for i := range 3 {
		if c := conflictCopies(s, i); len(c) > 0 {
			t.Errorf("%s: conflict copies %v", s.Dev(i).Name, c)
		}
	}
}

// A device that re-creates a file exactly as an older version it knows of
// (same content and time, as a copy that keeps times) makes a new version:
// were it to take over the old version, a deletion it has not seen yet would
// remove the file the user just made.
func TestRecreatedFileSurvivesUnseenDelete(t *testing.T) {
	s := newSim(t, Options{Devices: 3, Seed: 9})
	data := content("x", 2*BlockSize)
	must(t, s.Write(devA, "x.bin", data))
	mtime := s.Now()
	s.Scan(devA)
	c := s.Dev(devC)
	runUntil(t, s, func() bool {
		_, fromA := c.Store.Remote(s.Dev(devA).ID, "x.bin")
		_, fromB := c.Store.Remote(s.Dev(devB).ID, "x.bin")
		return fromA || fromB
	})
	s.Isolate(devC)
	must(t, s.RunUntilQuiet(maxSteps))
	wantAbsentOn(t, s, devC, "x.bin")

	s.Run(20)
	must(t, s.Remove(devA, "x.bin"))
	s.Scan(devA)
	must(t, s.RunUntilQuiet(maxSteps))
	wantAbsentOn(t, s, devB, "x.bin")

	must(t, s.Write(devC, "x.bin", data))
	must(t, s.Touch(devC, "x.bin", mtime))
	s.Scan(devC)
	must(t, s.RunUntilQuiet(maxSteps))
	s.Connect(devC, devA)
	s.Connect(devC, devB)
	settle(t, s)
	wantFile(t, s, "x.bin", data)
}

func TestTouchPropagates(t *testing.T) {
	s := newSim(t, Options{Devices: 3, Seed: 10})
	data := content("same", 3000)
	must(t, s.Write(devA, "x.txt", data))
	s.Scan(devA)
	settle(t, s)
	s.Run(30)
	// Writing the same bytes again changes only the modification time,
	// which every device must then agree on.
	must(t, s.Write(devB, "x.txt", data))
	s.Scan(devB)
	settle(t, s)
	want, _ := s.Dev(devB).FS.Stat("x.txt")
	for i := range 3 {
		if got, _ := s.Dev(i).FS.Stat("x.txt"); got.ModTime != want.ModTime {
			t.Errorf("%s: mtime %d, want %d", s.Dev(i).Name, got.ModTime, want.ModTime)
		}
	}
}

func TestSymlinkRecreated(t *testing.T) {
	s := newSim(t, Options{Devices: 2, Seed: 11})
	must(t, s.Symlink(devA, "target", "link"))
	s.Scan(devA)
	settle(t, s)
	s.Run(30)
	// B makes the link again, pointing where it did; A, unaware, retargets
	// it. B's next operation on the link finds it changed, and a scan must
	// record that instead of planning the refused operation forever.
	// Made again later, B's link is a version of its own, concurrent with
	// A's: A's (later) wins and B's is kept beside it.
	must(t, s.Remove(devB, "link"))
	must(t, s.Symlink(devB, "target", "link"))
	s.Run(20)
	must(t, s.Remove(devA, "link"))
	must(t, s.Symlink(devA, "elsewhere", "link"))
	s.Scan(devA)
	settle(t, s)
	for i := range 2 {
		if st, _ := s.Dev(i).FS.Stat("link"); st.Target != "elsewhere" {
			t.Errorf("%s: link points to %q, want elsewhere", s.Dev(i).Name, st.Target)
		}
		copies := conflictCopies(s, i)
		if len(copies) != 1 {
			t.Fatalf("%s: conflict copies %v, want B's link", s.Dev(i).Name, copies)
		}
		if st, _ := s.Dev(i).FS.Stat(copies[0]); st.Type != proto.FileTypeSymlink || st.Target != "target" {
			t.Errorf("%s: %s is %+v, want a link to target", s.Dev(i).Name, copies[0], st)
		}
	}
}

// A file and a directory made at the same name on two devices: the
// directory wins whichever is later, and the file is kept beside it.
func TestFileDirectoryClash(t *testing.T) {
	for _, fileLater := range []bool{false, true} {
		t.Run(fmt.Sprintf("file later %t", fileLater), func(t *testing.T) {
			s := newSim(t, Options{Devices: 2, Seed: 12})
			s.Isolate(devA)
			file := content("file", 100)
			steps := []func(){
				func() { must(t, s.Write(devA, "x", file)) },
				func() { must(t, s.Write(devB, "x/child", content("child", 100))) },
			}
			if fileLater {
				steps[0], steps[1] = steps[1], steps[0]
			}
			steps[0]()
			s.Run(10)
			steps[1]()
			s.ScanAll()
			must(t, s.RunUntilQuiet(maxSteps))
			s.Connect(devA, devB)
			settle(t, s)
			wantFile(t, s, "x/child", content("child", 100))
			copies := conflictCopies(s, devA)
			if len(copies) != 1 {
				t.Fatalf("conflict copies %v, want the file", copies)
			}
			wantFile(t, s, copies[0], file)
		})
	}
}

// A device replaces a directory with a file while another adds an entry to
// the directory: the directory stays, with the new entry, and the file is
// kept beside it.
func TestFileReplacesDirectoryWithNewEntry(t *testing.T) {
	s := newSim(t, Options{Devices: 2, Seed: 13})
	must(t, s.Write(devA, "d/old", content("old", 10)))
	s.Scan(devA)
	settle(t, s)
	s.Isolate(devA)
	file := content("file", 200)
	must(t, s.Remove(devA, "d"))
	must(t, s.Write(devA, "d", file))
	s.Scan(devA)
	must(t, s.Write(devB, "d/new", content("new", 20)))
	s.Scan(devB)
	must(t, s.RunUntilQuiet(maxSteps))
	s.Connect(devA, devB)
	settle(t, s)
	wantFile(t, s, "d/new", content("new", 20))
	wantAbsent(t, s, "d/old")
	copies := conflictCopies(s, devA)
	if len(copies) != 1 {
		t.Fatalf("conflict copies %v, want the file", copies)
	}
	wantFile(t, s, copies[0], file)
}

// A device crashes after deleting a file for a peer's rename but before
// recording it, and while it is down its user moves the file back: the file
// at the old name, identical to the recorded version but another file, must
// not be taken for that version and deleted.
func TestMovedBackWhileDown(t *testing.T) {
	s := newSim(t, Options{Devices: 2, Seed: 14})
	data := content("x", 3*BlockSize)
	must(t, s.Write(devA, "old.bin", data))
	s.Scan(devA)
	settle(t, s)
	must(t, s.Rename(devA, "old.bin", "new.bin"))
	s.Scan(devA)
	b := s.Dev(devB)
	runUntil(t, s, func() bool {
		_, onDisk := b.FS.Stat("old.bin")
		l, _ := b.Store.Local("old.bin")
		return !onDisk && !l.Deleted
	})
	s.Crash(devB)
	must(t, s.Rename(devB, "new.bin", "old.bin"))
	must(t, s.Restart(devB))
	settle(t, s)
	wantFile(t, s, "old.bin", data)
}

// A folder larger than the engine's cache syncs with every name read from
// the index: once the writes are committed and the engine told so, it
// holds no more names than its cache, however large the folder.
func TestEngineHoldsABoundedPart(t *testing.T) {
	s := newSim(t, Options{Devices: 2, Seed: 7, VerifyEvery: 1000, WalkBatch: 1000})
	const files = 10_000
	for i := range files {
		must(t, s.Write(devA, fmt.Sprintf("d%02d/f%05d", i%37, i), content(fmt.Sprint(i), 10)))
	}
	s.Scan(devA)
	settle(t, s)
	wantFile(t, s, "d00/f00000", content("0", 10))
	for i := range 2 {
		e := s.Dev(i).Engine()
		if st := e.Status(); st.LocalFiles != files+37 || !st.InSync {
			t.Fatalf("%s: status %+v, want %d local files in sync", s.Dev(i).Name, st, files+37)
		}
		if n := e.Held(); n > files/2 {
			t.Errorf("%s holds %d of %d names in memory", s.Dev(i).Name, n, files+37)
		}
	}
}

// A send-only folder takes none of a peer's new files; made send-receive,
// it pulls every one, although it recomputes the names two at a time.
func TestSweepAfterTypeChange(t *testing.T) {
	s := newSim(t, Options{Devices: 2, Seed: 44, DeviceConfig: func(i int, c *engine.Config) {
		if i == devB {
			c.Type = engine.SendOnly
		}
	}})
	tree := make(map[string][]byte)
	for i := range 60 {
		tree[fmt.Sprintf("d%d/f%02d", i%3, i)] = content(fmt.Sprintf("sweep%d", i), 1+i*131)
	}
	for name, data := range tree {
		must(t, s.Write(devA, name, data))
	}
	s.Scan(devA)
	if err := s.RunUntilQuiet(maxSteps); err != nil {
		t.Fatal(err)
	}
	for name := range tree {
		if _, ok := s.Dev(devB).FS.ReadFile(name); ok {
			t.Fatalf("send-only B took %s", name)
		}
	}
	s.Configure(devB, func(c *engine.Config) { c.Type = engine.SendReceive })
	settle(t, s)
	for name, data := range tree {
		if got, ok := s.Dev(devB).FS.ReadFile(name); !ok || string(got) != string(data) {
			t.Errorf("B: %s missing or changed", name)
		}
	}
}
