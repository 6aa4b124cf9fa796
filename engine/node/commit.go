package node

import (
	"context"
	"errors"
	"os"
	"time"

	"ferry/platform"
)

const (
	// maxCommitBatch bounds how many files one batch makes visible.
	maxCommitBatch = 512
	// commitWindow is how long a batch waits for more files.
	commitWindow = 20 * time.Millisecond
)

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

// committer makes pulled files visible in batches: one filesystem sync for
// the data of every temp file in the batch, the checks and renames, then one
// sync for the renames. Syncing per batch instead of two fsyncs per file is
// what makes many small files fast; the order (data durable before rename,
// rename durable before the index records it) is the same.
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

// run commits batches until ctx ends.
func (c *committer) run(ctx context.Context) {
	defer close(c.stopped)
	for {
		var batch []*commitReq
		select {
		case <-ctx.Done():
			c.drain()
			return
		case req := <-c.reqs:
			batch = append(batch, req)
		}
		batch = c.gather(ctx, batch)
		c.commitBatch(batch)
	}
}

// gather adds to batch what arrives within commitWindow, so a stream of
// small files is synced in large groups instead of one sync after another
// (each sync stalls file creation on some filesystems).
func (c *committer) gather(ctx context.Context, batch []*commitReq) []*commitReq {
	t := time.NewTimer(commitWindow)
	defer t.Stop()
	for len(batch) < maxCommitBatch {
		select {
		case req := <-c.reqs:
			batch = append(batch, req)
		case <-t.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

func (c *committer) commitBatch(batch []*commitReq) {
	if err := c.fs.SyncAll(); err != nil {
		if !errors.Is(err, errors.ErrUnsupported) {
			for _, r := range batch {
				r.tmp.Close()
				r.done <- commitResult{err: err}
			}
			return
		}
		for _, r := range batch {
			r.done <- commitResult{err: c.fs.CommitTemp(r.tmp, r.name, r.expect, r.mtime, r.mode, r.conflict)}
		}
		return
	}
	res := make([]commitResult, len(batch))
	for i, r := range batch {
		res[i].entry, res[i].err = c.fs.CommitSynced(r.tmp, r.name, r.expect, r.mtime, r.mode, r.conflict)
	}
	syncErr := c.fs.SyncAll()
	for i, r := range batch {
		if res[i].err == nil && syncErr != nil {
			res[i] = commitResult{err: syncErr}
		}
		r.done <- res[i]
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
