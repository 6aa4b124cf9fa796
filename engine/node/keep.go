package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zeebo/blake3"

	"ferry/engine"
	"ferry/index/blocks"
	"ferry/index/history"
	"ferry/platform"
	"ferry/proto"
)

// keepBatchBytes bounds the block data one Put of a kept file holds.
const keepBatchBytes = 16 << 20

// keeper keeps the old versions of files this device's folders replace or
// delete for changes made elsewhere: their blocks in the block store, their
// records in the history. Many files are kept at once (pulls run in
// parallel), and what they ask to store is committed together: one Put and
// one history transaction for all that waits, so a thousand replaced files
// cost a few syncs, not a thousand. Keeping and garbage collection exclude
// each other (mu: keeps share it, a collection takes it alone): one that
// ran between a kept file's Put and its history record would drop blocks
// the record is about to list.
type keeper struct {
	mu    sync.RWMutex
	reqs  chan *keepReq
	stop  chan struct{}
	done  chan struct{}
	store *blocks.Store
	hist  *history.DB
	now   func() time.Time
	log   *slog.Logger
	// damaged counts the damaged blocks the last check of the store found,
	// and those reads found since.
	damaged atomic.Int64
}

// sawDamage records a damaged block a read found.
func (k *keeper) sawDamage(err error) {
	k.damaged.Add(1)
	k.log.Error("a block of the history is damaged: the versions that need it cannot be restored from this device", "err", err)
}

// verify checks every block of the store, reports the damaged ones and
// keeps their count for the status.
func (k *keeper) verify(ctx context.Context) error {
	rep, err := k.store.Verify(ctx, blocks.VerifyOptions{})
	if err != nil {
		return err
	}
	k.damaged.Store(rep.DamagedBlocks)
	for _, d := range rep.Damaged {
		k.log.Error("a block of the history is damaged", "block", d.Hash, "pack", d.Pack, "offset", d.Offset, "err", d.Err)
	}
	return nil
}

// problem says what is wrong with the history, for each folder's status.
func (k *keeper) problem() string {
	if n := k.damaged.Load(); n > 0 {
		return fmt.Sprintf("history: %d damaged blocks in the store; versions that need them cannot be restored from this device (see the log)", n)
	}
	return ""
}

// openKeeper opens the history under home: home/history/history.db and
// the block store home/history/blocks.
func openKeeper(home string, now func() time.Time, log *slog.Logger) (*keeper, error) {
	dir := filepath.Join(home, "history")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open history: %w", err)
	}
	hist, err := history.Open(filepath.Join(dir, "history.db"))
	if err != nil {
		return nil, err
	}
	store, err := blocks.Open(filepath.Join(dir, "blocks"), blocks.Options{Logger: log})
	if err != nil {
		hist.Close()
		return nil, err
	}
	k := &keeper{store: store, hist: hist, now: now, log: log,
		reqs: make(chan *keepReq, keepQueue), stop: make(chan struct{}), done: make(chan struct{})}
	go k.commitLoop()
	return k, nil
}

func (k *keeper) close() error {
	close(k.stop)
	<-k.done
	err := k.store.Close()
	if herr := k.hist.Close(); err == nil {
		err = herr
	}
	return err
}

// keep keeps the local file that kp names before an operation replaces or
// removes it: it reads the file from fs, checks every block against the
// record, stores the blocks the store lacks and records the version. A
// file that does not match the record changed since it was recorded: the
// error wraps platform.ErrChanged, and the operation must not go on (a
// scan records what is there).
func (k *keeper) keep(folder string, fs *platform.Folder, kp *engine.Keep) error {
	f := kp.File
	k.mu.RLock()
	defer k.mu.RUnlock()
	if kept, err := k.alreadyKept(folder, &f); err != nil || kept {
		return err
	}
	last, err := k.readBlocks(fs, &f)
	if err != nil {
		return fmt.Errorf("keep %s in history: %w", f.Name, err)
	}
	req := &keepReq{blocks: last, done: make(chan error, 1),
		version: history.Version{Folder: folder, File: f, Until: k.now(), Kind: history.Kind(kp.Kind), By: kp.By}}
	select {
	case k.reqs <- req:
	case <-k.stop:
		return errors.New("keep in history: the history is closing")
	}
	if err := <-req.done; err != nil {
		return fmt.Errorf("keep %s in history: %w", f.Name, err)
	}
	return nil
}

// keepQueue bounds the keeps waiting for a commit; keepCommitBytes the
// block data one commit takes from them.
const (
	keepQueue       = 1024
	keepCommitBytes = 64 << 20
)

// keepReq is a version to record, with the last of its blocks to store.
type keepReq struct {
	version history.Version
	blocks  []blocks.Block
	done    chan error
}

// commitLoop commits what keeps queue, all that waits at once, until the
// keeper closes; then it fails what is still queued.
func (k *keeper) commitLoop() {
	defer close(k.done)
	for {
		var batch []*keepReq
		select {
		case req := <-k.reqs:
			batch = append(batch, req)
		case <-k.stop:
			for {
				select {
				case req := <-k.reqs:
					req.done <- errors.New("the history is closing")
				default:
					return
				}
			}
		}
		size, count := len(batch[0].blocks), blockBytes(batch[0].blocks)
	more:
		for count < keepCommitBytes && size < blocks.MaxBatch/2 {
			select {
			case req := <-k.reqs:
				batch = append(batch, req)
				size, count = size+len(req.blocks), count+blockBytes(req.blocks)
			default:
				break more
			}
		}
		err := k.commit(batch)
		for _, req := range batch {
			req.done <- err
		}
	}
}

// commit stores the blocks of batch in one Put and records its versions in
// one transaction, in that order: a version is recorded only once its
// blocks are durable.
func (k *keeper) commit(batch []*keepReq) error {
	var all []blocks.Block
	vs := make([]history.Version, len(batch))
	for i, req := range batch {
		all = append(all, req.blocks...)
		vs[i] = req.version
	}
	for len(all) > 0 {
		n := min(len(all), blocks.MaxBatch)
		if err := k.store.Put(all[:n]); err != nil {
			return err
		}
		all = all[n:]
	}
	_, err := k.hist.AddAll(vs)
	return err
}

func blockBytes(bs []blocks.Block) int {
	n := 0
	for _, b := range bs {
		n += len(b.Data)
	}
	return n
}

// alreadyKept reports whether the newest kept version of f's name is f: an
// operation tried again after a crash or a failure keeps it once.
func (k *keeper) alreadyKept(folder string, f *proto.FileInfo) (bool, error) {
	vs, err := k.hist.Versions(folder, f.Name)
	if err != nil || len(vs) == 0 {
		return false, err
	}
	last := vs[len(vs)-1].File
	return last.Version.Equal(f.Version) && proto.SameContent(&last, f), nil
}

// readBlocks reads the blocks of f the store lacks from fs, checking each,
// and returns them for the commit; a file with more than keepBatchBytes of
// them has the rest stored at once, so that memory stays bounded.
func (k *keeper) readBlocks(fs *platform.Folder, f *proto.FileInfo) ([]blocks.Block, error) {
	var missing []proto.Block
	for _, b := range f.Blocks {
		has, err := k.store.Has(b.Hash)
		if err != nil {
			return nil, err
		}
		if !has {
			missing = append(missing, b)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	fh, err := fs.Open(f.Name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", platform.ErrChanged, err)
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err != nil || fi.Size() != f.Size {
		return nil, fmt.Errorf("%w: %s is no longer %d bytes", platform.ErrChanged, f.Name, f.Size)
	}
	var batch []blocks.Block
	size := 0
	flush := func() error {
		err := k.store.Put(batch)
		batch, size = nil, 0
		return err
	}
	for _, b := range missing {
		data := make([]byte, b.Size)
		if _, err := fh.ReadAt(data, b.Offset); err != nil && err != io.EOF {
			return nil, err
		}
		if blake3.Sum256(data) != b.Hash {
			return nil, fmt.Errorf("%w: %s changed at offset %d", platform.ErrChanged, f.Name, b.Offset)
		}
		if size+len(data) > keepBatchBytes || len(batch) == blocks.MaxBatch {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		batch, size = append(batch, blocks.Block{Hash: b.Hash, Data: data}), size+len(data)
	}
	return batch, nil
}

// prune drops the versions each folder's policy no longer keeps, then
// collects the blocks no kept version lists.
func (k *keeper) prune(ctx context.Context, policies map[string]history.Policy) error {
	now := k.now()
	removed := 0
	for folder, p := range policies {
		n, err := k.hist.Prune(folder, p, now)
		removed += n
		if err != nil {
			return err
		}
	}
	if removed == 0 {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var st blocks.GCStats
	err := k.hist.Referenced(func(listed func(proto.Hash) bool) error {
		var err error
		st, err = k.store.GC(ctx, listed)
		return err
	})
	if err != nil {
		return fmt.Errorf("collect history blocks: %w", err)
	}
	k.log.Info("history pruned", "versions", removed, "gc", fmt.Sprintf("%+v", st))
	return nil
}

// pruneEvery is how often the history is pruned; the first prune comes
// pruneFirst after the start.
const (
	pruneEvery = time.Hour
	pruneFirst = time.Minute
	// verifyHistoryEvery is how often every block of the history is read
	// and checked.
	verifyHistoryEvery = 24 * time.Hour
)

// pruneHistory prunes the history now and then, and checks its blocks
// once a day, until ctx ends.
func (n *Node) pruneHistory(ctx context.Context) {
	var verified time.Time
	t := time.NewTimer(pruneFirst)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.mu.RLock()
		policies := make(map[string]history.Policy, len(n.cfg.Folders))
		for _, f := range n.cfg.Folders {
			policies[f.ID] = f.Keep
		}
		n.mu.RUnlock()
		if err := n.keeper.prune(ctx, policies); err != nil && ctx.Err() == nil {
			n.log.Warn("pruning the history failed; it is tried again later", "err", err)
		}
		if now := n.opts.Now(); now.Sub(verified) >= verifyHistoryEvery {
			verified = now
			if err := n.keeper.verify(ctx); err != nil && ctx.Err() == nil {
				n.log.Warn("checking the history's blocks failed; it is tried again later", "err", err)
			}
		}
		t.Reset(pruneEvery)
	}
}
