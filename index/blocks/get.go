package blocks

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"syscall"

	"github.com/zeebo/blake3"
	bolt "go.etcd.io/bbolt"

	"ferry/proto"
)

// Get returns the data of block h, read into buf if it is large enough and
// into a new slice otherwise. The data is checked against h: a block whose
// bytes are not the block gives an error wrapping ErrDamaged that names the
// pack and offset, never the bad data. A block the store does not hold
// gives ErrNotFound. After an error the contents of buf are undefined.
func (s *Store) Get(h proto.Hash, buf []byte) ([]byte, error) {
	_, data, err := s.get(h, buf)
	if err != nil {
		return nil, fmt.Errorf("blocks: get %s: %w", h, err)
	}
	return data, nil
}

// get looks up block h and reads it, with rmu held for reading so that its
// pack is not removed in between. It returns the location it read.
func (s *Store) get(h proto.Hash, buf []byte) (location, []byte, error) {
	s.rmu.RLock()
	defer s.rmu.RUnlock()
	if s.closed {
		return location{}, nil, errClosed
	}
	loc, err := s.lookup(h)
	if err != nil {
		return location{}, nil, err
	}
	data, err := s.read(h, loc, buf)
	return loc, data, err
}

// lookup returns the location of block h.
func (s *Store) lookup(h proto.Hash) (location, error) {
	var loc location
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketBlocks).Get(h[:])
		if v == nil {
			return ErrNotFound
		}
		var err error
		loc, err = decodeLocation(v)
		return err
	})
	return loc, err
}

// read reads and verifies the record at loc, which must be block h's. The
// caller holds rmu for reading, so that the pack is not removed meanwhile.
func (s *Store) read(h proto.Hash, loc location, buf []byte) ([]byte, error) {
	p, err := s.files.acquire(loc.pack)
	if err != nil {
		return nil, readError(loc, err)
	}
	defer s.files.release(p)
	var hdr [recordHeaderSize]byte
	if _, err := p.f.ReadAt(hdr[:], loc.offset); err != nil {
		return nil, readError(loc, err)
	}
	hh, n, err := parseRecordHeader(hdr[:])
	switch {
	case err != nil:
		return nil, damaged(loc, "%v", err)
	case hh != h || n != int(loc.length):
		return nil, damaged(loc, "record header names block %s of %d bytes", hh, n)
	}
	data := buf
	if cap(data) < n {
		data = make([]byte, n)
	}
	data = data[:n]
	if _, err := p.f.ReadAt(data, loc.offset+recordHeaderSize); err != nil {
		return nil, readError(loc, err)
	}
	if blake3.Sum256(data) != h {
		return nil, damaged(loc, "%v", errMismatch)
	}
	return data, nil
}

// damaged returns an error wrapping ErrDamaged for the record at loc.
func damaged(loc location, format string, args ...any) error {
	return fmt.Errorf("pack %s offset %d: %s: %w", packName(loc.pack), loc.offset, fmt.Sprintf(format, args...), ErrDamaged)
}

// readError describes a failed read of the record at loc. A missing pack,
// one that ends early and a read the disk failed mean the block's bytes are
// gone: they wrap ErrDamaged. Any other error may pass (too many open files,
// say) and does not.
func readError(loc location, err error) error {
	if err == io.EOF {
		err = fmt.Errorf("pack is short: %w", io.ErrUnexpectedEOF)
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EIO) {
		return fmt.Errorf("pack %s offset %d: %w: %w", packName(loc.pack), loc.offset, ErrDamaged, err)
	}
	return fmt.Errorf("pack %s offset %d: %w", packName(loc.pack), loc.offset, err)
}
