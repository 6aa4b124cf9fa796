package watch

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncthing/notify"
	"golang.org/x/sys/unix"
)

// startFanotifyWatch is startWatch with fanotify required.
func startFanotifyWatch(t *testing.T, root string, opts Options) *session {
	t.Helper()
	requireFanotify(t)
	setBackend(t, true)
	return startWatch(t, root, opts)
}

// TestFanotifyNewDirectory checks that a file made in a directory made
// after the watch started is reported by its own name: fanotify needs no
// watch per directory.
func TestFanotifyNewDirectory(t *testing.T) {
	s := startFanotifyWatch(t, t.TempDir(), testOpts)
	s.mkdirAll("new")
	s.waitCovered(changed("new"))
	s.write("new/f", "x")
	if got := allPaths(t, s.waitCovered(changed("new/f"))); !slices.Equal(got, []string{"new/f"}) {
		t.Errorf("paths = %q, want [new/f]", got)
	}
}

// TestFanotifyOutsideRoot checks that changes elsewhere on the root's
// filesystem make no batch: in another directory, in the root's parent,
// and in siblings whose names start with the root's.
func TestFanotifyOutsideRoot(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "folder")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	s := startFanotifyWatch(t, root, testOpts)
	// Several rounds, since directories removed while their events are
	// read take other paths through the kernel.
	others := []string{t.TempDir(), parent, root + "2", root + "x", root + ".old", root + " (deleted)"}
	for range 10 {
		for _, dir := range others {
			churn(t, dir)
		}
	}
	s.write("sentinel", "x")
	if got := allPaths(t, s.waitCovered(changed("sentinel"))); !slices.Equal(got, []string{"sentinel"}) {
		t.Errorf("batches hold %q, want only sentinel", got)
	}
}

// churn makes every kind of change in dir, which it makes if need be.
func churn(t *testing.T, dir string) {
	t.Helper()
	sub := filepath.Join(dir, "sub")
	steps := []func() error{
		func() error { return os.MkdirAll(sub, 0o755) },
		func() error { return os.WriteFile(filepath.Join(sub, "f"), []byte("x"), 0o644) },
		func() error { return os.Chmod(filepath.Join(sub, "f"), 0o600) },
		func() error { return os.Rename(filepath.Join(sub, "f"), filepath.Join(dir, "g")) },
		func() error { return os.Rename(sub, filepath.Join(dir, "sub2")) },
		func() error { return os.Remove(filepath.Join(dir, "g")) },
		func() error { return os.Remove(filepath.Join(dir, "sub2")) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFanotifyDeepTree makes 2,000 directories, 20 chains 100 deep, after
// the watch started, and checks that files made at their middles and ends
// are reported by their own names.
func TestFanotifyDeepTree(t *testing.T) {
	s := startFanotifyWatch(t, t.TempDir(), testOpts)
	before := inotifyWatches(t)
	var tops []change
	var files []string
	for c := range 20 {
		top := fmt.Sprintf("c%02d", c)
		chain := top + strings.Repeat("/n", 99)
		tops = append(tops, change{top, time.Now()})
		s.mkdirAll(chain)
		files = append(files, top+strings.Repeat("/n", 50)+"/mid", chain+"/end")
	}
	// Events come in order: once a batch has the sentinel, every
	// directory's has come too.
	tops = append(tops, change{"sentinel", time.Now()})
	s.write("sentinel", "x")
	s.waitCovered(tops)
	// The changes are stamped before they are made: a batch may come
	// before the last write returns.
	want := changed(files...)
	for _, f := range files {
		s.write(f, "x")
	}
	got := allPaths(t, s.waitCovered(want))
	slices.Sort(files)
	if !slices.Equal(got, files) {
		t.Errorf("paths = %s, want the %d files", truncated(got), len(files))
	}
	if n := inotifyWatches(t); n != before {
		t.Errorf("%d inotify watches, %d before the watch", n, before)
	}
}

// TestFanotifyRenameDir checks that renaming a directory reports both
// names, and that a change inside it afterwards is reported under its new
// name, not under a path remembered from before.
func TestFanotifyRenameDir(t *testing.T) {
	s := startFanotifyWatch(t, t.TempDir(), testOpts)
	s.mkdirAll("d1/inner")
	s.write("d1/inner/f", "1")
	s.waitCovered(changed("d1/inner/f"))
	if err := os.Rename(s.path("d1"), s.path("d2")); err != nil {
		t.Fatal(err)
	}
	if got := allPaths(t, s.waitCovered(changed("d1", "d2"))); !slices.Equal(got, []string{"d1", "d2"}) {
		t.Errorf("after the rename: paths %q, want [d1 d2]", got)
	}
	s.write("d2/inner/g", "2")
	if got := allPaths(t, s.waitCovered(changed("d2/inner/g"))); !slices.Equal(got, []string{"d2/inner/g"}) {
		t.Errorf("after a write in the renamed directory: paths %q, want [d2/inner/g]", got)
	}
}

// TestFanotifyAncestorMoved checks that moving a directory above the root
// ends the watch as moving the root does: the root's path is gone.
func TestFanotifyAncestorMoved(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "a", "folder")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	s := startFanotifyWatch(t, root, testOpts)
	if err := os.Rename(filepath.Join(parent, "a"), filepath.Join(parent, "b")); err != nil {
		t.Fatal(err)
	}
	s.waitRootLost()
}

// openFds returns what this process's file descriptors point at.
func openFds(t *testing.T) map[string]string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string)
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil {
			m[fd.Name()] = target
		}
	}
	return m
}

// TestFanotifyReleases checks that a fanotify watch holds no inotify
// watch and closes its descriptors when cancelled.
func TestFanotifyReleases(t *testing.T) {
	root := t.TempDir()
	startFanotifyWatch(t, root, testOpts).stop()
	before, inotifyBefore := openFds(t), inotifyWatches(t)
	s := startWatch(t, root, testOpts)
	if n := inotifyWatches(t); n != inotifyBefore {
		t.Errorf("%d inotify watches while watching, %d before", n, inotifyBefore)
	}
	var opened []string
	for fd, target := range openFds(t) {
		if _, ok := before[fd]; !ok {
			opened = append(opened, target)
		}
	}
	slices.Sort(opened)
	if want := []string{root, "anon_inode:[eventfd]", "anon_inode:[fanotify]"}; !slices.Equal(opened, want) {
		t.Errorf("opened %q while watching, want %q", opened, want)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if after := openFds(t); len(after) != len(before) {
		t.Errorf("%d descriptors after stop, %d before: %v", len(after), len(before), after)
	}
}

// fanTest is a fanWatch without a group, for feeding crafted reads to.
type fanTest struct {
	*fanWatch
	events chan notify.EventInfo
	root   string
}

func newFanTest(t *testing.T) *fanTest {
	t.Helper()
	requireFanotify(t)
	root, err := resolveRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res, err := newResolver(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(res.close)
	events := make(chan notify.EventInfo, 100)
	f := &fanWatch{fd: -1, wake: -1, quit: make(chan struct{}), res: res, events: events, log: slog.New(slog.DiscardHandler)}
	return &fanTest{f, events, root}
}

// received returns what the reader sent.
func (ft *fanTest) received() []notify.EventInfo {
	var got []notify.EventInfo
	for len(ft.events) > 0 {
		got = append(got, <-ft.events)
	}
	return got
}

// fanRecord returns an event of mask with file fd and the info records.
func fanRecord(mask uint64, fd int32, infos ...[]byte) []byte {
	b := make([]byte, fanMetadataSize)
	for _, info := range infos {
		b = append(b, info...)
	}
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	b[4] = unix.FANOTIFY_METADATA_VERSION
	binary.NativeEndian.PutUint16(b[6:], fanMetadataSize)
	binary.NativeEndian.PutUint64(b[8:], mask)
	binary.NativeEndian.PutUint32(b[16:], uint32(fd))
	binary.NativeEndian.PutUint32(b[20:], 1234)
	return b
}

// dirRecord returns a directory info record: DFID_NAME with name, DFID if
// name is nil. The name is NUL-terminated and padded as the kernel does.
func dirRecord(fsid [2]int32, handleType int32, handle []byte, name []byte) []byte {
	typ := byte(unix.FAN_EVENT_INFO_TYPE_DFID)
	b := make([]byte, fanFidHeaderSize, fanFidHeaderSize+len(handle)+len(name)+4)
	b = append(b, handle...)
	if name != nil {
		typ = unix.FAN_EVENT_INFO_TYPE_DFID_NAME
		b = append(b, name...)
		b = append(b, 0)
	}
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	b[0] = typ
	binary.NativeEndian.PutUint16(b[2:], uint16(len(b)))
	binary.NativeEndian.PutUint32(b[4:], uint32(fsid[0]))
	binary.NativeEndian.PutUint32(b[8:], uint32(fsid[1]))
	binary.NativeEndian.PutUint32(b[12:], uint32(len(handle)))
	binary.NativeEndian.PutUint32(b[16:], uint32(handleType))
	return b
}

// rootEntry returns a well-formed event of mask on the entry name of the
// root.
func (ft *fanTest) rootEntry(mask uint64, name string) []byte {
	return fanRecord(mask, unix.FAN_NOFD, dirRecord(ft.res.fsid, ft.res.rootType, ft.res.rootHandle, []byte(name)))
}

func TestFanotifyDispatch(t *testing.T) {
	ft := newFanTest(t)
	buf := slices.Concat(
		ft.rootEntry(unix.FAN_CREATE, "a"),
		ft.rootEntry(unix.FAN_MOVED_FROM|unix.FAN_ONDIR, "b"),
		ft.rootEntry(unix.FAN_MOVED_TO, "c"),
		ft.rootEntry(unix.FAN_DELETE, "d"),
		ft.rootEntry(unix.FAN_MODIFY|unix.FAN_CLOSE_WRITE, "e"),
		ft.rootEntry(unix.FAN_ATTRIB, "f"),
		ft.rootEntry(unix.FAN_CREATE, ".ferry-tmp-1"),
		ft.rootEntry(unix.FAN_ATTRIB, "."), // the root itself
		fanRecord(unix.FAN_CREATE, unix.FAN_NOFD, dirRecord([2]int32{1, 2}, ft.res.rootType, ft.res.rootHandle, []byte("other fs"))),
	)
	if !ft.dispatch(buf) {
		t.Fatal("dispatch said the root is gone")
	}
	var got []string
	for _, ei := range ft.received() {
		got = append(got, fmt.Sprintf("%s %s", ei.Event(), strings.TrimPrefix(ei.Path(), ft.root)))
	}
	want := []string{"notify.Create /a", "notify.Rename /b", "notify.Create /c", "notify.Remove /d", "notify.Write /e", "notify.InAttrib /f"}
	if !slices.Equal(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}
}

// TestFanotifyRootSelf checks that the root's own removal or move ends the
// reader with the root's loss.
func TestFanotifyRootSelf(t *testing.T) {
	for _, mask := range []uint64{unix.FAN_DELETE_SELF, unix.FAN_MOVE_SELF, unix.FAN_ATTRIB | unix.FAN_DELETE_SELF} {
		ft := newFanTest(t)
		if ft.dispatch(ft.rootEntry(mask|unix.FAN_ONDIR, ".")) {
			t.Errorf("%#x on the root: dispatch went on", mask)
		}
		got := ft.received()
		if len(got) != 1 || got[0].Path() != ft.root || got[0].Event()&(notify.Remove|notify.Rename) == 0 {
			t.Errorf("%#x on the root: sent %v, want the root's removal or move", mask, got)
		}
	}
}

// TestFanotifyGoneDirectory checks that an event in a directory removed
// since is dropped, while the root still exists.
func TestFanotifyGoneDirectory(t *testing.T) {
	ft := newFanTest(t)
	dir := filepath.Join(ft.root, "gone")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if !ft.dispatch(fanRecord(unix.FAN_CREATE, unix.FAN_NOFD, dirRecord(ft.res.fsid, h.Type(), h.Bytes(), []byte("f")))) {
		t.Error("dispatch said the root is gone")
	}
	if got := ft.received(); len(got) != 0 {
		t.Errorf("sent %v, want nothing", got)
	}
}

func TestFanotifyQueueOverflow(t *testing.T) {
	ft := newFanTest(t)
	ft.res.cache["stale"] = "/somewhere"
	if !ft.dispatch(fanRecord(unix.FAN_Q_OVERFLOW, unix.FAN_NOFD)) {
		t.Fatal("dispatch said the root is gone")
	}
	if got := ft.received(); len(got) != 1 || got[0] != (lostEvents{}) {
		t.Errorf("sent %v, want lost events", got)
	}
	if len(ft.res.cache) != 0 {
		t.Errorf("cache %v kept after an overflow", ft.res.cache)
	}
}

// TestFanotifyClosesEventFiles checks that a file the kernel opened for
// an event is closed.
func TestFanotifyClosesEventFiles(t *testing.T) {
	ft := newFanTest(t)
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := fanRecord(unix.FAN_CLOSE_WRITE, int32(fd), dirRecord(ft.res.fsid, ft.res.rootType, ft.res.rootHandle, []byte("x")))
	ft.dispatch(buf)
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
		unix.Close(fd)
		t.Errorf("event file still open (fcntl: %v)", err)
	}
}

// TestFanotifyMalformed feeds crafted malformed reads, each followed by a
// well-formed event, and checks that each is reported as lost events, and
// that the well-formed event still arrives when the malformed one's length
// could be trusted.
func TestFanotifyMalformed(t *testing.T) {
	ft := newFanTest(t)
	good := func() []byte { return ft.rootEntry(unix.FAN_CREATE, "ok") }
	withRecord := func(edit func(rec []byte) []byte) []byte {
		rec := edit(dirRecord(ft.res.fsid, ft.res.rootType, ft.res.rootHandle, []byte("x")))
		return fanRecord(unix.FAN_CREATE, unix.FAN_NOFD, rec)
	}
	put16 := func(b []byte, off int, v uint16) []byte { binary.NativeEndian.PutUint16(b[off:], v); return b }
	put32 := func(b []byte, off int, v uint32) []byte { binary.NativeEndian.PutUint32(b[off:], v); return b }
	tests := []struct {
		name   string
		buf    []byte
		resync bool // the next event is still found
	}{
		{"short header", good()[:10], false}, // the next event is not appended
		{"event_len past the buffer", put32(good(), 0, 4096), false},
		{"event_len below the header", put32(good(), 0, 8), false},
		{"event_len zero", put32(good(), 0, 0), false},
		{"metadata_len past the event", put16(good(), 6, 1000), false},
		{"metadata_len below the header", put16(good(), 6, 4), false},
		{"wrong version", func() []byte { b := good(); b[4] = 2; return b }(), false},
		{"no directory record", fanRecord(unix.FAN_CREATE, unix.FAN_NOFD), true},
		{"truncated info header", fanRecord(unix.FAN_CREATE, unix.FAN_NOFD, []byte{2, 0}), true},
		{"info len zero", withRecord(func(r []byte) []byte { return put16(r, 2, 0) }), true},
		{"info len below its header", withRecord(func(r []byte) []byte { return put16(r, 2, 3) }), true},
		{"info len past the event", withRecord(func(r []byte) []byte { return put16(r, 2, uint16(len(r)+4)) }), true},
		{"record too short for a handle", withRecord(func(r []byte) []byte { return put16(r[:12], 2, 12) }), true},
		{"handle_bytes past the record", withRecord(func(r []byte) []byte { return put32(r, 12, uint32(len(r))) }), true},
		{"handle_bytes above MAX_HANDLE_SZ", withRecord(func(r []byte) []byte {
			r = append(r, make([]byte, 200)...)
			return put16(put32(r, 12, 200), 2, uint16(len(r)))
		}), true},
		{"name without NUL", withRecord(func(r []byte) []byte {
			n := fanFidHeaderSize + len(ft.res.rootHandle)
			r = append(r[:n], "abcd"...)
			return put16(r, 2, uint16(len(r)))
		}), true},
		{"name with a slash", fanRecord(unix.FAN_CREATE, unix.FAN_NOFD, dirRecord(ft.res.fsid, ft.res.rootType, ft.res.rootHandle, []byte("../x"))), true},
		{"name dot dot", fanRecord(unix.FAN_CREATE, unix.FAN_NOFD, dirRecord(ft.res.fsid, ft.res.rootType, ft.res.rootHandle, []byte(".."))), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := slices.Concat(tt.buf, good())
			if len(tt.buf) < fanMetadataSize {
				buf = tt.buf // a short header can only end a read
			}
			if !ft.dispatch(buf) {
				t.Fatal("dispatch said the root is gone")
			}
			got := ft.received()
			if len(got) == 0 || got[0] != (lostEvents{}) {
				t.Fatalf("sent %v, want lost events first", got)
			}
			var okSent bool
			for _, ei := range got[1:] {
				okSent = okSent || ei.Path() == filepath.Join(ft.root, "ok")
			}
			if okSent != tt.resync {
				t.Errorf("the next event sent: %v, want %v (sent %v)", okSent, tt.resync, got)
			}
		})
	}
}

// FuzzParseFanEvent checks that no read, however malformed, makes the
// parser panic, loop or hand out a slice past its limits.
func FuzzParseFanEvent(f *testing.F) {
	fsid := [2]int32{1, 2}
	handle := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	f.Add(fanRecord(unix.FAN_CREATE, unix.FAN_NOFD, dirRecord(fsid, 1, handle, []byte("name"))))
	f.Add(fanRecord(unix.FAN_Q_OVERFLOW, unix.FAN_NOFD))
	f.Add(fanRecord(unix.FAN_DELETE_SELF, unix.FAN_NOFD, dirRecord(fsid, 1, handle, nil), dirRecord(fsid, 1, handle, []byte("."))))
	f.Add([]byte{24, 0, 0, 0, 3, 0, 24, 0})
	f.Fuzz(func(t *testing.T, buf []byte) {
		var ev fanEvent
		for len(buf) > 0 {
			rest, ok := parseFanEvent(buf, &ev)
			if !ok {
				return
			}
			if len(rest) >= len(buf) {
				t.Fatalf("no progress: %d bytes left of %d", len(rest), len(buf))
			}
			if ev.ok && ev.dir && (len(ev.handle) > fanMaxHandleSize || slices.Contains(ev.name, '/') || slices.Contains(ev.name, 0)) {
				t.Fatalf("bad event %+v", ev)
			}
			buf = rest
		}
	})
}

func TestResolverPlace(t *testing.T) {
	r := &resolver{root: "/a/b"}
	tests := []struct {
		dir, name string
		path      string
		at        placement
	}{
		{"/a/b", "x", "/a/b/x", atInside},
		{"/a/b/c/d", "x", "/a/b/c/d/x", atInside},
		{"/a/b/c", ".", "/a/b/c", atInside},
		{"/a/b/c", "", "/a/b/c", atInside},
		{"/a/b", ".", "/a/b", atRoot},
		{"/a", "b", "/a/b", atRoot},
		{"/a", "bc", "", atOutside},
		{"/a", "", "", atAncestor},
		{"/", "a", "", atAncestor},
		{"/", ".", "", atAncestor},
		{"/a/bc", "x", "", atOutside},
		{"/a/bc", ".", "", atOutside},
		{"/a/b (deleted)", "x", "", atOutside},
		{"/ab", "x", "", atOutside},
		{"/x", "b", "", atOutside},
		{"/a/b", ".ferry", "", atOutside},
		{"/a/b/.ferry/x", "y", "", atOutside},
		{"/a/b/c/.FERRY-tmp-1", ".", "", atOutside},
		{"/a/b/.ferryx", "y", "", atOutside}, // every ".ferry*" name is ferry's own
		{"/a/b/c", ".ferry-tmp-2", "", atOutside},
	}
	for _, tt := range tests {
		var path string
		var at placement
		if isSelf([]byte(tt.name)) {
			path, at, _ = r.placeDir(tt.dir)
		} else {
			path, at, _ = r.placeEntry(tt.dir, []byte(tt.name))
		}
		if path != tt.path || at != tt.at {
			t.Errorf("place(%q, %q) = %q, %d; want %q, %d", tt.dir, tt.name, path, at, tt.path, tt.at)
		}
	}
	top := &resolver{root: "/"}
	if path, at, _ := top.placeEntry("/", []byte("x")); path != "/x" || at != atInside {
		t.Errorf("with root /: place(/, x) = %q, %d", path, at)
	}
	if path, at, _ := top.placeDir("/"); path != "/" || at != atRoot {
		t.Errorf("with root /: place(/) = %q, %d", path, at)
	}
}

// TestResolverAllocations checks that an event elsewhere on the filesystem
// costs no allocation once its directory is cached.
func TestResolverAllocations(t *testing.T) {
	ft := newFanTest(t)
	other := t.TempDir()
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, other, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := fanRecord(unix.FAN_MODIFY, unix.FAN_NOFD, dirRecord(ft.res.fsid, h.Type(), h.Bytes(), []byte("file")))
	ft.dispatch(buf)
	if n := testing.AllocsPerRun(100, func() { ft.dispatch(buf) }); n != 0 {
		t.Errorf("%v allocations per event elsewhere", n)
	}
	if got := ft.received(); len(got) != 0 {
		t.Errorf("sent %v, want nothing", got)
	}
}

func TestMountBelow(t *testing.T) {
	const mountinfo = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:21 / /proc rw,nosuid shared:2 - proc proc rw
40 22 0:35 / /data/folder\040two/mnt rw shared:20 - tmpfs tmpfs rw
41 22 0:36 / /data/folderx rw shared:21 - tmpfs tmpfs rw
42 22 0:37 / /data/folder rw shared:22 - tmpfs tmpfs rw
short line
`
	for _, tt := range []struct{ dir, want string }{
		{"/data/folder", ""}, // itself, and a sibling sharing its prefix
		{"/data/folder two", "/data/folder two/mnt"},
		{"/data", "/data/folder two/mnt"},
		{"/srv", ""},
		{"/", "/proc"},
	} {
		got, err := mountBelow(strings.NewReader(mountinfo), tt.dir)
		if got != tt.want || err != nil {
			t.Errorf("mountBelow(%q) = %q, %v; want %q", tt.dir, got, err, tt.want)
		}
	}
}

// TestFanotifyMountInside mounts a filesystem inside the folder, in a
// mount namespace of its own, and checks that the watch uses inotify,
// which sees into it, and reports a change there.
func TestFanotifyMountInside(t *testing.T) {
	if !inChild() {
		requireFanotify(t)
		rerunInChild(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS})
		return
	}
	// Nothing mounted here may show outside the namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	mnt := filepath.Join(root, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, 0) })
	setBackend(t, true)
	wantBackend = "inotify"
	s := startWatch(t, root, testOpts)
	s.write("mnt/f", "x")
	if got := allPaths(t, s.waitCovered(changed("mnt/f"))); !slices.Equal(got, []string{"mnt/f"}) {
		t.Errorf("paths = %q, want [mnt/f]", got)
	}
}

// TestInotifyFirst: a watch uses inotify, and fanotify only when inotify's
// watch limit stops it.
func TestInotifyFirst(t *testing.T) {
	requireFanotify(t)
	old := fanotifyFirst
	t.Cleanup(func() { fanotifyFirst = old })
	fanotifyFirst = false
	wantOld := wantBackend
	t.Cleanup(func() { wantBackend = wantOld })

	wantBackend = "inotify"
	s := startWatch(t, t.TempDir(), testOpts)
	s.write("a", "x")
	s.waitCovered(changed("a"))

	oldStart := startInotify
	t.Cleanup(func() { startInotify = oldStart })
	startInotify = func(string, chan notify.EventInfo, *slog.Logger) (eventSource, error) {
		return nil, fmt.Errorf("inotify_add_watch: %w", unix.ENOSPC)
	}
	wantBackend = "fanotify"
	s = startWatch(t, t.TempDir(), testOpts)
	s.write("b", "x")
	s.waitCovered(changed("b"))
}
