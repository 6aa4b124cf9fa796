package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"ferry/engine"
	"ferry/engine/config"
	"ferry/index"
	"ferry/index/chunker"
	"ferry/index/history"
	"ferry/proto"
	"ferry/web"
)

// conflictFixture is a node with one folder, docs, whose runner has no
// engine: a scan it asks for is only recorded.
type conflictFixture struct {
	n     *Node
	r     *folderRunner
	dir   string
	seq   int64
	mu    sync.Mutex
	scans []string
}

var laptop = proto.DeviceID{0xab, 0xcd, 0xef, 0x01}

func newConflictFixture(t *testing.T, folder config.Folder) *conflictFixture {
	t.Helper()
	r, dir := testRunner(t, nil)
	log := slog.New(slog.DiscardHandler)
	k, err := openKeeper(t.TempDir(), time.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.close() })
	r.keeper, r.log, r.in, r.waiters = k, log, newInbox[engine.Input](), map[uint64]chan error{}
	folder.ID, folder.Path = "docs", dir
	cfg := config.Default()
	cfg.Name = "desk"
	cfg.Folders = []config.Folder{folder}
	cfg.Devices = []config.Device{{ID: laptop, Name: "Tom's laptop/../x"}}
	fx := &conflictFixture{r: r, dir: dir, n: &Node{cfg: cfg, id: proto.DeviceID{9}, keeper: k, log: log,
		folders: map[string]*folderHandle{"docs": {cfg: folder, runner: r}}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go fx.answerScans(ctx, done)
	t.Cleanup(func() { cancel(); <-done })
	return fx
}

// answerScans records the scans asked for and says each is done.
func (fx *conflictFixture) answerScans(ctx context.Context, done chan struct{}) {
	defer close(done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-fx.r.in.wake:
		}
		for _, in := range fx.r.in.take() {
			if s, ok := in.(engine.ScanRequest); ok {
				fx.mu.Lock()
				fx.scans = append(fx.scans, s.Subtree)
				fx.mu.Unlock()
				fx.r.event(engine.ScanDone{ID: s.ID})
			}
		}
	}
}

func (fx *conflictFixture) scanned() []string {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	return slices.Clone(fx.scans)
}

// put writes data at name and records it as made by by, as a scan would.
func (fx *conflictFixture) put(t *testing.T, name, data string, by proto.ShortID) proto.FileInfo {
	t.Helper()
	p := filepath.Join(fx.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	blocks, err := chunker.Blocks(strings.NewReader(data), chunker.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	e, err := fx.r.fs.Lstat(name)
	if err != nil {
		t.Fatal(err)
	}
	fx.seq++
	f := proto.FileInfo{Name: name, Type: proto.FileTypeFile, Size: int64(len(data)), ModTime: e.ModTime, Mode: 0o644,
		Version: proto.Vector{{ID: by, Value: uint64(fx.seq)}}, ModifiedBy: by, Sequence: fx.seq, Blocks: blocks}
	fx.record(t, f)
	return f
}

func (fx *conflictFixture) record(t *testing.T, f proto.FileInfo) {
	t.Helper()
	if err := fx.r.idx.Update(func(tx *index.Tx) error { return tx.PutLocal(f) }); err != nil {
		t.Fatal(err)
	}
}

func (fx *conflictFixture) read(name string) string {
	data, err := os.ReadFile(filepath.Join(fx.dir, filepath.FromSlash(name)))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(data)
}

const copyName = "notes.conflict-20261204-200102-ABCDEF0.txt"

// The listing finds the conflict copies of files by their names, numbered
// ones and those of files gone since among them, and says who made each
// side: a known device by ID and name, another by its short ID.
func TestListConflicts(t *testing.T) {
	fx := newConflictFixture(t, config.Folder{})
	stranger := proto.ShortID(0x1234567 << 36)
	orig := fx.put(t, "notes.txt", "mine", fx.n.id.Short())
	cp := fx.put(t, copyName, "theirs", laptop.Short())
	fx.put(t, "d/a.tar.conflict-20261204-200102-1234567-2.gz", "old", stranger)
	fx.put(t, "x.conflict-20261204-200102-ABCDEF0.conflict-20261204-200102-1234567", "odd", stranger)
	fx.put(t, "plain.conflict-today.txt", "not a copy", stranger)
	gone := fx.put(t, "gone.conflict-20261204-200102-ABCDEF0.txt", "deleted", stranger)
	gone.Deleted, gone.Sequence = true, 99
	fx.record(t, gone)
	if err := fx.r.idx.Update(func(tx *index.Tx) error {
		return tx.PutLocal(proto.FileInfo{Name: "dir.conflict-20261204-200102-ABCDEF0", Type: proto.FileTypeDir, Mode: 0o755,
			Version: proto.Vector{{ID: 1, Value: 1}}, Sequence: 100})
	}); err != nil {
		t.Fatal(err)
	}

	devs := knownDevices(fx.n.id, fx.n.cfg)
	cs, err := listConflicts(fx.r.idx, "docs", devs, web.MaxConflicts)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, c.Copy.Name+" > "+c.Original.Name)
	}
	want := []string{
		"d/a.tar.conflict-20261204-200102-1234567-2.gz > d/a.tar.gz",
		copyName + " > notes.txt",
		"x.conflict-20261204-200102-ABCDEF0.conflict-20261204-200102-1234567 > x.conflict-20261204-200102-1234567",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listed %q, want %q", got, want)
	}
	if o := cs[0].Original; o.Exists || o.Version != "" || o.Size != 0 {
		t.Errorf("a missing original listed as %+v", o)
	}
	if c := cs[0].Copy; c.Device != stranger.String() || c.DeviceName != "" {
		t.Errorf("an unknown device listed as %q named %q", c.Device, c.DeviceName)
	}
	n := cs[1]
	if n.Copy.Device != laptop.String() || n.Copy.DeviceName != "Tom's laptop/../x" || n.Copy.Size != 6 ||
		n.Copy.ModTime.UnixNano() != cp.ModTime || n.Copy.Version != versionToken(cp) {
		t.Errorf("copy listed as %+v", n.Copy)
	}
	if !n.Original.Exists || n.Original.Device != fx.n.id.String() || n.Original.DeviceName != "desk" || n.Original.Size != 4 ||
		n.Original.Version != versionToken(orig) {
		t.Errorf("original listed as %+v", n.Original)
	}
	if cs, err := listConflicts(fx.r.idx, "docs", devs, 1); err != nil || len(cs) != 1 {
		t.Fatalf("listing at most 1: %d, %v", len(cs), err)
	}
}

// A resolve request naming anything but a listed conflict copy as it was
// listed is refused, and touches nothing.
func TestResolveConflictRefuses(t *testing.T) {
	fx := newConflictFixture(t, config.Folder{})
	orig := fx.put(t, "notes.txt", "mine", fx.n.id.Short())
	cp := fx.put(t, copyName, "theirs", laptop.Short())
	fx.put(t, "plain.txt", "plain", laptop.Short())
	ok := web.ResolveRequest{Folder: "docs", Copy: copyName, Keep: web.KeepCopy, CopyVersion: versionToken(cp), OriginalVersion: versionToken(orig)}
	with := func(change func(*web.ResolveRequest)) web.ResolveRequest {
		req := ok
		change(&req)
		return req
	}
	for _, tc := range []struct {
		name string
		req  web.ResolveRequest
		kind error
		says string
	}{
		{"parent", with(func(r *web.ResolveRequest) { r.Copy = "../" + copyName }), web.ErrBadRequest, ""},
		{"absolute", with(func(r *web.ResolveRequest) { r.Copy = "/" + copyName }), web.ErrBadRequest, ""},
		{"dot dot inside", with(func(r *web.ResolveRequest) { r.Copy = "d/../" + copyName }), web.ErrBadRequest, ""},
		{"backslash", with(func(r *web.ResolveRequest) { r.Copy = `..\` + copyName }), web.ErrBadRequest, ""},
		{"not a copy", with(func(r *web.ResolveRequest) { r.Copy = "plain.txt" }), web.ErrBadRequest, "not the name of a conflict copy"},
		{"no such copy", with(func(r *web.ResolveRequest) { r.Copy = "notes.conflict-20261204-200102-ABCDEF0-2.txt" }), web.ErrNotFound, "no conflict copy"},
		{"no such folder", with(func(r *web.ResolveRequest) { r.Folder = "nope" }), web.ErrNotFound, ""},
		{"copy changed", with(func(r *web.ResolveRequest) { r.CopyVersion = "0123456789abcdef" }), web.ErrBadRequest, copyName + " changed since it was listed"},
		{"original changed", with(func(r *web.ResolveRequest) { r.OriginalVersion = "0123456789abcdef" }), web.ErrBadRequest, "notes.txt changed since it was listed"},
		{"original listed as missing", with(func(r *web.ResolveRequest) { r.OriginalVersion = "" }), web.ErrBadRequest, "notes.txt changed"},
		{"keep what", with(func(r *web.ResolveRequest) { r.Keep = "mine" }), web.ErrBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fx.n.ResolveConflict(context.Background(), tc.req)
			if !errors.Is(err, tc.kind) || !strings.Contains(errString(err), tc.says) {
				t.Fatalf("err %v, want %v saying %q", err, tc.kind, tc.says)
			}
		})
	}
	// A file changed on disk since its last scan: refused, and scanned so
	// that the next listing shows it.
	if err := os.WriteFile(filepath.Join(fx.dir, "notes.txt"), []byte("edited again"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := fx.n.ResolveConflict(context.Background(), ok)
	if !errors.Is(err, web.ErrBadRequest) || !strings.Contains(err.Error(), "since the folder was last scanned") {
		t.Fatalf("resolve over an unscanned change: %v", err)
	}
	if s := fx.scanned(); !slices.Equal(s, []string{"notes.txt"}) {
		t.Fatalf("scans %q, want notes.txt", s)
	}
	if fx.read("notes.txt") != "edited again" || fx.read(copyName) != "theirs" {
		t.Fatalf("a refused request changed the files: %q, %q", fx.read("notes.txt"), fx.read(copyName))
	}
	if vs, _ := fx.n.keeper.hist.Versions("docs", "notes.txt"); len(vs) != 0 {
		t.Fatalf("a refused request kept versions: %+v", vs)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// A receive-only folder resolves nothing; one that keeps no history
// only keeps both.
func TestResolveConflictFolderRules(t *testing.T) {
	none, err := history.ParseKeep("none")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		folder config.Folder
		keep   string
		says   string
	}{
		{config.Folder{Type: config.ReceiveOnly}, web.KeepBoth, "receive-only"},
		{config.Folder{Type: config.ReceiveOnly}, web.KeepOriginal, "receive-only"},
		{config.Folder{Keep: none}, web.KeepCopy, "keeps no history"},
		{config.Folder{Keep: none}, web.KeepOriginal, "keeps no history"},
	} {
		fx := newConflictFixture(t, tc.folder)
		orig := fx.put(t, "notes.txt", "mine", fx.n.id.Short())
		cp := fx.put(t, copyName, "theirs", laptop.Short())
		req := web.ResolveRequest{Folder: "docs", Copy: copyName, Keep: tc.keep, CopyVersion: versionToken(cp), OriginalVersion: versionToken(orig)}
		if _, err := fx.n.ResolveConflict(context.Background(), req); !errors.Is(err, web.ErrBadRequest) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s, keep %s: %v, want a refusal saying %q", tc.folder.Type, tc.keep, err, tc.says)
		}
		if fx.read(copyName) != "theirs" {
			t.Errorf("%s, keep %s: the copy was touched", tc.folder.Type, tc.keep)
		}
	}
}

// Each way to resolve leaves the expected files, scans what it changed,
// and keeps what it replaced or removed in the history, from where it
// comes back byte for byte.
func TestResolveConflict(t *testing.T) {
	for _, tc := range []struct {
		keep       string
		files      map[string]string // what the folder holds after
		restorable map[string]string // kept versions, by name
	}{
		{web.KeepCopy, map[string]string{"notes.txt": "theirs"}, map[string]string{"notes.txt": "mine", copyName: "theirs"}},
		{web.KeepOriginal, map[string]string{"notes.txt": "mine"}, map[string]string{copyName: "theirs"}},
		{web.KeepBoth, map[string]string{"notes.txt": "mine", "notes (Tom's laptop x 2026-12-04 20.01).txt": "theirs"}, nil},
	} {
		t.Run(tc.keep, func(t *testing.T) {
			fx := newConflictFixture(t, config.Folder{})
			orig := fx.put(t, "notes.txt", "mine", fx.n.id.Short())
			cp := fx.put(t, copyName, "theirs", laptop.Short())
			stamp := time.Date(2026, 12, 4, 20, 1, 2, 0, time.UTC).UnixNano()
			if err := fx.r.fs.SetMeta(copyName, stamp, 0o644); err != nil {
				t.Fatal(err)
			}
			e, _ := fx.r.fs.Lstat(copyName)
			cp.ModTime = e.ModTime
			fx.record(t, cp)
			req := web.ResolveRequest{Folder: "docs", Copy: copyName, Keep: tc.keep, CopyVersion: versionToken(cp), OriginalVersion: versionToken(orig)}
			res, err := fx.n.ResolveConflict(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			entries, _ := os.ReadDir(fx.dir)
			for _, e := range entries {
				if !strings.HasPrefix(e.Name(), ".ferry") {
					got[e.Name()] = fx.read(e.Name())
				}
			}
			if !maps.Equal(got, tc.files) {
				t.Fatalf("folder holds %q, want %q", got, tc.files)
			}
			if _, ok := tc.files[res.Name]; !ok {
				t.Errorf("result names %q, not a file there", res.Name)
			}
			if s := fx.scanned(); !slices.Contains(s, copyName) || !slices.Contains(s, res.Name) {
				t.Errorf("scans %q, want %s and %s", s, copyName, res.Name)
			}
			for name, want := range tc.restorable {
				vs, err := fx.n.keeper.hist.Versions("docs", name)
				if err != nil || len(vs) != 1 {
					t.Fatalf("kept versions of %s: %+v, %v", name, vs, err)
				}
				out := t.TempDir()
				if _, err := fx.n.Restore(context.Background(), web.RestoreRequest{Folder: "docs", Name: name, Version: vs[0].ID, To: out}); err != nil {
					t.Fatal(err)
				}
				if data, _ := os.ReadFile(filepath.Join(out, name)); !bytes.Equal(data, []byte(want)) {
					t.Errorf("restored %s: %q, want %q", name, data, want)
				}
			}
			if mt, _ := fx.r.fs.Lstat(res.Name); tc.keep != web.KeepOriginal && mt.ModTime != cp.ModTime {
				t.Errorf("%s has mtime %d, want the copy's %d", res.Name, mt.ModTime, cp.ModTime)
			}
		})
	}
}

// Keep both takes the next plain name when one is taken.
func TestResolveConflictKeepBothNumbers(t *testing.T) {
	fx := newConflictFixture(t, config.Folder{})
	orig := fx.put(t, "notes.txt", "mine", fx.n.id.Short())
	cp := fx.put(t, copyName, "theirs", proto.ShortID(0x1234567<<36))
	first := plainName("notes.txt", cp, knownDevices(fx.n.id, fx.n.cfg), 1)
	fx.put(t, first, "in the way", laptop.Short())
	// And one on disk the index does not know yet.
	second := plainName("notes.txt", cp, knownDevices(fx.n.id, fx.n.cfg), 2)
	if err := os.WriteFile(filepath.Join(fx.dir, second), []byte("also in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	req := web.ResolveRequest{Folder: "docs", Copy: copyName, Keep: web.KeepBoth, CopyVersion: versionToken(cp), OriginalVersion: versionToken(orig)}
	res, err := fx.n.ResolveConflict(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(second, " 2)", " 3)", 1)
	if res.Name != want || fx.read(want) != "theirs" || fx.read(first) != "in the way" || fx.read(second) != "also in the way" {
		t.Fatalf("kept as %q (want %q): %q", res.Name, want, fx.read(res.Name))
	}
	if !strings.HasPrefix(first, "notes (1234567 ") {
		t.Errorf("an unknown device's copy named %q, want its short ID in it", first)
	}
	if _, ok := engine.ParseConflictName(res.Name); ok {
		t.Errorf("%s still reads as a conflict copy", res.Name)
	}
}

func TestPlainName(t *testing.T) {
	at := time.Date(2026, 12, 4, 20, 1, 2, 0, time.UTC).UnixNano()
	dev := proto.DeviceID{1}
	named := func(n string) map[proto.ShortID]config.Device {
		return map[proto.ShortID]config.Device{dev.Short(): {ID: dev, Name: n}}
	}
	f := proto.FileInfo{ModTime: at, ModifiedBy: dev.Short()}
	long := strings.Repeat("é", 200) // 400 bytes
	for _, tc := range []struct {
		original, device string
		i                int
		want             string
	}{
		{"notes.txt", "laptop", 1, "notes (laptop 2026-12-04 20.01).txt"},
		{"d/notes.txt", "laptop", 3, "d/notes (laptop 2026-12-04 20.01 3).txt"},
		{"Makefile", "laptop", 1, "Makefile (laptop 2026-12-04 20.01)"},
		{".bashrc", "laptop", 1, ".bashrc (laptop 2026-12-04 20.01)"},
		{"a.tar.gz", "laptop", 1, "a.tar (laptop 2026-12-04 20.01).gz"},
		{"n.txt", "../../etc/passwd", 1, "n (etc passwd 2026-12-04 20.01).txt"},
		{"n.txt", "x.conflict-20261204-200102-ABCDEF0", 1, "n (x conflict-20261204-200102-ABCDE 2026-12-04 20.01).txt"},
		{"n.txt", "a\x00b\tc:*?\"<>|\\d", 1, "n (a b c d 2026-12-04 20.01).txt"},
		{"n.txt", "...", 1, "n (" + dev.Short().String() + " 2026-12-04 20.01).txt"},
		{"n.txt", strings.Repeat("long", 20), 1, "n (" + strings.Repeat("long", 8) + " 2026-12-04 20.01).txt"},
	} {
		if got := plainName(tc.original, f, named(tc.device), tc.i); got != tc.want {
			t.Errorf("plainName(%q, device %q, %d) = %q, want %q", tc.original, tc.device, tc.i, got, tc.want)
		}
	}
	got := plainName(long+".txt", f, named("laptop"), 1)
	if len(got) > 255 || !utf8.ValidString(got) || !strings.HasSuffix(got, " (laptop 2026-12-04 20.01).txt") {
		t.Errorf("plain name of a long name: %d bytes, %q", len(got), got)
	}
	if err := proto.ValidName(got); err != nil {
		t.Error(err)
	}
}
