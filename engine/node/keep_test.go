package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"ferry/engine"
	"ferry/index/chunker"
	"ferry/platform"
	"ferry/proto"
)

// keeperRunner is a test runner with a keeper under a fresh home, and the
// local file old at its name, recorded as oldF.
func keeperRunner(t *testing.T, net network, name string, old []byte) (*folderRunner, string, proto.FileInfo) {
	t.Helper()
	r, dir := testRunner(t, net)
	k, err := openKeeper(t.TempDir(), time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.close() })
	r.keeper = k
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	blocks, err := chunker.Blocks(bytes.NewReader(old), chunker.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	e, err := r.fs.Lstat(name)
	if err != nil {
		t.Fatal(err)
	}
	return r, dir, proto.FileInfo{Name: name, Size: int64(len(old)), ModTime: e.ModTime, Mode: 0o644,
		Version: proto.Vector{{ID: 9, Value: 1}}, Blocks: blocks}
}

// A pull that replaces a local file keeps it first: its record goes into
// the history and its blocks into the store, readable and verified.
func TestPullKeepsWhatItReplaces(t *testing.T) {
	data, f := testFile(t, "report.bin", 1<<20)
	old := bytes.Repeat([]byte("the old report "), 40_000)
	r, dir, oldF := keeperRunner(t, &fakeNet{data: data}, "report.bin", old)
	e, _ := r.fs.Lstat("report.bin")
	op := pullOp(f, devA)
	op.Expect = engine.Expect{Stat: engine.Stat(e)}
	op.Keep = &engine.Keep{File: oldF, Kind: engine.KeepReplaced, By: devA.Short()}
	var res engine.OpResult
	if err := r.pull(context.Background(), op, &res); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "report.bin")); !bytes.Equal(got, data) {
		t.Fatal("the pulled version is not in place")
	}
	vs, err := r.keeper.hist.Versions("docs", "report.bin")
	if err != nil || len(vs) != 1 || !vs[0].File.Version.Equal(oldF.Version) || vs[0].By != devA.Short() || vs[0].Kind.String() != "edited" {
		t.Fatalf("history %+v, %v; want the old version, replaced by A", vs, err)
	}
	var back []byte
	for _, b := range vs[0].File.Blocks {
		got, err := r.keeper.store.Get(b.Hash, nil)
		if err != nil {
			t.Fatal(err)
		}
		back = append(back, got...)
	}
	if !bytes.Equal(back, old) {
		t.Fatalf("the kept blocks give %d bytes, not the old file", len(back))
	}
	// Kept again (the operation tried once more): recorded once.
	if err := r.keep(op.Keep); err != nil {
		t.Fatal(err)
	}
	if vs, _ := r.keeper.hist.Versions("docs", "report.bin"); len(vs) != 1 {
		t.Errorf("%d versions after keeping the same version twice", len(vs))
	}
}

// A local file that changed since it was recorded is not kept as if it
// were the recorded version, and the operation does not go on: the change
// made here is never replaced unseen.
func TestKeepRefusesAChangedFile(t *testing.T) {
	data, f := testFile(t, "notes.txt", 256<<10)
	old := bytes.Repeat([]byte("notes "), 20_000)
	r, dir, oldF := keeperRunner(t, &fakeNet{data: data}, "notes.txt", old)
	edited := bytes.Clone(old)
	copy(edited[1000:], "EDITED")
	path := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(path, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	e, _ := r.fs.Lstat("notes.txt")
	op := engine.DeleteOp{File: f, Expect: engine.Expect{Stat: engine.Stat(e)},
		Keep: &engine.Keep{File: oldF, Kind: engine.KeepDeleted, By: devA.Short()}}
	res := r.fileOp(context.Background(), op)
	if !res.Changed || !errors.Is(res.Err, platform.ErrChanged) {
		t.Fatalf("delete of a changed file: %+v, want it refused as changed", res)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, edited) {
		t.Fatal("the edited file was touched")
	}
	if vs, _ := r.keeper.hist.Versions("docs", "notes.txt"); len(vs) != 0 {
		t.Errorf("history holds %d versions of a file that did not match its record", len(vs))
	}
}

// Only a device the folder is shared with learns what this device keeps of
// it, or gets a kept block; the answer lists the versions newest first.
func TestHistoryAnswersOnlySharedDevices(t *testing.T) {
	r, _, oldF := keeperRunner(t, &fakeNet{}, "report.bin", bytes.Repeat([]byte("old "), 10_000))
	if err := r.keep(&engine.Keep{File: oldF, Kind: engine.KeepReplaced, By: devA.Short()}); err != nil {
		t.Fatal(err)
	}
	n := &Node{keeper: r.keeper, folders: map[string]*folderHandle{"docs": {runner: r, shared: map[proto.DeviceID]bool{devA: true}}}}
	friend, stranger := &peerConn{dev: devA}, &peerConn{dev: devB}
	if res := n.history(stranger, &proto.HistoryRequest{Folder: "docs", Name: "report.bin"}); res.Code != proto.CodeInvalid || len(res.Versions) != 0 {
		t.Errorf("a device the folder is not shared with got %+v", res)
	}
	res := n.history(friend, &proto.HistoryRequest{Folder: "docs", Name: "report.bin"})
	if res.Code != proto.CodeOK || len(res.Versions) != 1 || !res.Versions[0].File.Version.Equal(oldF.Version) {
		t.Fatalf("the device the folder is shared with got %+v", res)
	}
	b := oldF.Blocks[0]
	req := &proto.Request{Folder: "docs", Name: "report.bin", Size: b.Size, Hash: b.Hash, History: true}
	if got := n.serveBlock(stranger, req); got.Code != proto.CodeInvalid {
		t.Errorf("a kept block went to a stranger: %+v", got.Code)
	}
	got := n.serveBlock(friend, req)
	if got.Code != proto.CodeOK || !bytes.Equal(got.Data, bytes.Repeat([]byte("old "), 10_000)[:b.Size]) {
		t.Errorf("kept block: code %v, %d bytes", got.Code, len(got.Data))
	}
	if got := n.serveBlock(friend, &proto.Request{Folder: "docs", Name: "report.bin", Size: b.Size + 1, Hash: b.Hash, History: true}); got.Code == proto.CodeOK {
		t.Error("a kept block was served for a request of another size")
	}
}

// The later pages of a question about a folder's past reuse what its first
// page computed; a new question computes again.
func TestPastPagesReuseTheFirstPage(t *testing.T) {
	var p pastPages
	computed := 0
	compute := func() (map[string]pastFile, error) {
		computed++
		return map[string]pastFile{"b": {}, "a": {}, "c": {}}, nil
	}
	first := &proto.HistoryRequest{Folder: "docs", At: 5}
	names, _, err := p.get(devA, first, compute)
	if err != nil || !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("first page: %q, %v", names, err)
	}
	for _, after := range []string{"a", "b"} {
		if _, _, err := p.get(devA, &proto.HistoryRequest{Folder: "docs", At: 5, After: after}, compute); err != nil {
			t.Fatal(err)
		}
	}
	if computed != 1 {
		t.Errorf("three pages computed the past %d times, want once", computed)
	}
	p.get(devB, &proto.HistoryRequest{Folder: "docs", At: 5, After: "a"}, compute)
	p.get(devA, &proto.HistoryRequest{Folder: "docs", At: 6, After: "a"}, compute)
	p.get(devA, first, compute)
	if computed != 4 {
		t.Errorf("another device, another moment and a new first page computed %d times in all, want 4", computed)
	}
	for i := range 10 {
		p.get(devA, &proto.HistoryRequest{Folder: "docs", At: int64(100 + i)}, compute)
	}
	if len(p.entries) > pastPagesKept {
		t.Errorf("%d answers kept, want at most %d", len(p.entries), pastPagesKept)
	}
}
