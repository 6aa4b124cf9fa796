package blocks

import (
	"errors"
	"fmt"

	"github.com/zeebo/blake3"
	bolt "go.etcd.io/bbolt"

	"ferry/proto"
)

// Block is a block to store: its data and the hash it must have.
type Block struct {
	Hash proto.Hash
	Data []byte
}

var (
	errTooLarge = fmt.Errorf("block is larger than %d bytes", MaxBlockSize)
	errMismatch = errors.New("data does not match the hash")
)

// Put stores a batch of blocks, at most MaxBatch. Every block's data is
// checked against its hash first; one mismatch or oversize block refuses the
// whole batch. Blocks the store already holds, or that appear twice in the
// batch, are stored once. When Put returns nil every block of the batch is
// durable; on an error, none of the new ones is stored.
//
// A block held but damaged is not stored again: drop it with Verify first.
func (s *Store) Put(blocks []Block) error {
	if len(blocks) > MaxBatch {
		return fmt.Errorf("blocks: put: %d blocks in one batch, at most %d", len(blocks), MaxBatch)
	}
	for _, b := range blocks {
		if err := checkBlock(b); err != nil {
			return fmt.Errorf("blocks: put %s: %w", b.Hash, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("blocks: put: %w", errClosed)
	}
	fresh, err := s.missing(blocks)
	if err != nil {
		return fmt.Errorf("blocks: put: %w", err)
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := s.store(fresh); err != nil {
		return fmt.Errorf("blocks: put %d blocks: %w", len(fresh), err)
	}
	return nil
}

// checkBlock refuses a block that is too large or whose data is not what
// its hash says.
func checkBlock(b Block) error {
	if len(b.Data) > MaxBlockSize {
		return fmt.Errorf("%d bytes: %w", len(b.Data), errTooLarge)
	}
	if got := blake3.Sum256(b.Data); got != b.Hash {
		return fmt.Errorf("%w (it hashes to %s)", errMismatch, proto.Hash(got))
	}
	return nil
}

// missing returns the blocks of the batch the store does not hold, each
// once, in batch order.
func (s *Store) missing(blocks []Block) ([]Block, error) {
	var fresh []Block
	seen := make(map[proto.Hash]struct{}, len(blocks))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBlocks)
		for _, blk := range blocks {
			if _, ok := seen[blk.Hash]; ok {
				continue
			}
			seen[blk.Hash] = struct{}{}
			if b.Get(blk.Hash[:]) == nil {
				fresh = append(fresh, blk)
			}
		}
		return nil
	})
	return fresh, err
}

// store appends blocks to packs, syncs them, and records their locations
// in one transaction.
func (s *Store) store(blocks []Block) error {
	a := s.newAppender()
	for _, b := range blocks {
		if _, err := a.append(b.Hash, b.Data); err != nil {
			a.abort(true)
			return err
		}
	}
	if err := a.sync(); err != nil {
		a.abort(true)
		return err
	}
	if err := s.db.Update(a.record); err != nil {
		a.abort(false)
		return err
	}
	a.done()
	return nil
}
