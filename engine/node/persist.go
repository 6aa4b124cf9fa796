package node

import (
	"context"
	"fmt"

	"ferry/engine"
	"ferry/index"
)

// persister commits the engine's index writes off the engine's loop. A
// commit waits for the disk, which is slow while files are being written;
// meanwhile the engine keeps taking inputs, and what it writes next is
// committed in the following turn, together: one transaction per turn, in
// order. The work of a Ready that depends on its writes (messages that
// announce them, operations that change the disk, events) goes only once
// they are durable. Reading and hashing files depend on nothing and start
// at once.
type persister struct {
	idx   *index.Folder
	do    func(ctx context.Context, rd engine.Ready) // the work after the commit
	start func(ctx context.Context, op engine.Op)    // starts an operation now
	saved func(serial uint64)                        // tells the engine what is committed

	queue *inbox[engine.Ready]
	err   chan error // the first failed commit; the folder stops on it
}

func newPersister(idx *index.Folder, do func(context.Context, engine.Ready), start func(context.Context, engine.Op), saved func(uint64)) *persister {
	return &persister{idx: idx, do: do, start: start, saved: saved, queue: newInbox[engine.Ready](), err: make(chan error, 1)}
}

// put queues rd, starting its read-only operations at once.
func (p *persister) put(ctx context.Context, rd engine.Ready) {
	later := rd.Ops[:0:0]
	for _, op := range rd.Ops {
		switch op.(type) {
		case engine.HashOp, engine.ScanOp:
			p.start(ctx, op)
		default:
			later = append(later, op)
		}
	}
	rd.Ops = later
	p.queue.put(rd)
}

// run commits and releases queued Readys until stop is closed, which
// happens once nothing more is put; then it commits what is still queued,
// so a clean stop loses no record. Released operations run under ctx.
func (p *persister) run(ctx context.Context, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			p.turn(ctx, false)
			return
		case <-p.queue.wake:
		}
		if !p.turn(ctx, true) {
			return
		}
	}
}

// turn commits everything queued, in transactions of about
// maxCommitCost records and block entries, and, if release, does the work that waited for
// each. It reports false if a commit failed.
func (p *persister) turn(ctx context.Context, release bool) bool {
	batch := p.queue.take()
	for len(batch) > 0 {
		n, records := 0, 0
		for n < len(batch) && (n == 0 || records+commitCost(&batch[n].Writes) <= maxCommitCost) {
			records += commitCost(&batch[n].Writes)
			n++
		}
		part := batch[:n]
		batch = batch[n:]
		if err := commitAll(p.idx, part); err != nil {
			select {
			case p.err <- err:
			default:
			}
			return false
		}
		// A commit reads the pages it changes through the index's mapping,
		// which would keep them resident (see index.DB.ReleaseMemory).
		p.idx.ReleaseMemory()
		p.saved(part[len(part)-1].Serial)
		if release {
			for _, rd := range part {
				p.do(ctx, rd)
			}
		}
	}
	return true
}

// maxCommitCost bounds the records and block entries of one transaction
// (see commitCost). bbolt holds its dirty pages in memory until the
// commit, and each block entry goes to a random place of the block index:
// a page read through the index's mapping, which the kernel maps together
// with its cached neighbours (fault-around, 64 KiB), so that every entry
// keeps about 64 KiB resident until the commit's release. 3,072 is about
// a thousand new small files, some 64 MiB at most.
const maxCommitCost = 3072

// commitCost is what w adds to a transaction: its records, and the block
// entries of its local records.
func commitCost(w *engine.Writes) int {
	n := w.Records()
	for i := range w.Local {
		n += len(w.Local[i].Blocks)
	}
	return n
}

// commitAll applies the index writes of batch, in order, in one
// transaction.
func commitAll(idx *index.Folder, batch []engine.Ready) error {
	empty := true
	for _, rd := range batch {
		empty = empty && rd.Writes.Empty()
	}
	if empty {
		return nil
	}
	err := idx.Update(func(tx *index.Tx) error {
		for _, rd := range batch {
			if err := applyWrites(tx, rd.Writes); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit index: %w", err)
	}
	return nil
}

// applyWrites applies an engine's index writes within tx.
func applyWrites(tx *index.Tx, w engine.Writes) error {
	for _, dev := range w.DropRemote {
		if err := tx.DropRemote(dev); err != nil {
			return err
		}
	}
	for _, rf := range w.Remote {
		if err := tx.PutRemote(rf.Device, rf.File); err != nil {
			return err
		}
	}
	for _, f := range w.Local {
		if err := tx.PutLocal(f); err != nil {
			return err
		}
	}
	for _, name := range w.Forget {
		if err := tx.Forget(name); err != nil {
			return err
		}
	}
	for dev, p := range w.Peers {
		if err := tx.SetPeer(dev, index.PeerMeta{IndexID: p.IndexID, Sequence: p.Sequence}); err != nil {
			return err
		}
	}
	for _, s := range w.Summaries {
		var err error
		if s.Gone {
			err = tx.DeleteSummary(s.Name)
		} else {
			err = tx.PutSummary(s.Name, index.Summary{Need: uint8(s.Need), Flags: s.Flags, LocalBytes: s.LocalBytes, GlobalBytes: s.GlobalBytes})
		}
		if err != nil {
			return err
		}
	}
	if w.Summarized {
		return tx.MarkSummarized()
	}
	return nil
}
