package blocks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/zeebo/blake3"
	bolt "go.etcd.io/bbolt"

	"ferry/proto"
)

// Bounds of one GC step.
const (
	// sweepChunk is how many locations GC reads, asks about and drops per
	// transaction.
	sweepChunk = 4096
	// maxMoves is how many copied blocks GC records per transaction.
	maxMoves = 4096
)

// errStop ends a pack scan early.
var errStop = errors.New("stop")

// GCStats says what a GC did.
type GCStats struct {
	Checked      int64 // blocks whose liveness was asked
	Dropped      int64 // blocks dropped as not live
	DroppedBytes int64 // their data bytes
	Moved        int64 // live blocks copied out of sparse packs
	MovedBytes   int64 // their data bytes
	// PacksRemoved counts the packs removed: emptied by the drops, or
	// sparse and emptied by copying.
	PacksRemoved int
	// PacksKept counts the sparse packs kept because they still hold blocks
	// that could not be copied: damaged ones, which Verify reports.
	PacksKept       int
	PackBytesBefore int64
	PackBytesAfter  int64
}

// GC drops every block for which live returns false and reclaims the space
// of sparse packs: a pack whose live records fill less than
// Options.MinLive of it has its live blocks copied to the pack being
// written, and is removed once the copies are committed.
//
// live is called once per block, in hash order, from this goroutine and
// outside any transaction of the store; it may consult the caller's own
// database and read this store, but not call Put or GC. Memory stays
// bounded whatever the number of blocks. Put waits
// while GC runs, so a block the caller starts to refer to during GC must
// be one live reports as live, or be stored after GC returns.
//
// When ctx ends GC stops between two steps and returns its error; what it
// did until then is committed and consistent.
func (s *Store) GC(ctx context.Context, live func(proto.Hash) bool) (GCStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st GCStats
	if s.closed {
		return st, fmt.Errorf("blocks: gc: %w", errClosed)
	}
	before, err := s.stats()
	if err != nil {
		return st, fmt.Errorf("blocks: gc: %w", err)
	}
	st.PackBytesBefore = before.PackBytes
	if err := s.sweep(ctx, live, &st); err != nil {
		return st, fmt.Errorf("blocks: gc: %w", err)
	}
	if err := s.compact(ctx, &st); err != nil {
		return st, fmt.Errorf("blocks: gc: %w", err)
	}
	after, err := s.stats()
	if err != nil {
		return st, fmt.Errorf("blocks: gc: %w", err)
	}
	st.PackBytesAfter = after.PackBytes
	s.log.Debug("blocks: gc", "checked", st.Checked, "dropped", st.Dropped, "moved", st.Moved,
		"packs removed", st.PacksRemoved, "bytes before", st.PackBytesBefore, "bytes after", st.PackBytesAfter)
	return st, nil
}

// sweep drops the locations of blocks that are not live, sweepChunk at a
// time.
func (s *Store) sweep(ctx context.Context, live func(proto.Hash) bool, st *GCStats) error {
	var after []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		es, err := s.nextEntries(after, sweepChunk)
		if err != nil || len(es) == 0 {
			return err
		}
		after = es[len(es)-1].hash[:]
		dead := es[:0:0]
		for _, e := range es {
			st.Checked++
			if !live(e.hash) {
				dead = append(dead, e)
			}
		}
		if len(dead) == 0 {
			continue
		}
		err = s.db.Update(func(tx *bolt.Tx) error {
			n, bytes, err := dropEntries(tx, dead)
			st.Dropped += n
			st.DroppedBytes += bytes
			return err
		})
		if err != nil {
			return err
		}
	}
}

// sparse reports whether GC should empty a pack.
func (s *Store) sparse(m packMeta) bool {
	return m.blocks == 0 || float64(m.liveBytes()) < s.opts.MinLive*float64(m.length-packHeaderSize)
}

// compact empties and removes the sparse packs.
func (s *Store) compact(ctx context.Context, st *GCStats) error {
	metas, err := s.packMetas()
	if err != nil {
		return err
	}
	metas = slices.DeleteFunc(metas, func(m idMeta) bool { return !s.sparse(m.packMeta) })
	if s.w != nil && slices.ContainsFunc(metas, func(m idMeta) bool { return m.id == s.w.id }) {
		// Copies go to another pack. Nothing of the writer's is
		// uncommitted between two writes.
		s.w.close()
		s.w = nil
	}
	c := &copier{s: s, a: s.newAppender(), st: st}
	for _, m := range metas {
		if err := ctx.Err(); err != nil {
			// Keep what was copied so far.
			return cmp.Or(c.flush(), err)
		}
		if err := c.copyPack(m.id, m.length); err != nil {
			c.a.abort(true)
			return fmt.Errorf("pack %s: %w", packName(m.id), err)
		}
	}
	return c.flush()
}

// copier empties sparse packs: it copies their live records to the pack
// being written and moves their locations, in transactions of at most
// maxMoves blocks; the transaction that records that a pack it has read to
// the end holds no block any more deletes the pack's record, and after the
// commit its file is removed.
type copier struct {
	s        *Store
	a        *appender
	st       *GCStats
	from     uint64   // the pack being read
	moves    []entry  // old locations, in the order of a.placed
	bytes    int64    // data bytes copied since the last flush
	finished []uint64 // packs read to the end since the last flush
	err      error    // of the store, not of the pack read: it stops the copy
}

// maxFinished is how many packs read to the end wait for a flush.
const maxFinished = 16

// copyPack copies the live records of pack id, of the given committed
// length, whose data matches their hash. A pack that cannot be read, wholly
// or in part, keeps the blocks not copied, and with them its file.
func (c *copier) copyPack(id uint64, length int64) error {
	path := filepath.Join(c.s.packDir, packName(id))
	f, err := os.Open(path)
	if err != nil {
		c.s.log.Warn("blocks: gc cannot read a pack", "pack", path, "err", err)
	} else {
		c.from = id
		r := io.NewSectionReader(f, packHeaderSize, length-packHeaderSize)
		_, err = scanRecords(r, packHeaderSize, length, c.record)
		f.Close()
		if c.err != nil {
			return c.err
		}
		if err != nil {
			c.s.log.Warn("blocks: gc read a pack up to a bad record", "pack", path, "err", err)
		}
	}
	c.finished = append(c.finished, id)
	if len(c.finished) >= maxFinished {
		return c.flush()
	}
	return nil
}

// record copies one record of the pack being read if it is live and good.
func (c *copier) record(off int64, h proto.Hash, data []byte) error {
	cur, err := c.s.lookup(h)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		c.err = err
		return errStop
	}
	old := location{pack: c.from, offset: off, length: uint32(len(data))}
	if cur != old {
		return nil // garbage: the block was dropped, or is held elsewhere
	}
	if blake3.Sum256(data) != h {
		c.s.log.Warn("blocks: gc found a damaged block; it stays", "pack", packName(c.from), "offset", off, "block", h)
		return nil
	}
	if _, err := c.a.append(h, data); err != nil {
		c.a.abort(true)
		c.moves = nil
		c.err = err
		return errStop
	}
	c.moves = append(c.moves, entry{h, old})
	c.bytes += int64(len(data))
	if len(c.moves) >= maxMoves || c.bytes >= c.s.opts.PackSize {
		if c.err = c.flush(); c.err != nil {
			return errStop
		}
	}
	return nil
}

// flush makes the copies durable, moves their locations and deletes the
// records of the finished packs left empty, in one transaction, then
// removes those packs' files.
func (c *copier) flush() error {
	if len(c.moves) == 0 && len(c.finished) == 0 {
		return nil
	}
	if err := c.a.sync(); err != nil {
		c.a.abort(true)
		return err
	}
	var emptied []uint64
	err := c.s.db.Update(func(tx *bolt.Tx) error {
		if err := moveEntries(tx, c.moves, c.a); err != nil {
			return err
		}
		var err error
		emptied, err = deleteEmpty(tx, c.finished)
		return err
	})
	if err != nil {
		c.a.abort(false)
		return err
	}
	c.a.done()
	c.st.Moved += int64(len(c.moves))
	c.st.MovedBytes += c.bytes
	c.st.PacksRemoved += len(emptied)
	for _, id := range c.finished {
		if !slices.Contains(emptied, id) {
			c.st.PacksKept++
			c.s.log.Warn("blocks: gc kept a sparse pack that holds blocks it cannot copy", "pack", packName(id))
		}
	}
	for _, id := range emptied {
		c.s.removePack(id)
	}
	c.moves, c.bytes, c.finished = c.moves[:0], 0, c.finished[:0]
	return nil
}

// moveEntries points the blocks at the copies a wrote, and takes them off
// the counts of the packs they were in.
func moveEntries(tx *bolt.Tx, moves []entry, a *appender) error {
	blocks := tx.Bucket(bucketBlocks)
	for _, e := range moves {
		cur, err := decodeLocation(blocks.Get(e.hash[:]))
		if err != nil || cur != e.loc {
			return fmt.Errorf("block %s changed while being copied", e.hash)
		}
	}
	if err := a.record(tx); err != nil {
		return err
	}
	metas := make(map[uint64]packMeta)
	for _, e := range moves {
		m, ok := metas[e.loc.pack]
		if !ok {
			var err error
			if m, ok, err = getMeta(tx, e.loc.pack); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("pack %s has no record", packName(e.loc.pack))
			}
		}
		m.blocks--
		m.dataBytes -= int64(e.loc.length)
		metas[e.loc.pack] = m
	}
	for id, m := range metas {
		if err := putMeta(tx, id, m); err != nil {
			return err
		}
	}
	return nil
}

// deleteEmpty deletes the records of the packs in ids that hold no block
// and returns their ids.
func deleteEmpty(tx *bolt.Tx, ids []uint64) ([]uint64, error) {
	var emptied []uint64
	for _, id := range ids {
		m, ok, err := getMeta(tx, id)
		if err != nil {
			return nil, err
		}
		if !ok || m.blocks > 0 {
			continue
		}
		if err := tx.Bucket(bucketPacks).Delete(packKey(id)); err != nil {
			return nil, err
		}
		emptied = append(emptied, id)
	}
	return emptied, nil
}

// removePack removes the file of a pack no location refers to any more,
// waiting for the reads in flight. A file that cannot be removed is left
// for Open, which removes packs the database has no record of.
func (s *Store) removePack(id uint64) {
	path := filepath.Join(s.packDir, packName(id))
	s.rmu.Lock()
	s.files.evict(id)
	err := os.Remove(path)
	s.rmu.Unlock()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("blocks: cannot remove an emptied pack", "pack", path, "err", err)
	}
}
