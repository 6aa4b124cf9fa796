package e2e

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zeebo/blake3"
	protobuf "google.golang.org/protobuf/proto"

	"ferry/proto"
	"ferry/proto/noise"
	"ferry/proto/pb"
)

// evilPeer is a device the daemon trusts that runs modified code: it speaks
// the handshake and framing, then sends whatever it likes.
type evilPeer struct {
	t   *testing.T
	key noise.Keypair
	id  string
}

func newEvilPeer(t *testing.T) *evilPeer {
	key, err := noise.GenerateKeypair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &evilPeer{t: t, key: key, id: key.ID().String()}
}

func (e *evilPeer) short() uint64 { return uint64(e.key.ID().Short()) }

// evilConn is one connection of an evilPeer to a daemon. A goroutine reads
// what the daemon sends; serve, if set, answers its block requests.
type evilConn struct {
	t      *testing.T
	sc     *noise.Conn
	index  uint64 // the index ID its Hello announced
	mu     sync.Mutex
	serve  func(r *proto.Request) *proto.Response
	reqs   int
	closed chan struct{}
	err    error // why reading ended, once closed
}

// dial connects to d and exchanges Hellos, announcing folder docs with a
// fresh index ID. With read false nothing is read after the Hello: the
// peer that stops reading.
func (e *evilPeer) dial(d *device, read bool) *evilConn {
	e.t.Helper()
	nc, err := net.DialTimeout("tcp", d.listen, 5*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sc, err := noise.Client(ctx, nc, e.key, nil)
	if err != nil {
		nc.Close()
		e.t.Fatalf("handshake: %v", err)
	}
	var idx [8]byte
	rand.Read(idx[:])
	c := &evilConn{t: e.t, sc: sc, index: binary.BigEndian.Uint64(idx[:]) | 1, closed: make(chan struct{})}
	e.t.Cleanup(func() { sc.Close() })
	sc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := proto.WriteMessage(sc, &proto.Hello{DeviceName: "evil", Folders: []proto.FolderHello{{ID: "docs", IndexID: c.index}}}); err != nil {
		e.t.Fatalf("send hello: %v", err)
	}
	r := proto.NewMessageReader(sc)
	if m, err := r.Read(); err != nil {
		e.t.Fatalf("read hello: %v", err)
	} else if _, ok := m.(*proto.Hello); !ok {
		e.t.Fatalf("first message %T", m)
	}
	sc.SetDeadline(time.Time{})
	if !read {
		return c
	}
	go func() {
		defer close(c.closed)
		for {
			m, err := r.Read()
			if err != nil {
				c.err = err
				return
			}
			if req, ok := m.(*proto.Request); ok {
				c.mu.Lock()
				c.reqs++
				serve := c.serve
				c.mu.Unlock()
				if serve != nil {
					resp := serve(req)
					resp.ID = req.ID
					sc.SetWriteDeadline(time.Now().Add(5 * time.Second))
					proto.WriteMessage(sc, resp)
				}
			}
		}
	}()
	return c
}

func (c *evilConn) requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reqs
}

// raw writes a record of type typ with payload as it is, valid or not.
func (c *evilConn) raw(typ byte, payload []byte) error {
	rec := make([]byte, 5, 5+len(payload))
	binary.BigEndian.PutUint32(rec, uint32(len(payload)+1))
	rec[4] = typ
	c.sc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.sc.Write(append(rec, payload...))
	return err
}

// Record types, as the wire numbers them.
const (
	recHello       = 1
	recIndexUpdate = 2
	recRequest     = 3
)

// update sends files as one index update of docs, encoded without any of
// the checks the real encoder makes.
func (c *evilConn) update(files ...*pb.FileInfo) error {
	b, err := protobuf.Marshal(&pb.IndexUpdate{Folder: "docs", IndexId: c.index, Files: files})
	if err != nil {
		c.t.Fatal(err)
	}
	return c.raw(recIndexUpdate, b)
}

// waitClosed waits for the daemon to drop the connection and returns why
// reading ended.
func (c *evilConn) waitClosed(within time.Duration) (error, bool) {
	select {
	case <-c.closed:
		return c.err, true
	case <-time.After(within):
		return nil, false
	}
}

// evilFile is a record of a regular file by e with the given content's
// single block (hash and size as given), sequence seq.
func (e *evilPeer) file(name string, size int64, hash []byte, seq int64) *pb.FileInfo {
	f := &pb.FileInfo{
		Name: name, Type: pb.FileType_FILE_TYPE_FILE, Size: size, ModTime: time.Now().UnixNano(), Mode: 0o644,
		Version: []*pb.Counter{{Id: e.short(), Value: uint64(seq)}}, Sequence: seq, ModifiedBy: e.short(),
	}
	if size > 0 {
		f.Blocks = []*pb.Block{{Offset: 0, Size: int32(size), Hash: hash}}
	}
	return f
}

func hashOf(b []byte) []byte {
	h := blake3.Sum256(b)
	return h[:]
}

// vmHWM returns the peak resident memory of process pid, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// openFDs counts the open descriptors of process pid.
func openFDs(t *testing.T, pid int) int {
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// logGrows waits until d's log holds a line matching every word in want
// after offset from, and fails with the new part of the log otherwise.
func logGrows(t *testing.T, d *device, from int, within time.Duration, want ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := d.log.String()
		if from > len(s) {
			from = len(s)
		}
		for _, line := range strings.Split(s[from:], "\n") {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(line, w)
			}
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's log has no line with %q; it grew by:\n%s", d.name, want, tail(s[from:], 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHostilePeer runs a trusted device with modified code against a real
// daemon A that also syncs with an honest daemon B. Each bad input is
// refused with a log line, nothing is written outside A's folder, A's
// memory stays bounded, and B's changes keep reaching A.
func TestHostilePeer(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	pair(a, b)
	evil := newEvilPeer(t)
	a.ferry("device", "add", evil.id, "--name", "evil")
	a.ferry("folder", "share", "docs", evil.id)
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "victim"), []byte("precious"), 0o644)
	a.start()
	b.start()
	honest := 0
	// honestSync writes a new file on B and waits for it on A.
	honestSync := func(t *testing.T, within time.Duration) {
		t.Helper()
		honest++
		name := fmt.Sprintf("honest-%d.txt", honest)
		content := []byte(fmt.Sprintf("from B, change %d", honest))
		writeFile(t, b.path(name), content, 0o644)
		waitFor(t, within, name+" from B on A", func() bool { return sameContent(a.path(name), content) })
	}
	honestSync(t, 20*time.Second)
	pid := a.cmd.Process.Pid
	base := vmHWM(t, pid)
	t.Logf("A's peak RSS before the attacks: %d MiB", base>>20)

	t.Run("hostile names", func(t *testing.T) {
		data := []byte("escaped")
		for _, name := range []string{"../escape", "/abs-escape", "a/../../escape", "nul\x00escape", "", "a//b", "./dot", `..\\escape`, "x/.."} {
			from := len(a.log.String())
			c := evil.dial(a, true)
			c.update(evil.file(name, int64(len(data)), hashOf(data), 1))
			if _, closed := c.waitClosed(10 * time.Second); !closed {
				t.Errorf("name %q: the connection stays open", name)
			}
			logGrows(t, a, from, 5*time.Second, evil.key.ID().Abbrev(), "malformed")
		}
	})

	t.Run("symlink then a file inside it", func(t *testing.T) {
		data := []byte("through the link")
		c := evil.dial(a, true)
		c.mu.Lock()
		c.serve = func(r *proto.Request) *proto.Response { return &proto.Response{Code: proto.CodeOK, Data: data} }
		c.mu.Unlock()
		link := &pb.FileInfo{Name: "link", Type: pb.FileType_FILE_TYPE_SYMLINK, Target: []byte(outside), ModTime: time.Now().UnixNano(), Mode: 0o777,
			Version: []*pb.Counter{{Id: evil.short(), Value: 2}}, Sequence: 2, ModifiedBy: evil.short()}
		if err := c.update(link, evil.file("link/inside", int64(len(data)), hashOf(data), 3)); err != nil {
			t.Fatal(err)
		}
		// Either the link is made and the file under it is refused, or the
		// file came first and "link" is a real directory that the link
		// cannot replace: both keep everything inside the folder.
		waitFor(t, 20*time.Second, "link on A", func() bool { _, err := os.Lstat(a.path("link")); return err == nil })
		time.Sleep(2 * time.Second) // the pull of link/inside has had its chance
		if _, err := os.Lstat(filepath.Join(outside, "inside")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a file was written through the link: %v", err)
		}
	})

	t.Run("block that does not match its hash", func(t *testing.T) {
		want := []byte("the real content of forged.bin")
		forged := make([]byte, len(want))
		copy(forged, "FORGED FORGED FORGED FORGED FOR")
		from := len(a.log.String())
		c := evil.dial(a, true)
		c.mu.Lock()
		c.serve = func(r *proto.Request) *proto.Response { return &proto.Response{Code: proto.CodeOK, Data: forged} }
		c.mu.Unlock()
		c.update(evil.file("forged.bin", int64(len(want)), hashOf(want), 4))
		waitFor(t, 20*time.Second, "A to ask for forged.bin", func() bool { return c.requests() > 0 })
		logGrows(t, a, from, 10*time.Second, "forged.bin")
		if _, err := os.Lstat(a.path("forged.bin")); !errors.Is(err, os.ErrNotExist) {
			b, _ := os.ReadFile(a.path("forged.bin"))
			t.Fatalf("forged.bin exists on A (%q, %v)", b, err)
		}
	})

	t.Run("response of the wrong length", func(t *testing.T) {
		want := []byte("twenty bytes exactly")
		from := len(a.log.String())
		c := evil.dial(a, true)
		c.mu.Lock()
		c.serve = func(r *proto.Request) *proto.Response {
			return &proto.Response{Code: proto.CodeOK, Data: make([]byte, 8<<20)}
		}
		c.mu.Unlock()
		c.update(evil.file("long.bin", int64(len(want)), hashOf(want), 5))
		waitFor(t, 20*time.Second, "A to ask for long.bin", func() bool { return c.requests() > 0 })
		logGrows(t, a, from, 10*time.Second, "long.bin")
		if _, err := os.Lstat(a.path("long.bin")); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("long.bin exists on A")
		}
	})

	t.Run("a 1 PiB file", func(t *testing.T) {
		from := len(a.log.String())
		c := evil.dial(a, true)
		f := evil.file("huge.bin", 1<<50, hashOf([]byte("x")), 6)
		f.Blocks[0].Size = math.MaxInt32
		c.update(f)
		logGrows(t, a, from, 10*time.Second, evil.key.ID().Abbrev(), "malformed")
		if _, err := os.Lstat(a.path("huge.bin")); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("huge.bin exists on A")
		}
	})

	t.Run("a 4 GiB length prefix", func(t *testing.T) {
		from := len(a.log.String())
		c := evil.dial(a, true)
		rec := []byte{0xff, 0xff, 0xff, 0xff, recIndexUpdate}
		c.sc.Write(append(rec, make([]byte, 1<<16)...))
		if _, closed := c.waitClosed(10 * time.Second); !closed {
			t.Error("the connection stays open")
		}
		logGrows(t, a, from, 5*time.Second, evil.key.ID().Abbrev(), "malformed")
	})

	t.Run("counter at 2^64-1", func(t *testing.T) {
		from := len(a.log.String())
		c := evil.dial(a, true)
		f := evil.file("max.txt", 0, nil, 7)
		f.Version[0].Value = math.MaxUint64
		c.update(f)
		logGrows(t, a, from, 10*time.Second, evil.key.ID().Abbrev(), "malformed")
		if _, err := os.Lstat(a.path("max.txt")); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("max.txt exists on A")
		}
	})

	t.Run("hello repeating a folder", func(t *testing.T) {
		for _, times := range []int{40_000, 2} {
			from := len(a.log.String())
			nc, err := net.DialTimeout("tcp", a.listen, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sc, err := noise.Client(ctx, nc, evil.key, nil)
			if err != nil {
				t.Fatal(err)
			}
			h := &pb.Hello{DeviceName: "evil"}
			for range times {
				h.Folders = append(h.Folders, &pb.FolderHello{Id: "docs", IndexId: 7})
			}
			payload, _ := protobuf.Marshal(h)
			c := &evilConn{t: t, sc: sc}
			sc.SetDeadline(time.Now().Add(10 * time.Second))
			c.raw(recHello, payload)
			// The daemon refuses the Hello: it must not answer with an
			// index send per repetition.
			r := proto.NewMessageReader(sc)
			var sends int
			for {
				m, err := r.Read()
				if err != nil {
					break
				}
				if _, ok := m.(*proto.IndexUpdate); ok {
					sends++
				}
			}
			if sends > 0 {
				t.Errorf("a Hello naming docs %d times got %d index sends", times, sends)
			}
			logGrows(t, a, from, 5*time.Second, evil.key.ID().Abbrev(), "malformed")
		}
	})

	t.Run("floods", func(t *testing.T) {
		c := evil.dial(a, true)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			// Block requests for blocks that do not exist, as fast as the
			// connection takes them.
			req := &pb.Request{Folder: "docs", Name: "honest-1.txt", Size: proto.MaxBlockSize, Hash: make([]byte, 32)}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req.Id, req.Offset = uint32(i), int64(i)<<20
				b, _ := protobuf.Marshal(req)
				if c.raw(recRequest, b) != nil {
					return
				}
			}
		})
		wg.Go(func() {
			// Index updates of many files, again and again.
			files := make([]*pb.FileInfo, 5000)
			seq := int64(100)
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := range files {
					seq++
					files[i] = evil.file(fmt.Sprintf("flood/%d", i), 0, nil, seq)
				}
				if c.update(files...) != nil {
					return
				}
			}
		})
		honestSync(t, 30*time.Second)
		honestSync(t, 30*time.Second)
		close(stop)
		wg.Wait()
	})

	t.Run("peer that stops reading", func(t *testing.T) {
		c := evil.dial(a, false)
		// Ask for a large block many times and never read the answers.
		writeFile(t, b.path("big.bin"), randomBytes(9, 8<<20), 0o644)
		waitFor(t, 30*time.Second, "big.bin on A", func() bool { return sameContent(a.path("big.bin"), randomBytes(9, 8<<20)) })
		go func() {
			req := &pb.Request{Folder: "docs", Name: "big.bin", Size: 1 << 20, Hash: make([]byte, 32)}
			for i := range 2000 {
				req.Id, req.Offset = uint32(i), 0
				b, _ := protobuf.Marshal(req)
				if c.raw(recRequest, b) != nil {
					return
				}
			}
		}()
		// Local changes on A still go out to B while evil reads nothing.
		for i := range 3 {
			name := fmt.Sprintf("from-a-%d.txt", i)
			writeFile(t, a.path(name), []byte(name), 0o644)
			waitFor(t, 20*time.Second, name+" on B", func() bool { return sameContent(b.path(name), []byte(name)) })
		}
		honestSync(t, 20*time.Second)
	})

	if got, ok := snapshot(t, outside), []string{"victim"}; len(got) != 1 || !slices.Equal(keys(got), ok) {
		t.Errorf("the outside directory changed: %v", keys(got))
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "victim")); string(b) != "precious" {
		t.Errorf("victim changed to %q", b)
	}
	peak := vmHWM(t, pid)
	t.Logf("A's peak RSS after the attacks: %d MiB (before: %d MiB), %d descriptors open", peak>>20, base>>20, openFDs(t, pid))
	if peak > base+256<<20 {
		t.Errorf("A's peak RSS grew by %d MiB under attack; want at most 256", (peak-base)>>20)
	}
	honestSync(t, 20*time.Second)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
