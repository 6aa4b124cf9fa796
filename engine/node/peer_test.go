package node

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ferry/index"
	"ferry/index/chunker"
	"ferry/proto"
)

// pipeConn returns a peerConn over one end of an in-memory pipe, with its
// write loop running, and the other end, which nothing reads unless the
// test does.
func pipeConn(t *testing.T) (*peerConn, net.Conn) {
	t.Helper()
	a, b := net.Pipe()
	c := newPeerConn(addrConn{a, "peer"}, devA, devA, &counters{})
	go c.writeLoop()
	t.Cleanup(func() { c.close("test over"); b.Close() })
	return c, b
}

// The engine's messages are queued without waiting: a peer that stops
// reading never holds up the caller, which sends to every peer in turn.
// Past the queue's bound the connection is dropped instead.
func TestSendNeverBlocksOnAStuckPeer(t *testing.T) {
	c, _ := pipeConn(t) // the other end never reads
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200_000 {
			c.send(&proto.IndexUpdate{Folder: "docs", IndexID: 1})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("send blocked on a peer that does not read")
	}
	select {
	case <-c.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("a peer that let 200,000 messages pile up is still connected")
	}
	if r := c.closeReason(); !strings.Contains(r, "not reading") {
		t.Fatalf("closed because %q", r)
	}
}

// A write that makes no progress for a minute ends the connection.
func TestStuckReaderIsDisconnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := net.Pipe()
		defer b.Close()
		c := newPeerConn(addrConn{a, "peer"}, devA, devA, &counters{})
		done := make(chan struct{})
		go func() { c.writeLoop(); close(done) }()
		c.send(&proto.IndexUpdate{Folder: "docs", IndexID: 1})
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if isClosed(c.closed) {
			t.Fatal("closed before the write deadline")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if !isClosed(c.closed) {
			b.Close() // ends the stuck write
			<-done
			t.Fatal("a peer that read nothing for 61 s is still connected")
		}
		<-done
		if r := c.closeReason(); !strings.Contains(r, "write") {
			t.Fatalf("closed because %q", r)
		}
	})
}

// blockingHandler serves every block request with one byte once release
// is closed, counting the requests it has started.
type blockingHandler struct {
	recordingHandler
	release chan struct{}
	mu      sync.Mutex
	started int
}

func (h *blockingHandler) serveBlock(*peerConn, *proto.Request) *proto.Response {
	h.mu.Lock()
	h.started++
	h.mu.Unlock()
	<-h.release
	return &proto.Response{Code: proto.CodeOK, Data: []byte{1}}
}

// A peer that floods block requests gets no goroutine per request: a few
// workers serve them from a bounded queue, and what does not fit is
// answered at once with an error. Every request gets one answer.
func TestServeQueueIsBounded(t *testing.T) {
	h := &blockingHandler{release: make(chan struct{})}
	m := newConnManager(testKeypair(t, proto.DeviceID{}), h, slog.New(slog.DiscardHandler), time.Now)
	c, peer := pipeConn(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	read := make(chan error, 1)
	go func() { read <- m.readLoop(ctx, c) }()

	const flood = 5000
	answers := make(chan *proto.Response, flood)
	go func() {
		r := proto.NewMessageReader(peer)
		for {
			msg, err := r.Read()
			if err != nil {
				return
			}
			if resp, ok := msg.(*proto.Response); ok {
				answers <- resp
			}
		}
	}()
	before := runtime.NumGoroutine()
	for i := range flood {
		req := &proto.Request{ID: uint32(i + 1), Folder: "docs", Name: "f", Size: 1}
		if err := proto.WriteMessage(peer, req); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	grown := runtime.NumGoroutine() - before
	if grown > 100 {
		t.Fatalf("%d queued requests made %d goroutines", flood, grown)
	}
	close(h.release)
	seen := make(map[uint32]bool)
	busy := 0
	for range flood {
		select {
		case resp := <-answers:
			if seen[resp.ID] {
				t.Fatalf("request %d answered twice", resp.ID)
			}
			seen[resp.ID] = true
			if resp.Code != proto.CodeOK {
				busy++
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d requests answered", len(seen), flood)
		}
	}
	if busy == 0 {
		t.Fatal("no request was refused, so the queue held all of them")
	}
	h.mu.Lock()
	started := h.started
	h.mu.Unlock()
	if started+busy != flood {
		t.Fatalf("%d served and %d refused of %d", started, busy, flood)
	}
}

// A response whose data is not the size of the block asked for is refused
// before its data is looked at, and the connection is dropped.
func TestResponseOfWrongLengthRefused(t *testing.T) {
	m := newConnManager(testKeypair(t, proto.DeviceID{}), &recordingHandler{}, slog.New(slog.DiscardHandler), time.Now)
	c, peer := pipeConn(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	read := make(chan error, 1)
	go func() { read <- m.readLoop(ctx, c) }()
	go func() {
		r := proto.NewMessageReader(peer)
		for {
			msg, err := r.Read()
			if err != nil {
				return
			}
			if req, ok := msg.(*proto.Request); ok {
				data := make([]byte, req.Size+1000) // more than asked for
				proto.WriteMessage(peer, &proto.Response{ID: req.ID, Code: proto.CodeOK, Data: data})
			}
		}
	}()
	data, err := c.request(ctx, &proto.Request{Folder: "docs", Name: "f", Size: 64})
	if err == nil {
		t.Fatalf("a response of %d bytes to a request of 64 was taken", len(data))
	}
	select {
	case err := <-read:
		if !strings.Contains(err.Error(), "bytes") {
			t.Fatalf("read loop ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the connection stayed up after a response of the wrong size")
	}
}

// Only a block the local record lists is served: its hash, at its offset,
// of its size. Any other size or offset, even of a listed hash, is refused.
func TestServeBlockOnlyAnnouncedBlocks(t *testing.T) {
	r, dir := testRunner(t, &fakeNet{})
	first, second := []byte("the first block of the file"), []byte("and the second, a little longer")
	data := append(append([]byte{}, first...), second...)
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	b0 := proto.Block{Offset: 0, Size: int32(len(first)), Hash: chunker.HashBlock(first)}
	b1 := proto.Block{Offset: int64(len(first)), Size: int32(len(second)), Hash: chunker.HashBlock(second)}
	f := proto.FileInfo{
		Name: "f.txt", Type: proto.FileTypeFile, Size: int64(len(data)), Sequence: 1, Mode: 0o644,
		Version: proto.Vector{{ID: 1, Value: 1}}, Blocks: []proto.Block{b0, b1},
	}
	if err := r.idx.Update(func(tx *index.Tx) error { return tx.PutLocal(f) }); err != nil {
		t.Fatal(err)
	}
	n := &Node{folders: map[string]*folderHandle{"docs": {runner: r, fs: r.fs, shared: map[proto.DeviceID]bool{devA: true}}}}
	req := func(b proto.Block) *proto.Request {
		return &proto.Request{Folder: "docs", Name: "f.txt", Offset: b.Offset, Size: b.Size, Hash: b.Hash}
	}
	cases := []struct {
		name string
		blk  proto.Block
		want proto.ErrorCode
	}{
		{"first", b0, proto.CodeOK},
		{"second", b1, proto.CodeOK},
		{"first hash, longer", proto.Block{Offset: 0, Size: int32(len(data)), Hash: b0.Hash}, proto.CodeChanged},
		{"first hash, shorter", proto.Block{Offset: 0, Size: 3, Hash: b0.Hash}, proto.CodeChanged},
		{"first hash at the second's offset", proto.Block{Offset: b1.Offset, Size: b0.Size, Hash: b0.Hash}, proto.CodeChanged},
		{"second hash, one byte in", proto.Block{Offset: b1.Offset + 1, Size: b1.Size - 1, Hash: b1.Hash}, proto.CodeChanged},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := n.serveBlock(&peerConn{dev: devA}, req(tc.blk))
			if resp.Code != tc.want {
				t.Fatalf("code %v, want %v", resp.Code, tc.want)
			}
		})
	}
}

// A block request waits as long as the connection answers other requests,
// as on a slow link with many queued ahead of it, up to maxRequestWait;
// once no response at all has come for requestTimeout it fails.
func TestRequestWaitsWhileResponsesFlow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers time.Duration // how long other requests are answered
		want    time.Duration // when the unanswered request fails
	}{
		{"nothing answered", 0, requestTimeout},
		{"others answered for 4 minutes", 4 * time.Minute, 4*time.Minute + requestTimeout},
		{"others answered for good", time.Hour, maxRequestWait},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := net.Pipe()
				defer b.Close()
				c := newPeerConn(addrConn{a, "peer"}, devA, devA, &counters{})
				go c.writeLoop()
				defer c.close("test over")
				// The peer answers every request but the one for "stuck".
				go func() {
					r := proto.NewMessageReader(b)
					for {
						msg, err := r.Read()
						if err != nil {
							return
						}
						if req, ok := msg.(*proto.Request); ok && req.Name != "stuck" {
							c.deliver(&proto.Response{ID: req.ID, Code: proto.CodeOK, Data: make([]byte, req.Size)})
						}
					}
				}()
				start := time.Now()
				stop, stopped := make(chan struct{}), make(chan struct{})
				go func() {
					defer close(stopped)
					for time.Since(start) < tc.answers {
						select {
						case <-stop:
							return
						case <-time.After(20 * time.Second):
						}
						if _, err := c.request(t.Context(), &proto.Request{Folder: "docs", Name: "moving", Size: 8}); err != nil {
							t.Errorf("answered request: %v", err)
							return
						}
					}
				}()
				_, err := c.request(t.Context(), &proto.Request{Folder: "docs", Name: "stuck", Size: 8})
				if took := time.Since(start); err == nil || took < tc.want || took > tc.want+20*time.Second {
					t.Errorf("unanswered request ended after %v with %v, want a timeout after %v", took, err, tc.want)
				}
				close(stop)
				<-stopped
				c.close("test over")
			})
		})
	}
}

// A paced message reports that it went out only once the connection wrote
// it: behind a backlog the peer does not read, it stays unreported; once
// the peer reads, it is reported, and the peer gets it.
func TestSendThenReportsWrittenMessages(t *testing.T) {
	c, b := pipeConn(t)
	const backlog = 40 // messages of some 22 KB, more than the write buffer holds
	for m := range backlog {
		u := &proto.IndexUpdate{Folder: "docs", IndexID: 1}
		for i := range 200 {
			u.Files = append(u.Files, proto.FileInfo{Name: fmt.Sprintf("backlog/%03d/%0100d", m, i), Type: proto.FileTypeDir, Sequence: int64(i + 1), Version: proto.Vector{{ID: 1, Value: 1}}})
		}
		c.send(u)
	}
	written := make(chan struct{}, 1)
	c.sendThen(&proto.IndexUpdate{Folder: "docs", IndexID: 7}, func() { written <- struct{}{} })
	select {
	case <-written:
		t.Fatal("reported while the peer read nothing")
	case <-time.After(200 * time.Millisecond):
	}
	got := make(chan *proto.IndexUpdate, backlog+1)
	go func() {
		r := proto.NewMessageReader(b)
		for range backlog + 1 {
			m, err := r.Read()
			if err != nil {
				t.Error(err)
				return
			}
			u, _ := m.(*proto.IndexUpdate)
			got <- u
		}
	}()
	select {
	case <-written:
	case <-time.After(10 * time.Second):
		t.Fatalf("a message the peer read was never reported (closed: %q)", c.closeReason())
	}
	for range backlog {
		if u := <-got; u == nil || u.IndexID != 1 {
			t.Fatal("the peer did not get the backlog first")
		}
	}
	if u := <-got; u == nil || u.IndexID != 7 {
		t.Fatal("the peer did not get the paced message")
	}
}
