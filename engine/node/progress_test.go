package node

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ferry/engine"
	"ferry/engine/config"
	"ferry/index/chunker"
	"ferry/proto"
)

// stepNet serves blocks of one file from memory, one each time a token
// arrives on tokens, and gives up when the request's context ends.
type stepNet struct {
	data   []byte
	tokens chan struct{}
}

func (n *stepNet) send(proto.DeviceID, proto.Message) {}

func (n *stepNet) sendThen(proto.DeviceID, proto.Message, func()) {}

func (n *stepNet) request(ctx context.Context, _ proto.DeviceID, req *proto.Request) ([]byte, error) {
	select {
	case <-n.tokens:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return bytes.Clone(n.data[req.Offset : req.Offset+int64(req.Size)]), nil
}

// engineRunner is a folder runner with its engine, as the node makes it,
// whose loop the test steps by hand.
func engineRunner(t *testing.T, net network) (*folderRunner, string) {
	t.Helper()
	fs, dir := testFolder(t)
	cfg := engine.Config{Folder: "docs", Local: devA, Devices: []proto.DeviceID{devB}}
	r, err := newFolderRunner(cfg, fs, testIndex(t), net, slog.New(slog.DiscardHandler), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	runCommits(t, r)
	return r, dir
}

// pullingNow is the one pull r shows, failing unless there is exactly one.
func pullingNow(t *testing.T, r *folderRunner) pullState {
	t.Helper()
	_, pulling, n := r.progress()
	if n != 1 || len(pulling) != 1 {
		t.Fatalf("%d pulls in flight (%d shown), want 1", n, len(pulling))
	}
	return pulling[0]
}

// A file pulled block by block shows its bytes in place growing with each
// block, never past its size; once the engine has its result, nothing of
// it is left, and the folder's need never goes below zero.
func TestPullProgressGrowsBlockByBlock(t *testing.T) {
	data, f := testFile(t, "big.bin", 3<<20)
	net := &stepNet{data: data, tokens: make(chan struct{})}
	r, dir := engineRunner(t, net)
	ctx := context.Background()
	r.start(ctx, pullOp(f, devB))
	waitUntil(t, func() bool { _, n, _ := r.pulls.snapshot(0); return n == 1 })
	if p := pullingNow(t, r); p.Name != f.Name || p.Size != f.Size || p.Done != 0 {
		t.Fatalf("pulling %+v before any block, file %s of %d bytes", p, f.Name, f.Size)
	}
	var last int64
	for range f.Blocks {
		net.tokens <- struct{}{} // one more block
		waitUntil(t, func() bool {
			_, pulling, _ := r.progress()
			return len(pulling) == 1 && pulling[0].Done > last
		})
		p := pullingNow(t, r)
		if p.Done > p.Size || p.Done-last > int64(chunker.DefaultParams.Max) {
			t.Fatalf("done went from %d to %d of %d with one block", last, p.Done, p.Size)
		}
		last = p.Done
	}
	r.work.Wait()
	if p := pullingNow(t, r); p.Done != f.Size {
		t.Fatalf("pull done, %d of %d bytes in place", p.Done, f.Size)
	}
	if st, _, _ := r.progress(); st.NeedBytes != 0 {
		t.Fatalf("need %d bytes: the done bytes of a file the engine does not need made it negative or more", st.NeedBytes)
	}
	r.step(ctx)
	if _, pulling, n := r.progress(); n != 0 || len(pulling) != 0 {
		t.Fatalf("after the engine took the result, %d pulls left: %+v", n, pulling)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, f.Name)); !bytes.Equal(got, data) {
		t.Fatalf("pulled %d bytes, want the file", len(got))
	}
}

// A pull cancelled half way keeps its bytes counted until the engine has
// its result, then leaves nothing behind.
func TestPullProgressOfACancelledPull(t *testing.T) {
	data, f := testFile(t, "big.bin", 3<<20)
	net := &stepNet{data: data, tokens: make(chan struct{})}
	r, _ := engineRunner(t, net)
	ctx, cancel := context.WithCancel(context.Background())
	r.start(ctx, pullOp(f, devB))
	for range 2 {
		net.tokens <- struct{}{}
	}
	waitUntil(t, func() bool {
		_, pulling, _ := r.progress()
		return len(pulling) == 1 && pulling[0].Done > 0
	})
	cancel()
	r.work.Wait()
	if p := pullingNow(t, r); p.Done <= 0 || p.Done >= p.Size {
		t.Fatalf("cancelled pull shows %d of %d bytes", p.Done, p.Size)
	}
	r.step(context.Background())
	if _, pulling, n := r.progress(); n != 0 || len(pulling) != 0 {
		t.Fatalf("after the cancelled pull, %d pulls left: %+v", n, pulling)
	}
}

// Blocks a pull does not fetch count as in place: those an interrupted
// pull left in the temp file from the start, and those copied from a local
// file as they are copied.
func TestPullProgressCountsReusedBlocks(t *testing.T) {
	data, f := testFile(t, "big.bin", 4<<20)
	net := &stepNet{data: data, tokens: make(chan struct{})}
	r, dir := engineRunner(t, net)
	tmp, _, err := r.fs.OpenTemp(f.Name, tempTag(&f))
	if err != nil {
		t.Fatal(err)
	}
	half := len(f.Blocks) / 2
	kept := f.Blocks[half].Offset
	if _, err := tmp.WriteAt(data[:kept], 0); err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	// The last block is in a local file.
	lastB := f.Blocks[len(f.Blocks)-1]
	if err := os.WriteFile(filepath.Join(dir, "orig.bin"), data[lastB.Offset:], 0o644); err != nil {
		t.Fatal(err)
	}
	op := pullOp(f, devB)
	op.Local[len(f.Blocks)-1] = engine.LocalBlock{Name: "orig.bin"}
	r.start(context.Background(), op)
	waitUntil(t, func() bool {
		_, pulling, _ := r.progress()
		return len(pulling) == 1 && pulling[0].Done == kept+int64(lastB.Size)
	})
	for range len(f.Blocks) - half - 1 {
		net.tokens <- struct{}{}
	}
	r.work.Wait()
	if p := pullingNow(t, r); p.Done != f.Size {
		t.Fatalf("pull done, %d of %d bytes in place", p.Done, f.Size)
	}
}

// The status names at most maxPullingShown pulls, the first begun first,
// counts them all, and keeps each one's bytes within its size.
func TestPullProgressSnapshotBounds(t *testing.T) {
	var p pullProgress
	for i := range maxPullingShown + 3 {
		f := p.begin(string(rune('a'+i)), 100, 10)
		f.add(int64(i))
	}
	p.begin("over", 50, 0).add(80)
	p.begin("under", 50, 0).add(-10)
	shown, n, done := p.snapshot(maxPullingShown)
	if n != maxPullingShown+5 || len(shown) != maxPullingShown {
		t.Fatalf("%d in flight, %d shown", n, len(shown))
	}
	for i, s := range shown {
		if s.Name != string(rune('a'+i)) || s.Done != int64(10+i) {
			t.Fatalf("shown[%d] = %+v", i, s)
		}
	}
	var want int64 = 50 // "over" counts its size, "under" nothing
	for i := range maxPullingShown + 3 {
		want += int64(10 + i)
	}
	if done != want {
		t.Fatalf("done %d, want %d", done, want)
	}
	p.end("a")
	p.end("over")
	if _, n, _ := p.snapshot(0); n != maxPullingShown+3 {
		t.Fatalf("%d in flight after two ended", n)
	}
}

// The folder's status names the pulls in flight, at most maxPullingShown
// of them, and counts them all.
func TestFolderStatusShowsPulls(t *testing.T) {
	r, dir := engineRunner(t, &stepNet{})
	for i := range maxPullingShown + 2 {
		r.pulls.begin(string(rune('a'+i)), 100, 40)
	}
	fs := folderStatus(config.Folder{ID: "docs", Path: dir}, r, nil)
	if fs.PullingFiles != maxPullingShown+2 || len(fs.Pulling) != maxPullingShown {
		t.Fatalf("status shows %d of %d pulls", len(fs.Pulling), fs.PullingFiles)
	}
	if p := fs.Pulling[0]; p.Name != "a" || p.Size != 100 || p.Done != 40 {
		t.Fatalf("first pull shown as %+v", p)
	}
	if fs.NeedBytes != 0 {
		t.Fatalf("need %d bytes, want 0: bytes in place never make it negative", fs.NeedBytes)
	}
}
