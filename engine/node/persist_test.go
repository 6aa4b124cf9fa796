package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"ferry/engine"
	"ferry/index"
	"ferry/platform"
	"ferry/proto"
)

// recorder stands in for the folder runner: it notes what a persister
// releases and starts, and what the index holds at that moment.
type recorder struct {
	idx *index.Folder

	mu       sync.Mutex
	released []string // message folders, in release order
	started  []string // names of started operations
	durable  []bool   // per release: the Ready's record was in the index
	saved    []uint64 // serials the engine was told are committed
	// unsaved are serials reported before their Ready's record was in
	// the index.
	unsaved []uint64
}

// savedReport notes a Saved for serial; the Ready of serial s writes the
// record f<s-1>.
func (r *recorder) savedReport(serial uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.saved = append(r.saved, serial)
	if _, ok, err := r.idx.Get(index.Local, fmt.Sprintf("f%03d", serial-1)); !ok || err != nil {
		r.unsaved = append(r.unsaved, serial)
	}
}

func (r *recorder) release(_ context.Context, rd engine.Ready) {
	r.mu.Lock()
	for _, m := range rd.Messages {
		r.released = append(r.released, m.Msg.(*proto.IndexUpdate).Folder)
	}
	for _, f := range rd.Writes.Local {
		_, ok, err := r.idx.Get(index.Local, f.Name)
		r.durable = append(r.durable, ok && err == nil)
	}
	r.mu.Unlock()
	for _, op := range rd.Ops {
		r.start(nil, op)
	}
}

func (r *recorder) start(_ context.Context, op engine.Op) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch op := op.(type) {
	case engine.HashOp:
		r.started = append(r.started, "hash "+op.Stat.Name)
	case engine.PullOp:
		r.started = append(r.started, "pull "+op.File.Name)
	}
}

func (r *recorder) snapshot() (released, started []string, durable []bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.released...), append([]string(nil), r.started...), append([]bool(nil), r.durable...)
}

func testIndex(t *testing.T) *index.Folder {
	t.Helper()
	db, err := index.Open(filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f, err := db.Folder("docs")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// readyFor is a Ready that writes the local record of name at seq,
// announces it and pulls another file.
func readyFor(name string, seq int64) engine.Ready {
	f := proto.FileInfo{Name: name, Type: proto.FileTypeDir, Sequence: seq, Version: proto.Vector{{ID: 1, Value: uint64(seq)}}}
	return engine.Ready{
		Serial:   uint64(seq),
		Writes:   engine.Writes{Local: []proto.FileInfo{f}},
		Messages: []engine.Outgoing{{To: devA, Msg: &proto.IndexUpdate{Folder: name}}},
		Ops: []engine.Op{
			engine.HashOp{Stat: engine.Stat{Name: name + "-h"}},
			engine.PullOp{File: proto.FileInfo{Name: name + "-p"}},
		},
	}
}

func TestPersisterReleasesInOrderOnceDurable(t *testing.T) {
	idx := testIndex(t)
	rec := &recorder{idx: idx}
	p := newPersister(idx, rec.release, rec.start, rec.savedReport)
	ctx := context.Background()
	const n = 200
	// Queue a first Ready before the persister runs: its hash starts at
	// once, its pull and message wait for the commit.
	p.put(ctx, readyFor("f000", 1))
	if _, started, _ := rec.snapshot(); len(started) != 1 || started[0] != "hash f000-h" {
		t.Fatalf("before any commit, started %q; want only the hash", started)
	}
	if released, _, _ := rec.snapshot(); len(released) != 0 {
		t.Fatalf("released %q before the commit", released)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { p.run(ctx, stop); close(done) }()
	for i := 1; i < n; i++ {
		p.put(ctx, readyFor(fmt.Sprintf("f%03d", i), int64(i+1)))
	}
	waitUntil(t, func() bool { released, _, _ := rec.snapshot(); return len(released) == n })
	close(stop)
	<-done
	released, started, durable := rec.snapshot()
	for i, name := range released {
		if want := fmt.Sprintf("f%03d", i); name != want {
			t.Fatalf("release %d is %s, want %s", i, name, want)
		}
		if !durable[i] {
			t.Fatalf("%s was released before its record was committed", name)
		}
	}
	if len(started) != 2*n {
		t.Fatalf("started %d operations, want %d", len(started), 2*n)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.saved) == 0 || rec.saved[len(rec.saved)-1] != n || len(rec.unsaved) > 0 {
		t.Fatalf("told the engine serials %v saved, %v before their commit; want up to %d, all committed", rec.saved, rec.unsaved, n)
	}
	for i := 1; i < len(rec.saved); i++ {
		if rec.saved[i] <= rec.saved[i-1] {
			t.Fatalf("saved serials out of order: %v", rec.saved)
		}
	}
}

func TestPersisterCommitsTheQueueWhenStopped(t *testing.T) {
	idx := testIndex(t)
	rec := &recorder{idx: idx}
	p := newPersister(idx, rec.release, rec.start, rec.savedReport)
	stop := make(chan struct{})
	close(stop)
	p.put(context.Background(), readyFor("last", 1))
	p.run(context.Background(), stop)
	if _, ok, err := idx.Get(index.Local, "last"); !ok || err != nil {
		t.Fatalf("record queued at stop: found %v, %v", ok, err)
	}
}

func TestPersisterReportsAFailedCommit(t *testing.T) {
	idx := testIndex(t)
	rec := &recorder{idx: idx}
	p := newPersister(idx, rec.release, rec.start, rec.savedReport)
	stop := make(chan struct{})
	defer close(stop)
	go p.run(context.Background(), stop)
	bad := readyFor("bad", 0) // sequence 0 is refused by the index
	p.put(context.Background(), bad)
	select {
	case err := <-p.err:
		if err == nil {
			t.Fatal("nil error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no error reported")
	}
	if released, _, _ := rec.snapshot(); len(released) != 0 {
		t.Errorf("released %q after a failed commit", released)
	}
}

func TestCommitterCommitsConcurrentPulls(t *testing.T) {
	r, dir := testRunner(t, &fakeNet{})
	const n = 300
	errs := make([]error, n)
	ents := make([]platform.Entry, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("d%d/f%03d", i%7, i)
			tmp, _, err := r.fs.OpenTemp(name, "t")
			if err != nil {
				errs[i] = err
				return
			}
			fmt.Fprintf(tmp, "content %d", i)
			ex := platform.Expect{Absent: true}
			if i == 5 {
				// Something appeared at the name meanwhile: never clobbered.
				os.WriteFile(filepath.Join(dir, name), []byte("local"), 0o644)
			}
			res := r.commits.commit(context.Background(), &commitReq{tmp: tmp, name: name, expect: ex, mtime: 1_700_000_000_000_000_000, mode: 0o644})
			errs[i], ents[i] = res.err, res.entry
		})
	}
	wg.Wait()
	for i := range n {
		name := fmt.Sprintf("d%d/f%03d", i%7, i)
		got, _ := os.ReadFile(filepath.Join(dir, name))
		if i == 5 {
			if !errors.Is(errs[i], platform.ErrChanged) || string(got) != "local" {
				t.Errorf("%s: err %v, content %q; want ErrChanged and the local file kept", name, errs[i], got)
			}
			continue
		}
		if errs[i] != nil {
			t.Fatalf("%s: %v", name, errs[i])
		}
		if want := fmt.Sprintf("content %d", i); string(got) != want || ents[i].Size != int64(len(want)) || ents[i].Mode != 0o644 {
			t.Errorf("%s: content %q, entry %+v", name, got, ents[i])
		}
	}
}

func TestCommitterAnswersQueuedRequestsWhenStopped(t *testing.T) {
	dir := t.TempDir()
	if err := platform.InitFolder(dir); err != nil {
		t.Fatal(err)
	}
	fs, err := platform.OpenFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	c := newCommitter(fs)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	results := make(chan error, 20)
	for i := range 20 {
		tmp, _, err := fs.OpenTemp(fmt.Sprintf("f%d", i), "t")
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			results <- c.commit(ctx, &commitReq{tmp: tmp, name: fmt.Sprintf("f%d", i), expect: platform.Expect{Absent: true}, mtime: 1, mode: 0o644}).err
		})
	}
	done := make(chan struct{})
	go func() { c.run(ctx); close(done) }()
	cancel()
	wg.Wait()
	<-done
	close(results)
	for err := range results {
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("commit at stop: %v", err)
		}
	}
}

func waitUntil(t testing.TB, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10 s")
}

// Readys queued together are committed in transactions of about
// maxCommitCost records, in order, each told to the engine as it is
// done.
func TestPersisterBoundsTransactions(t *testing.T) {
	idx := testIndex(t)
	rec := &recorder{idx: idx}
	var saved []uint64
	p := newPersister(idx, rec.release, rec.start, func(s uint64) { saved = append(saved, s) })
	seq := int64(0)
	for r := range 5 {
		rd := engine.Ready{Serial: uint64(r + 1)}
		for range maxCommitCost / 2 {
			seq++
			rd.Writes.Local = append(rd.Writes.Local, proto.FileInfo{
				Name: fmt.Sprintf("d%06d", seq), Type: proto.FileTypeDir, Sequence: seq, Version: proto.Vector{{ID: 1, Value: uint64(seq)}},
			})
		}
		p.put(context.Background(), rd)
	}
	stop := make(chan struct{})
	close(stop)
	p.run(context.Background(), stop)
	if !slices.Equal(saved, []uint64{2, 4, 5}) {
		t.Fatalf("saved after serials %v, want 2, 4 and 5: two Readys a transaction", saved)
	}
	if _, ok, err := idx.Get(index.Local, fmt.Sprintf("d%06d", seq)); !ok || err != nil {
		t.Fatalf("last record: found %v, %v", ok, err)
	}
}

// A local record costs a transaction one entry for itself and one for each
// of its blocks; other records and summaries one each.
func TestCommitCostCountsBlocks(t *testing.T) {
	w := engine.Writes{
		Local:     []proto.FileInfo{{Name: "a", Blocks: make([]proto.Block, 3)}, {Name: "d", Type: proto.FileTypeDir}},
		Remote:    []engine.RemoteFile{{File: proto.FileInfo{Name: "r", Blocks: make([]proto.Block, 5)}}},
		Summaries: []engine.Summary{{Name: "a"}, {Name: "d"}},
		Forget:    []string{"old"},
	}
	if got := commitCost(&w); got != 2+3+1+2+1 {
		t.Fatalf("commitCost = %d, want 9", got)
	}
}
