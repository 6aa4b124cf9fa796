package blocks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"ferry/proto"
)

// MaxReported is the most damaged blocks one Verify lists; it counts all.
const MaxReported = 10000

// verifyChunk is how many locations Verify reads at a time, in pack order.
const verifyChunk = 4096

// Damage is a block whose bytes are not the block.
type Damage struct {
	Hash   proto.Hash
	Pack   string // file name of the pack
	Offset int64  // of the block's record in the pack
	Err    error  // what is wrong; it wraps ErrDamaged
}

// VerifyOptions says what Verify does besides reading.
type VerifyOptions struct {
	// Drop deletes the damaged blocks from the store, so that Has reports
	// them missing and Put stores them again from a good source.
	Drop bool
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	Blocks  int64    // blocks read, damaged ones included
	Bytes   int64    // data bytes of the good ones
	Damaged []Damage // the damaged blocks, up to MaxReported
	// DamagedBlocks counts all damaged blocks, listed or not.
	DamagedBlocks int64
	Dropped       int64 // damaged blocks deleted, with Drop
}

// Verify reads every block of the store and checks it against its hash. It
// goes on past damaged blocks and reports them all: a hash mismatch, a
// missing pack, a pack that ends early. It returns an error only for what
// keeps it from going on: ctx ending, or a read error that does not mean
// damage.
//
// Verify runs alongside Get, Put and GC; a block stored or dropped
// meanwhile may or may not be read. Blocks are read a few thousand at a time
// in pack order, so the reads are mostly sequential.
func (s *Store) Verify(ctx context.Context, opts VerifyOptions) (VerifyReport, error) {
	var rep VerifyReport
	var after proto.Hash
	var buf []byte
	for first := true; ; first = false {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("blocks: verify: %w", err)
		}
		var from []byte
		if !first {
			from = after[:]
		}
		es, err := s.nextEntries(from, verifyChunk)
		if err != nil {
			return rep, fmt.Errorf("blocks: verify: %w", err)
		}
		if len(es) == 0 {
			return rep, nil
		}
		after = es[len(es)-1].hash
		slices.SortFunc(es, func(a, b entry) int {
			return cmp.Or(cmp.Compare(a.loc.pack, b.loc.pack), cmp.Compare(a.loc.offset, b.loc.offset))
		})
		bad, err := s.verifyEntries(es, &rep, &buf)
		if err != nil {
			return rep, fmt.Errorf("blocks: verify: %w", err)
		}
		if opts.Drop && len(bad) > 0 {
			if err := s.drop(bad, &rep); err != nil {
				return rep, fmt.Errorf("blocks: verify: %w", err)
			}
		}
	}
}

// verifyEntries reads the blocks of es where they are now and returns the
// damaged ones, at the locations read. *buf is reused from block to block.
func (s *Store) verifyEntries(es []entry, rep *VerifyReport, buf *[]byte) ([]entry, error) {
	var bad []entry
	for _, e := range es {
		loc, data, err := s.get(e.hash, *buf)
		switch {
		case errors.Is(err, ErrNotFound):
			continue // dropped meanwhile
		case err == nil:
			rep.Blocks++
			rep.Bytes += int64(len(data))
			*buf = data[:0]
			continue
		case !errors.Is(err, ErrDamaged):
			return nil, fmt.Errorf("block %s: %w", e.hash, err)
		}
		rep.Blocks++
		rep.DamagedBlocks++
		if len(rep.Damaged) < MaxReported {
			rep.Damaged = append(rep.Damaged, Damage{Hash: e.hash, Pack: packName(loc.pack), Offset: loc.offset, Err: err})
		}
		bad = append(bad, entry{e.hash, loc})
	}
	return bad, nil
}

// drop deletes the locations in bad that are still current.
func (s *Store) drop(bad []entry, rep *VerifyReport) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		n, _, err := dropEntries(tx, bad)
		rep.Dropped += n
		return err
	})
}
