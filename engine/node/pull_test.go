package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"ferry/engine"
	"ferry/index/chunker"
	"ferry/platform"
	"ferry/proto"
)

// fakeNet serves blocks of one file from memory; a device in corrupt
// answers with flipped bytes, and gate, if set, is waited on before answering.
type fakeNet struct {
	data    []byte
	corrupt map[proto.DeviceID]bool
	gate    chan struct{}

	mu    sync.Mutex
	calls map[proto.DeviceID]int
}

func (f *fakeNet) send(proto.DeviceID, proto.Message) {}

func (f *fakeNet) sendThen(proto.DeviceID, proto.Message, func()) {}

func (f *fakeNet) request(ctx context.Context, dev proto.DeviceID, req *proto.Request) ([]byte, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[proto.DeviceID]int{}
	}
	f.calls[dev]++
	f.mu.Unlock()
	if f.gate != nil {
		<-f.gate
	}
	out := bytes.Clone(f.data[req.Offset : req.Offset+int64(req.Size)])
	if f.corrupt[dev] {
		out[0] ^= 0xff
	}
	return out, nil
}

func (f *fakeNet) count(dev proto.DeviceID) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[dev]
}

func testRunner(t *testing.T, net network) (*folderRunner, string) {
	t.Helper()
	fs, dir := testFolder(t)
	r := &folderRunner{
		id: "docs", fs: fs, idx: testIndex(t), net: net, blockSlots: make(chan struct{}, folderBlocksInFlight),
		commits: newCommitter(fs), served: newOpenFiles(fs, time.Now),
	}
	runCommits(t, r)
	return r, dir
}

// testFolder is a new folder directory with its marker, opened.
func testFolder(t *testing.T) (*platform.Folder, string) {
	t.Helper()
	dir := t.TempDir()
	if err := platform.InitFolder(dir); err != nil {
		t.Fatal(err)
	}
	fs, err := platform.OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs, dir
}

// runCommits runs r's committer until the test ends.
func runCommits(t *testing.T, r *folderRunner) {
	t.Cleanup(r.served.close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.commits.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func testFile(t *testing.T, name string, size int) ([]byte, proto.FileInfo) {
	t.Helper()
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	blocks, err := chunker.Blocks(bytes.NewReader(data), chunker.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	return data, proto.FileInfo{
		Name: name, Type: proto.FileTypeFile, Size: int64(size), ModTime: 1_700_000_000_000_000_000,
		Mode: 0o640, Version: proto.Vector{{ID: 1, Value: 1}}, Blocks: blocks,
	}
}

var devA, devB = proto.DeviceID{1}, proto.DeviceID{2}

func pullOp(f proto.FileInfo, peers ...proto.DeviceID) engine.PullOp {
	return engine.PullOp{File: f, Local: make([]engine.LocalBlock, len(f.Blocks)), Peers: peers, Expect: engine.Expect{Absent: true}}
}

func TestPullRejectsBadBlocksAndAsksAnotherPeer(t *testing.T) {
	data, f := testFile(t, "dir/file.bin", 3<<20)
	net := &fakeNet{data: data, corrupt: map[proto.DeviceID]bool{devA: true}}
	r, dir := testRunner(t, net)
	var res engine.OpResult
	if err := r.pull(context.Background(), pullOp(f, devA, devB), &res); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "dir/file.bin"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("content differs (err %v)", err)
	}
	if net.count(devA) == 0 || net.count(devB) != len(f.Blocks) {
		t.Fatalf("requests: A %d, B %d, blocks %d", net.count(devA), net.count(devB), len(f.Blocks))
	}
	st, _ := os.Stat(filepath.Join(dir, "dir/file.bin"))
	if st.Mode().Perm() != 0o640 || st.ModTime().UnixNano() != f.ModTime {
		t.Fatalf("metadata not applied: %v %v", st.Mode(), st.ModTime())
	}
}

func TestPullFailsWhenEveryPeerLies(t *testing.T) {
	data, f := testFile(t, "file.bin", 1<<20)
	net := &fakeNet{data: data, corrupt: map[proto.DeviceID]bool{devA: true, devB: true}}
	r, dir := testRunner(t, net)
	var res engine.OpResult
	err := r.pull(context.Background(), pullOp(f, devA, devB), &res)
	if err == nil {
		t.Fatal("pull with only corrupt sources succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "file.bin")); !os.IsNotExist(err) {
		t.Fatalf("a file appeared at the name: %v", err)
	}
}

// A file changed locally while its pull is in flight is never overwritten.
func TestPullNeverOverwritesALocalChange(t *testing.T) {
	data, f := testFile(t, "notes.txt", 512<<10)
	net := &fakeNet{data: data, gate: make(chan struct{})}
	r, dir := testRunner(t, net)
	path := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := r.fs.Lstat("notes.txt")
	if err != nil {
		t.Fatal(err)
	}
	op := pullOp(f, devA)
	op.Expect = engine.Expect{Stat: engine.Stat(e)}
	done := make(chan error, 1)
	go func() {
		var res engine.OpResult
		done <- r.pull(context.Background(), op, &res)
	}()
	if err := os.WriteFile(path, []byte("edited while the pull ran"), 0o644); err != nil {
		t.Fatal(err)
	}
	close(net.gate)
	err = <-done
	if !errors.Is(err, platform.ErrChanged) {
		t.Fatalf("pull over a changed file: err = %v, want ErrChanged", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "edited while the pull ran" {
		t.Fatalf("local change lost: %q", got)
	}
}

// An interrupted pull resumes from its temp file: only missing blocks are fetched.
func TestPullResumesFromTempFile(t *testing.T) {
	data, f := testFile(t, "big.bin", 4<<20)
	net := &fakeNet{data: data}
	r, _ := testRunner(t, net)
	tmp, _, err := r.fs.OpenTemp(f.Name, tempTag(&f))
	if err != nil {
		t.Fatal(err)
	}
	half := len(f.Blocks) / 2
	if _, err := tmp.WriteAt(data[:f.Blocks[half].Offset], 0); err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	var res engine.OpResult
	if err := r.pull(context.Background(), pullOp(f, devA), &res); err != nil {
		t.Fatal(err)
	}
	if got := net.count(devA); got != len(f.Blocks)-half {
		t.Fatalf("fetched %d blocks, want %d of %d", got, len(f.Blocks)-half, len(f.Blocks))
	}
}

// Blocks found locally are copied, not fetched.
func TestPullCopiesLocalBlocks(t *testing.T) {
	data, f := testFile(t, "copy.bin", 2<<20)
	net := &fakeNet{data: data}
	r, dir := testRunner(t, net)
	if err := os.WriteFile(filepath.Join(dir, "orig.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	op := pullOp(f, devA)
	for i, b := range f.Blocks {
		op.Local[i] = engine.LocalBlock{Name: "orig.bin", Offset: b.Offset}
	}
	var res engine.OpResult
	if err := r.pull(context.Background(), op, &res); err != nil {
		t.Fatal(err)
	}
	if net.count(devA) != 0 {
		t.Fatalf("fetched %d blocks that were local", net.count(devA))
	}
}

// Cleaning temps removes what a pull left for a version no one pulls any
// more, and leaves alone the temp of a pull that is running.
func TestCleanTempsSparesRunningPulls(t *testing.T) {
	data, f := testFile(t, "big.bin", 1<<20)
	net := &fakeNet{data: data, gate: make(chan struct{})}
	r, dir := testRunner(t, net)
	r.log = slog.New(slog.DiscardHandler)
	old := f
	old.Version = old.Version.Update(devB.Short(), 7)
	left, _, err := r.fs.OpenTemp(old.Name, tempTag(&old))
	if err != nil {
		t.Fatal(err)
	}
	left.Close()
	done := make(chan error, 1)
	go func() {
		var res engine.OpResult
		done <- r.pull(context.Background(), pullOp(f, devA), &res)
	}()
	running := filepath.Join(dir, r.fs.TempName(f.Name, tempTag(&f)))
	for i := 0; ; i++ {
		if _, err := os.Stat(running); err == nil {
			break
		}
		if i == 500 {
			t.Fatal("the running pull made no temp file")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := r.cleanTemps(); got.Removed != 1 || got.Err != nil {
		t.Errorf("clean = %+v, want the one left over removed", got)
	}
	if _, err := os.Stat(filepath.Join(dir, r.fs.TempName(old.Name, tempTag(&old)))); !os.IsNotExist(err) {
		t.Errorf("the temp of the replaced version is still there: %v", err)
	}
	close(net.gate)
	if err := <-done; err != nil {
		t.Fatalf("the running pull failed after the clean: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, f.Name)); !bytes.Equal(got, data) {
		t.Errorf("pulled %d bytes, want the file", len(got))
	}
}
