package proto

import (
	"errors"
	"fmt"
	"slices"
)

// ErrDeltaBase says a block-list delta does not apply: the receiver does not
// hold the version it was made against.
var ErrDeltaBase = errors.New("block-list delta against a version not held")

// MaxDeltaKeep bounds the blocks a delta may keep from either end of its
// base: no file has more blocks than this.
const MaxDeltaKeep = 1 << 28

// minDeltaSaving is how many blocks a delta must leave out to be worth
// sending instead of the whole list.
const minDeltaSaving = 8

// BlocksDelta describes a block list by its difference from a previous
// version's: the first Prefix and the last Suffix blocks are Base's, and the
// record's Blocks come between them. An edit in one place of a large file
// (an insert, an append, a rewrite of a region) then costs the changed
// entries, not the whole list.
type BlocksDelta struct {
	Base   Vector // version of the previous record the delta is against
	Prefix int    // blocks kept from the start of Base's list
	Suffix int    // blocks kept from the end of Base's list
}

// MakeDelta returns cur as a delta against old, the previous version of the
// same file that the receiver holds, when that saves enough to be worth it.
// The result shares memory with cur and must not be modified.
func MakeDelta(old, cur *FileInfo) (FileInfo, bool) {
	if !old.IsFile() || !cur.IsFile() || old.Name != cur.Name || len(old.Version) == 0 {
		return FileInfo{}, false
	}
	ob, nb := old.Blocks, cur.Blocks
	prefix := 0
	for prefix < len(ob) && prefix < len(nb) && ob[prefix] == nb[prefix] {
		prefix++
	}
	suffix := 0
	for suffix < len(ob)-prefix && suffix < len(nb)-prefix && sameBlock(ob[len(ob)-1-suffix], nb[len(nb)-1-suffix]) {
		suffix++
	}
	if prefix+suffix < minDeltaSaving {
		return FileInfo{}, false
	}
	d := *cur
	d.Blocks = nb[prefix : len(nb)-suffix]
	d.Delta = &BlocksDelta{Base: old.Version, Prefix: prefix, Suffix: suffix}
	return d, true
}

// sameBlock compares blocks by content: a block kept at the end of a file
// may have moved.
func sameBlock(a, b Block) bool { return a.Size == b.Size && a.Hash == b.Hash }

// ApplyDelta turns f, received as a delta, into a whole record using base,
// the receiver's record of the same file from the same sender. It fails
// with ErrDeltaBase when base is not the version the delta is against, and
// with ErrMalformed when the result is not a valid record.
func (f *FileInfo) ApplyDelta(base *FileInfo) error {
	d := f.Delta
	if d == nil {
		return nil
	}
	if base == nil || base.Name != f.Name || !base.IsFile() || base.Version.Compare(d.Base) != Equal {
		return fmt.Errorf("%s: %w", f.Name, ErrDeltaBase)
	}
	if d.Prefix+d.Suffix > len(base.Blocks) {
		return fmt.Errorf("%w: %s: delta keeps %d+%d of %d blocks", ErrMalformed, f.Name, d.Prefix, d.Suffix, len(base.Blocks))
	}
	blocks := make([]Block, 0, d.Prefix+len(f.Blocks)+d.Suffix)
	blocks = append(blocks, base.Blocks[:d.Prefix]...)
	blocks = append(blocks, f.Blocks...)
	blocks = append(blocks, base.Blocks[len(base.Blocks)-d.Suffix:]...)
	var off int64
	for i := range blocks {
		blocks[i].Offset = off
		off += int64(blocks[i].Size)
	}
	f.Blocks, f.Delta = slices.Clip(blocks), nil
	return f.Validate()
}
