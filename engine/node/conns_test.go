package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/index"
	"ferry/index/chunker"
	"ferry/proto"
	"ferry/proto/noise"
	"ferry/proto/pair"
)

type recordingHandler struct {
	events []string
	paired chan []byte // what a pairing connection starts with
}

func (h *recordingHandler) trusted(proto.DeviceID) bool                          { return true }
func (h *recordingHandler) paused(proto.DeviceID) bool                           { return false }
func (h *recordingHandler) addrs(proto.DeviceID) []string                        { return nil }
func (h *recordingHandler) hello(proto.DeviceID) *proto.Hello                    { return &proto.Hello{} }
func (h *recordingHandler) index(*peerConn, *proto.IndexUpdate) error            { return nil }
func (h *recordingHandler) up(c *peerConn, _ *proto.Hello)                       { h.events = append(h.events, "up "+c.addr) }
func (h *recordingHandler) down(c *peerConn)                                     { h.events = append(h.events, "down "+c.addr) }
func (h *recordingHandler) serveBlock(*peerConn, *proto.Request) *proto.Response { return nil }
func (h *recordingHandler) history(*peerConn, *proto.HistoryRequest) *proto.HistoryResponse {
	return &proto.HistoryResponse{Code: proto.CodeInvalid}
}
func (h *recordingHandler) relay(*peerConn, *proto.Relay) {}
func (h *recordingHandler) relayTo(*peerConn, proto.DeviceID) (*relayStream, error) {
	return nil, errors.New("no relay")
}
func (h *recordingHandler) pairing(_ context.Context, nc net.Conn) {
	head := make([]byte, 64)
	n, _ := io.ReadAtLeast(nc, head, pair.SniffLen+3)
	nc.Close()
	h.paired <- head[:n]
}

type namedAddr string

func (a namedAddr) Network() string { return "test" }
func (a namedAddr) String() string  { return string(a) }

type addrConn struct {
	net.Conn
	addr string
}

func (c addrConn) RemoteAddr() net.Addr { return namedAddr(c.addr) }

func testConn(t *testing.T, name string, dev, dialer proto.DeviceID) *peerConn {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	go func() { // drain what the conn writes (a Close on close)
		buf := make([]byte, 1024)
		for {
			if _, err := b.Read(buf); err != nil {
				return
			}
		}
	}()
	return newPeerConn(addrConn{a, name}, dev, dialer, &counters{})
}

// When both devices dial each other, both keep the connection dialled by
// the smaller device ID; a newer connection in the same direction replaces
// the old one, and the old one goes down before the new one comes up.
func TestRegisterKeepsOneConnection(t *testing.T) {
	self, peer := proto.DeviceID{9}, proto.DeviceID{3} // peer is smaller
	h := &recordingHandler{}
	m := newConnManager(testKeypair(t, self), h, slog.Default(), time.Now)
	m.self = self

	ours := testConn(t, "dialled-by-us", peer, self)
	if !m.register(ours, &proto.Hello{}) {
		t.Fatal("first connection refused")
	}
	theirs := testConn(t, "dialled-by-peer", peer, peer)
	if !m.register(theirs, &proto.Hello{}) {
		t.Fatal("connection dialled by the smaller ID refused")
	}
	if !isClosed(ours.closed) {
		t.Fatal("replaced connection left open")
	}
	again := testConn(t, "dialled-by-us-again", peer, self)
	if m.register(again, &proto.Hello{}) {
		t.Fatal("connection dialled by the larger ID replaced the preferred one")
	}
	newer := testConn(t, "dialled-by-peer-again", peer, peer)
	if !m.register(newer, &proto.Hello{}) {
		t.Fatal("a newer connection in the same direction was refused")
	}
	want := []string{"up dialled-by-us", "down dialled-by-us", "up dialled-by-peer", "down dialled-by-peer", "up dialled-by-peer-again"}
	if len(h.events) != len(want) {
		t.Fatalf("events %v, want %v", h.events, want)
	}
	for i := range want {
		if h.events[i] != want[i] {
			t.Fatalf("events %v, want %v", h.events, want)
		}
	}
	if m.conn(peer) != newer {
		t.Fatal("current connection is not the newest preferred one")
	}
	m.unregister(theirs) // a stale connection ending changes nothing
	if m.conn(peer) != newer || len(h.events) != len(want) {
		t.Fatal("a stale connection's end took down the current one")
	}
}

func TestServeBlockChecksEverything(t *testing.T) {
	r, dir := testRunner(t, &fakeNet{})
	data := []byte("block content that a trusted peer may read")
	for _, name := range []string{"f.txt", "unlisted.txt", "gone.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(filepath.Dir(dir), "outside.txt")
	if err := os.WriteFile(outside, data, 0o644); err != nil {
		t.Fatal(err)
	}
	hash := chunker.HashBlock(data)
	record(t, r, 1, "f.txt", data)
	record(t, r, 2, "gone.txt", data)
	os.Remove(filepath.Join(dir, "gone.txt"))
	record(t, r, 3, "short.txt", data)
	if err := os.WriteFile(filepath.Join(dir, "short.txt"), data[:10], 0o644); err != nil {
		t.Fatal(err)
	}
	n := &Node{folders: map[string]*folderHandle{"docs": {runner: r, fs: r.fs, shared: map[proto.DeviceID]bool{devA: true}}}}
	good := proto.Request{Folder: "docs", Name: "f.txt", Size: int32(len(data)), Hash: hash}
	cases := []struct {
		name string
		dev  proto.DeviceID
		edit func(*proto.Request)
		want proto.ErrorCode
	}{
		{"ok", devA, func(*proto.Request) {}, proto.CodeOK},
		{"not shared with device", devB, func(*proto.Request) {}, proto.CodeInvalid},
		{"unknown folder", devA, func(r *proto.Request) { r.Folder = "nope" }, proto.CodeInvalid},
		{"dot dot", devA, func(r *proto.Request) { r.Name = "../outside.txt" }, proto.CodeInvalid},
		{"absolute", devA, func(r *proto.Request) { r.Name = outside }, proto.CodeInvalid},
		{"internal", devA, func(r *proto.Request) { r.Name = ".ferry/x" }, proto.CodeInvalid},
		{"negative offset", devA, func(r *proto.Request) { r.Offset = -1 }, proto.CodeInvalid},
		{"not in the index", devA, func(r *proto.Request) { r.Name = "missing.txt" }, proto.CodeChanged},
		{"a file never announced", devA, func(r *proto.Request) { r.Name = "unlisted.txt" }, proto.CodeChanged},
		{"listed but gone", devA, func(r *proto.Request) { r.Name = "gone.txt" }, proto.CodeNoSuchFile},
		{"wrong hash", devA, func(r *proto.Request) { r.Hash[0] ^= 1 }, proto.CodeChanged},
		{"not at a block's offset", devA, func(r *proto.Request) { r.Offset = 10 }, proto.CodeChanged},
		{"listed but truncated", devA, func(r *proto.Request) { r.Name = "short.txt" }, proto.CodeGeneric},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := good
			tc.edit(&req)
			c := &peerConn{dev: tc.dev}
			resp := n.serveBlock(c, &req)
			if resp.Code != tc.want {
				t.Fatalf("code %v, want %v", resp.Code, tc.want)
			}
			if tc.want == proto.CodeOK && string(resp.Data) != string(data) {
				t.Fatalf("data %q", resp.Data)
			}
			if tc.want != proto.CodeOK && resp.Data != nil {
				t.Fatal("error response carries data")
			}
		})
	}
}

// A file kept open for serving is read through a new handle once a new
// version of it is recorded, and closed when no one reads it.
func TestServedFilesFollowNewVersions(t *testing.T) {
	r, dir := testRunner(t, &fakeNet{})
	now := time.Unix(1_700_000_000, 0)
	r.served.now = func() time.Time { return now }
	old, updated := []byte("the first version"), []byte("the second version")
	os.WriteFile(filepath.Join(dir, "f.txt"), old, 0o644)
	buf := make([]byte, len(old))
	if err := r.served.readAt("f.txt", buf, 0); err != nil || string(buf) != string(old) {
		t.Fatalf("first read: %q, %v", buf, err)
	}
	// Replaced by rename, as editors and pulls do: the kept handle still
	// reads the version it opened until the new one is recorded.
	tmp := filepath.Join(dir, "tmp")
	os.WriteFile(tmp, updated, 0o644)
	os.Rename(tmp, filepath.Join(dir, "f.txt"))
	if err := r.served.readAt("f.txt", buf, 0); err != nil || string(buf) != string(old) {
		t.Fatalf("read before the new version is recorded: %q, %v", buf, err)
	}
	r.served.forget("f.txt")
	buf = make([]byte, len(updated))
	if err := r.served.readAt("f.txt", buf, 0); err != nil || string(buf) != string(updated) {
		t.Fatalf("read after: %q, %v", buf, err)
	}
	now = now.Add(openFileIdle)
	r.served.sweep()
	if n := r.served.size(); n != 0 {
		t.Fatalf("%d files still open after %v idle", n, openFileIdle)
	}
	for i := range maxOpenFiles + 10 {
		name := fmt.Sprintf("g%d", i)
		os.WriteFile(filepath.Join(dir, name), old, 0o644)
		if err := r.served.readAt(name, buf[:1], 0); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.served.size(); n > maxOpenFiles {
		t.Fatalf("%d files open, limit %d", n, maxOpenFiles)
	}
}

// record stores the local record of a one-block file name holding data.
func record(t *testing.T, r *folderRunner, seq int64, name string, data []byte) {
	t.Helper()
	f := proto.FileInfo{
		Name: name, Type: proto.FileTypeFile, Size: int64(len(data)), Sequence: seq, Mode: 0o644,
		Version: proto.Vector{{ID: 1, Value: uint64(seq)}},
		Blocks:  []proto.Block{{Size: int32(len(data)), Hash: chunker.HashBlock(data)}},
	}
	if err := r.idx.Update(func(tx *index.Tx) error { return tx.PutLocal(f) }); err != nil {
		t.Fatal(err)
	}
}

func testKeypair(t *testing.T, _ proto.DeviceID) noise.Keypair {
	t.Helper()
	k, err := noise.GenerateKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The device listener also takes pairing attempts: a connection that opens
// like one goes to the pairing handler with its first bytes intact, any
// other to the Noise handshake.
func TestListenerRoutesPairingAttempts(t *testing.T) {
	self := proto.DeviceID{9}
	h := &recordingHandler{paired: make(chan []byte, 1)}
	m := newConnManager(testKeypair(t, self), h, slog.New(slog.DiscardHandler), time.Now)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.serveListener(ctx, ln)

	// A joiner's opening, as proto/pair writes it: kind 1, length, magic.
	opening := append([]byte{1, 0, 63}, "ferry-pair\x01more"...)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(opening)
	select {
	case got := <-h.paired:
		if !bytes.HasPrefix(opening, got) || len(got) < pair.SniffLen+3 {
			t.Fatalf("pairing handler read % x, want the opening % x", got, opening)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a pairing opening did not reach the pairing handler")
	}

	// A device connection still completes its Noise handshake.
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
	defer hcancel()
	sc, err := noise.Client(hctx, nc, testKeypair(t, proto.DeviceID{3}), nil)
	if err != nil {
		t.Fatalf("device handshake through the shared listener: %v", err)
	}
	if sc.RemoteStatic() != m.self {
		t.Fatalf("handshake with %v, want %v", sc.RemoteStatic(), m.self)
	}
	select {
	case got := <-h.paired:
		t.Fatalf("a device connection went to the pairing handler: % x", got)
	default:
	}
}

// A connection that finishes its Hello while the node shuts down is not
// registered: closeAll would otherwise wait for it until its read times
// out, and no dial starts once closeAll began.
func TestNoRegisterAfterCloseAll(t *testing.T) {
	self := proto.DeviceID{9}
	h := addrHandler{&recordingHandler{paired: make(chan []byte, 1)}, []string{"127.0.0.1:1"}}
	m := newConnManager(testKeypair(t, self), h, slog.New(slog.DiscardHandler), time.Now)
	m.closeAll()
	a, b := net.Pipe()
	defer b.Close()
	go io.Copy(io.Discard, b)
	c := newPeerConn(a, proto.DeviceID{7}, proto.DeviceID{7}, &counters{})
	if m.register(c, &proto.Hello{}) {
		t.Fatal("a connection registered after closeAll")
	}
	if !isClosed(c.closed) || m.conn(proto.DeviceID{7}) != nil {
		t.Fatal("the late connection stays open")
	}
	m.maybeDial(context.Background(), proto.DeviceID{7})
	m.mu.Lock()
	dialing := m.backoff[proto.DeviceID{7}].dialing
	m.mu.Unlock()
	if dialing {
		t.Fatal("a dial started after closeAll")
	}
}

// addrHandler is a recordingHandler that knows an address for every device.
type addrHandler struct {
	*recordingHandler
	known []string
}

func (h addrHandler) addrs(proto.DeviceID) []string { return h.known }

// A device whose connections end as soon as they come up is dialled again
// after a wait that doubles up to dialMaxBackoff; one connection that lasts
// ends the wait.
func TestFlappingConnectionBacksOff(t *testing.T) {
	self, peer := proto.DeviceID{9}, proto.DeviceID{3}
	now := time.Unix(1_000_000, 0)
	m := newConnManager(testKeypair(t, self), &recordingHandler{}, slog.New(slog.DiscardHandler), func() time.Time { return now })
	m.self = self
	wait := func() time.Duration {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.backoff[peer].next.Sub(now)
	}
	var waits []time.Duration
	for i := range 8 {
		c := testConn(t, fmt.Sprint("flap", i), peer, self)
		if !m.register(c, &proto.Hello{}) {
			t.Fatal("connection refused")
		}
		now = now.Add(200 * time.Millisecond)
		c.close("index refused")
		m.unregister(c)
		waits = append(waits, wait())
		now = now.Add(wait())
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Errorf("waits after connections that ended at once: %v, want %v", waits, want)
	}
	c := testConn(t, "closed here", peer, self)
	m.register(c, &proto.Hello{})
	m.closeDevice(peer, "configuration changed")
	m.unregister(c)
	if w := wait(); w > 0 {
		t.Errorf("wait %v after this device closed the connection on purpose, want none", w)
	}
	c = testConn(t, "lasting", peer, self)
	m.register(c, &proto.Hello{})
	now = now.Add(2 * flapWindow)
	c.close("network gone")
	m.unregister(c)
	if w := wait(); w > 0 {
		t.Errorf("wait %v after a connection that lasted %v, want none", w, 2*flapWindow)
	}
}

// An address names its transport by a scheme; none means TCP, and an
// unknown one is an error, not a TCP dial.
func TestDialAddrTransports(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, addr := range []string{ln.Addr().String(), "tcp://" + ln.Addr().String()} {
		c, err := dialAddr(t.Context(), addr)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		c.Close()
	}
	if _, err := dialAddr(t.Context(), "quic://"+ln.Addr().String()); err == nil || !strings.Contains(err.Error(), `no transport "quic"`) {
		t.Fatalf("unknown transport: %v", err)
	}
}
