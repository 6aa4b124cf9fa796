package node

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"ferry/engine"
	"ferry/index"
	"ferry/platform"
	"ferry/platform/watch"
	"ferry/proto"
)

// A folder runner wakes its engine when an input arrives and when the
// engine's next timer is due (see engine.NextWake), but at most every
// minTickGap and at least every busyTickGap while work is going on, or
// every maxTickGap when the last step produced none: an idle daemon sleeps.
const (
	minTickGap  = 10 * time.Millisecond
	busyTickGap = 250 * time.Millisecond
	maxTickGap  = 2 * time.Second
)

// network is what a folder runner needs from the connection manager.
type network interface {
	send(dev proto.DeviceID, m proto.Message)
	sendThen(dev proto.DeviceID, m proto.Message, done func())
	request(ctx context.Context, dev proto.DeviceID, req *proto.Request) ([]byte, error)
}

// folderRunner drives one folder's engine.
type folderRunner struct {
	id   string
	fs   *platform.Folder
	idx  *index.Folder
	net  network
	log  *slog.Logger
	now  func() time.Time
	in   *inbox[engine.Input]
	work sync.WaitGroup

	mu  sync.Mutex // guards eng
	eng *engine.Engine

	hashes     chan engine.HashOp
	blockSlots chan struct{} // see folderBlocksInFlight
	commits    *committer
	persist    *persister
	served     *openFiles // files peers read blocks from

	waitMu  sync.Mutex
	waiters map[uint64]chan error
	nextID  atomic.Uint64

	// pulled counts the bytes written into files being pulled.
	pulled   atomic.Int64
	pullRate meter
	// pulls are the files being pulled now and how far each has come.
	pulls pullProgress

	// unwatched is set when the folder cannot be watched; unwatchable, set
	// by the node before run, is then called to shorten the scan interval.
	unwatched   atomic.Bool
	unwatchable func()

	// lost gets the error of a check that found the folder's directory
	// gone, replaced or without its marker: the runner stops, so that
	// nothing is written to or announced from what is there instead.
	lost chan error
	// space, if set, checks that pulls fit on disk.
	space *space
	// keeper, if set, keeps the files operations replace in the history.
	keeper *keeper
	// temps counts, by temp name, the pulls using that temp file, which a
	// clean must leave alone.
	temps temps
}

// verifyEvery is how often a running folder checks that its directory is
// still the one it opened and holds the marker.
const verifyEvery = time.Second

func newFolderRunner(cfg engine.Config, fs *platform.Folder, idx *index.Folder, net network, log *slog.Logger, now func() time.Time) (*folderRunner, error) {
	meta, err := idx.Meta()
	if err != nil {
		return nil, fmt.Errorf("folder %s: read index: %w", cfg.Folder, err)
	}
	st := engine.State{IndexID: meta.IndexID, LastSequence: meta.LastSequence, Peers: map[proto.DeviceID]engine.PeerIndex{}}
	for dev, p := range meta.Peers {
		st.Peers[dev] = engine.PeerIndex{IndexID: p.IndexID, Sequence: p.Sequence}
	}
	eng, err := engine.New(cfg, &storeView{f: idx}, st)
	if err != nil {
		return nil, err
	}
	r := &folderRunner{
		id: cfg.Folder, fs: fs, idx: idx, net: net, now: now, in: newInbox[engine.Input](), eng: eng,
		log:        log.With("folder", cfg.Folder),
		hashes:     make(chan engine.HashOp, 1024),
		blockSlots: make(chan struct{}, folderBlocksInFlight),
		commits:    newCommitter(fs),
		waiters:    make(map[uint64]chan error),
		lost:       make(chan error, 1),
	}
	r.persist = newPersister(idx, r.release, r.start, func(serial uint64) { r.in.put(engine.Saved{Serial: serial}) })
	r.served = newOpenFiles(fs, now)
	return r, nil
}

// run steps the engine until ctx ends or an index write fails.
func (r *folderRunner) run(ctx context.Context) error {
	defer r.served.close()
	defer r.work.Wait()
	workCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopPersist := make(chan struct{})
	r.work.Go(func() { r.persist.run(workCtx, stopPersist) })
	defer close(stopPersist) // once the loop below has ended
	r.work.Go(func() { r.commits.run(workCtx) })
	r.work.Go(func() { r.watch(workCtx) })
	for range hashWorkers() {
		r.work.Go(func() { r.hashWorker(workCtx) })
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	r.in.put(engine.ScanRequest{})
	verified := r.now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-r.in.wake:
		case err := <-r.persist.err:
			return fmt.Errorf("folder %s: %w", r.id, err)
		case err := <-r.lost:
			return err
		}
		if now := r.now(); now.Sub(verified) >= verifyEvery {
			verified = now
			if err := r.fs.Verify(); err != nil {
				return err
			}
		}
		busy := r.step(workCtx)
		if err := r.engineErr(); err != nil {
			return fmt.Errorf("folder %s: %w", r.id, err)
		}
		r.served.sweep()
		timer.Reset(r.sleep(busy))
	}
}

// engineErr returns why the engine stopped, nil while it runs.
func (r *folderRunner) engineErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.eng.Err()
}

// sleep is how long the runner may wait for inputs before the engine's
// next timer is due.
func (r *folderRunner) sleep(busy bool) time.Duration {
	r.mu.Lock()
	wake := r.eng.NextWake()
	r.mu.Unlock()
	d := maxTickGap
	if busy {
		d = busyTickGap
	}
	if wake > 0 {
		d = min(d, time.Duration(wake-r.now().UnixNano()))
	}
	return max(d, minTickGap)
}

// step feeds the clock and the queued inputs, and handles the resulting
// work. The clock comes first so that every input sees the time it arrived.
// It reports whether anything happened: inputs came or work went out.
func (r *folderRunner) step(ctx context.Context) (busy bool) {
	inputs := append([]engine.Input{engine.Tick{Now: r.now().UnixNano()}}, r.in.take()...)
	r.mu.Lock()
	for _, in := range inputs {
		r.eng.Step(in)
		if res, ok := in.(engine.OpResult); ok {
			r.pulls.end(res.Name) // the engine counts what it did from now on
		}
	}
	has := r.eng.HasReady()
	var rd engine.Ready
	if has {
		rd = r.eng.Ready()
		r.eng.Advance()
	}
	r.mu.Unlock()
	if !has {
		return len(inputs) > 1
	}
	for _, f := range rd.Writes.Local {
		r.served.forget(f.Name) // a new version: its blocks come from a new open
	}
	r.persist.put(ctx, rd)
	return true
}

// release does the work of a Ready whose index writes are durable: send
// its messages, start its operations, handle its events.
func (r *folderRunner) release(ctx context.Context, rd engine.Ready) {
	for _, m := range rd.Messages {
		if m.Token == 0 {
			r.net.send(m.To, m.Msg)
			continue
		}
		r.net.sendThen(m.To, m.Msg, func() { r.in.put(engine.Sent{Device: m.To, Token: m.Token}) })
	}
	for _, op := range rd.Ops {
		r.start(ctx, op)
	}
	for _, ev := range rd.Events {
		r.event(ev)
	}
}

func (r *folderRunner) start(ctx context.Context, op engine.Op) {
	switch op := op.(type) {
	case engine.HashOp:
		select {
		case r.hashes <- op:
		default:
			r.work.Go(func() {
				select {
				case r.hashes <- op:
				case <-ctx.Done():
				}
			})
		}
	case engine.ScanOp:
		r.work.Go(func() { r.in.put(r.walk(op)) })
	case engine.CleanTempsOp:
		r.work.Go(func() { r.in.put(r.cleanTemps()) })
	default:
		r.work.Go(func() {
			res := r.fileOp(ctx, op)
			r.awaitCommits(ctx)
			r.in.put(res)
		})
	}
}

func (r *folderRunner) event(ev engine.Event) {
	switch ev := ev.(type) {
	case engine.ScanDone:
		r.waitMu.Lock()
		ch := r.waiters[ev.ID]
		delete(r.waiters, ev.ID)
		r.waitMu.Unlock()
		if ch != nil {
			ch <- ev.Err
		}
		if ev.Err != nil {
			r.log.Error("scan failed", "err", ev.Err)
		}
	case engine.ConflictEvent:
		r.log.Warn("conflict: both versions kept", "name", ev.Name, "copy", ev.Copy)
	case engine.OpFailed:
		r.log.Warn("file operation failed, will retry", "name", ev.Name, "err", ev.Err)
	case engine.NameRefused:
		r.log.Warn("not synced here: this device cannot store the name; it is tried again when it changes", "name", ev.Name, "reason", ev.Reason)
	case engine.HeldEvent:
		r.log.Warn("deletions held: many files vanished at once; run `ferry folder confirm-deletes "+r.id+"` to let them go out, or `ferry folder revert "+r.id+"` to bring the files back",
			"vanishedHere", ev.Local, "deletedByPeer", ev.Remote)
	case engine.UpgradeEvent:
		if ev.Done {
			r.log.Info("the folder's index is upgraded", "names", ev.Names)
		} else {
			r.log.Info("upgrading the folder's index", "names", ev.Names)
		}
	case engine.MassChangeEvent:
		r.log.Warn("many files were rewritten at once; check that this was intended", "files", ev.Files)
	}
}

// scan requests a scan of subtree and waits until it has been applied.
func (r *folderRunner) scan(ctx context.Context, subtree string) error {
	id := r.nextID.Add(1)
	ch := make(chan error, 1)
	r.waitMu.Lock()
	r.waiters[id] = ch
	r.waitMu.Unlock()
	r.in.put(engine.ScanRequest{ID: id, Subtree: subtree})
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		r.waitMu.Lock()
		delete(r.waiters, id)
		r.waitMu.Unlock()
		return ctx.Err()
	}
}

func (r *folderRunner) status() engine.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.eng.Status()
}

// progress is the engine's status together with the pulls in flight, at
// most maxPullingShown of them named, read at one moment: NeedBytes leaves
// out the bytes already in place of the files being pulled.
func (r *folderRunner) progress() (st engine.Status, pulling []pullState, inFlight int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st = r.eng.Status()
	pulling, inFlight, done := r.pulls.snapshot(maxPullingShown)
	st.NeedBytes = max(st.NeedBytes-done, 0)
	return st, pulling, inFlight
}

func (r *folderRunner) hello(dev proto.DeviceID) (proto.FolderHello, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.eng.Hello(dev)
}

// storeView adapts an index folder to the engine's Store. Every
// releaseReads names it reads, it takes the index's pages out of the
// daemon's resident memory (see index.DB.ReleaseMemory): a walk of a large
// folder touches the whole index within a second.
type storeView struct {
	f     *index.Folder
	reads atomic.Int64
}

// releaseReads is how many names are read between two releases of the
// index's pages.
const releaseReads = 8192

// read counts n names read.
func (s *storeView) read(n int) {
	if s.reads.Add(int64(n))%releaseReads < int64(n) {
		s.f.ReleaseMemory() // only memory use depends on it
	}
}

func (s *storeView) Each(fn func(proto.DeviceID, proto.FileInfo) error) error { return s.f.Each(fn) }

func (s *storeView) BlockSource(h proto.Hash) (string, int64, bool, error) {
	return s.f.BlockSource(h)
}

func (s *storeView) Summarized() (bool, error) { return s.f.Summarized() }

func (s *storeView) Lookup(name string) (engine.Stored, error) {
	s.read(1)
	st, err := s.f.Lookup(name)
	return storedOf(st), err
}

func (s *storeView) Range(prefix, after string, limit int) ([]engine.Stored, error) {
	sts, err := s.f.Range(prefix, after, limit)
	s.read(len(sts))
	out := make([]engine.Stored, len(sts))
	for i, st := range sts {
		out[i] = storedOf(st)
	}
	return out, err
}

func storedOf(st index.NameState) engine.Stored {
	out := engine.Stored{Name: st.Name, Local: st.Local, Summary: summaryOf(st.Name, st.Summary), Summarized: st.Summarized}
	for _, r := range st.Remote {
		out.Remote = append(out.Remote, engine.RemoteFile{Device: r.Device, File: r.File})
	}
	return out
}

func summaryOf(name string, sum index.Summary) engine.Summary {
	return engine.Summary{
		Name: name, Need: engine.NeedKind(sum.Need), Flags: sum.Flags,
		LocalBytes: sum.LocalBytes, GlobalBytes: sum.GlobalBytes,
	}
}

func (s *storeView) LocalSince(seq int64, limit int) ([]proto.FileInfo, error) {
	var out []proto.FileInfo
	err := s.f.LocalSince(seq, limit, func(f proto.FileInfo) error {
		out = append(out, f)
		return nil
	})
	s.read(len(out))
	return out, err
}

func (s *storeView) Needs(kind engine.NeedKind, after string, reverse bool, limit int) ([]string, error) {
	return s.f.NeedAfter(uint8(kind), after, reverse, limit)
}

func (s *storeView) CountRemote(dev proto.DeviceID) (int, error) { return s.f.CountRemote(dev) }

func (s *storeView) RemoteDevices() ([]proto.DeviceID, error) { return s.f.RemoteDevices() }

func (s *storeView) Summaries(prefix, after string, limit int) ([]engine.Summary, error) {
	sums, err := s.f.Summaries(prefix, after, limit)
	out := make([]engine.Summary, len(sums))
	for i, sum := range sums {
		out[i] = summaryOf(sum.Name, sum.Summary)
	}
	return out, err
}

// watch turns file system events into scans of the changed subtrees. When
// the folder cannot be watched, periodic scans still find every change.
func (r *folderRunner) watch(ctx context.Context) {
	err := watch.Watch(ctx, r.fs.Path(), watch.Options{Logger: r.log}, func(b watch.Batch) {
		if b.Overflow {
			r.log.Warn("file system events were lost; scanning the whole folder")
		}
		for _, p := range b.Paths {
			r.in.put(engine.ScanRequest{Subtree: p})
		}
	})
	if err != nil && ctx.Err() == nil {
		r.log.Warn("cannot watch the folder for changes; relying on periodic scans", "err", err)
		r.unwatched.Store(true)
		if r.unwatchable != nil {
			r.unwatchable()
		}
	}
}
