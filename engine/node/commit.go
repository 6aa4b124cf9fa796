package node

import (
	"context"
	"errors"
	"os"

	"ferry/platform"
)

// maxCommitBatch bounds how many files one batch makes visible.
const maxCommitBatch = 512

// commitReq asks for a filled temp file to become the file at name.
type commitReq struct {
	tmp      *os.File
	name     string
	expect   platform.Expect
	mtime    int64
	mode     uint32
	conflict string
	done     chan commitResult
}

// commitResult is what is at the name after a commit, or why it failed.
type commitResult struct {
	entry platform.Entry
	err   error
}

// committer makes pulled files visible in batches, syncing the filesystem
// once per batch instead of fsyncing each file and its directory. The order
// stays safe: a temp file's data is durable before it is renamed into place,
// and the rename is durable before the index records it. Batches overlap so
// that one sync does both jobs: it makes the renames of the batch before
// durable and the data of the next batch, queued meanwhile.
type committer struct {
	fs      *platform.Folder
	reqs    chan *commitReq
	stopped chan struct{} // closed when run returns
}

func newCommitter(fs *platform.Folder) *committer {
	return &committer{fs: fs, reqs: make(chan *commitReq, maxCommitBatch), stopped: make(chan struct{})}
}

// commit hands req to the committer and waits for the outcome.
func (c *committer) commit(ctx context.Context, req *commitReq) commitResult {
	req.done = make(chan commitResult, 1)
	select {
	case c.reqs <- req:
	case <-ctx.Done():
		req.tmp.Close()
		return commitResult{err: ctx.Err()}
	}
	select {
	case res := <-req.done:
		return res
	case <-c.stopped:
		c.drain() // answers req if run stopped before taking it
		return <-req.done
	}
}

// run commits batches until ctx ends. Each turn takes what is queued,
// syncs, answers the batch renamed in the turn before, and renames the new
// batch; it blocks only when nothing waits for a sync.
func (c *committer) run(ctx context.Context) {
	defer close(c.stopped)
	var renamed []*commitReq // renamed, not yet known durable
	var results []commitResult
	for {
		batch, ok := c.take(ctx, len(renamed) == 0)
		if !ok {
			c.answer(renamed, results, c.fs.SyncAll())
			for _, r := range batch {
				r.tmp.Close()
				r.done <- commitResult{err: context.Canceled}
			}
			c.drain()
			return
		}
		err := c.fs.SyncAll()
		c.answer(renamed, results, err)
		renamed, results = nil, nil
		switch {
		case len(batch) == 0:
		case errors.Is(err, errors.ErrUnsupported):
			// No filesystem-wide sync here: each file is made durable on
			// its own.
			for _, r := range batch {
				r.done <- commitResult{err: c.fs.CommitTemp(r.tmp, r.name, r.expect, r.mtime, r.mode, r.conflict)}
			}
		case err != nil:
			// The data may not be on disk: nothing is renamed.
			for _, r := range batch {
				r.tmp.Close()
				r.done <- commitResult{err: err}
			}
		default:
			results = make([]commitResult, len(batch))
			for i, r := range batch {
				results[i].entry, results[i].err = c.fs.CommitSynced(r.tmp, r.name, r.expect, r.mtime, r.mode, r.conflict)
			}
			renamed = batch
		}
	}
}

// take returns what is queued, up to maxCommitBatch; with wait it first
// waits for one request. ok is false once ctx has ended.
func (c *committer) take(ctx context.Context, wait bool) (batch []*commitReq, ok bool) {
	if wait {
		select {
		case <-ctx.Done():
			return nil, false
		case req := <-c.reqs:
			batch = append(batch, req)
		}
	}
	for len(batch) < maxCommitBatch {
		select {
		case <-ctx.Done():
			return batch, false
		case req := <-c.reqs:
			batch = append(batch, req)
		default:
			return batch, true
		}
	}
	return batch, true
}

// answer tells each request of a renamed batch its outcome, given the
// result of the sync that was to make the renames durable.
func (c *committer) answer(batch []*commitReq, results []commitResult, syncErr error) {
	for i, r := range batch {
		res := results[i]
		if res.err == nil && syncErr != nil && !errors.Is(syncErr, errors.ErrUnsupported) {
			res = commitResult{err: syncErr}
		}
		r.done <- res
	}
}

// drain fails what is still queued when the folder stops; the temp files
// stay and a later pull reuses them.
func (c *committer) drain() {
	for {
		select {
		case r := <-c.reqs:
			r.tmp.Close()
			r.done <- commitResult{err: context.Canceled}
		default:
			return
		}
	}
}
