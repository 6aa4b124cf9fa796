package blocks

import (
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

// recover brings the packs in line with the database after a crash, and
// rebuilds the database from the packs if it is new. It runs in Open,
// before the store is shared.
func (s *Store) recover() error {
	files, err := s.listPacks()
	if err != nil {
		return err
	}
	var rebuild bool
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := initSchema(tx, len(files) > 0); err != nil {
			return err
		}
		rebuild = tx.Bucket(bucketInfo).Get(keyRebuild) != nil
		return nil
	})
	if err != nil {
		return err
	}
	if rebuild {
		if err := s.rebuild(files); err != nil {
			return fmt.Errorf("rebuild the database from the packs: %w", err)
		}
	}
	metas, err := s.packMetas()
	if err != nil {
		return err
	}
	if err := s.removeOrphans(files, metas); err != nil {
		return err
	}
	for _, m := range metas {
		if err := s.cutTail(m); err != nil {
			return err
		}
	}
	s.nextID = 1
	if len(files) > 0 {
		s.nextID = max(s.nextID, files[len(files)-1]+1)
	}
	if len(metas) > 0 {
		s.nextID = max(s.nextID, metas[len(metas)-1].id+1)
	}
	return s.resume(metas)
}

// listPacks returns the ids of the pack files, in order. Other files are
// left alone.
func (s *Store) listPacks() ([]uint64, error) {
	des, err := os.ReadDir(s.packDir)
	if err != nil {
		return nil, err
	}
	var ids []uint64
	for _, de := range des {
		if id, ok := parsePackName(de.Name()); ok && de.Type().IsRegular() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// removeOrphans removes the pack files the database has no record of: a
// pack a crash left before its first transaction committed, or one GC had
// emptied but not yet removed. No location refers to them.
func (s *Store) removeOrphans(files []uint64, metas []idMeta) error {
	removed := false
	for _, id := range files {
		if _, ok := slices.BinarySearchFunc(metas, id, func(m idMeta, id uint64) int { return cmpUint(m.id, id) }); ok {
			continue
		}
		path := filepath.Join(s.packDir, packName(id))
		if err := os.Remove(path); err != nil {
			return err
		}
		s.log.Info("blocks: removed a pack no block refers to", "pack", path)
		removed = true
	}
	if removed {
		return syncDir(s.packDir)
	}
	return nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cutTail truncates a pack to the bytes committed transactions cover; the
// rest was written by a transaction that never committed. A pack that is
// missing or shorter than that is damaged: it is left for Verify to report.
func (s *Store) cutTail(m idMeta) error {
	path := filepath.Join(s.packDir, packName(m.id))
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.log.Warn("blocks: pack missing", "pack", path, "blocks", m.blocks)
		return nil
	case err != nil:
		return err
	case fi.Size() < m.length:
		s.log.Warn("blocks: pack shorter than committed", "pack", path, "size", fi.Size(), "committed", m.length)
		return nil
	case fi.Size() == m.length:
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(m.length); err != nil {
		return err
	}
	s.log.Info("blocks: cut an uncommitted pack tail", "pack", path, "bytes", fi.Size()-m.length)
	return f.Sync()
}

// resume makes the newest pack the one Put appends to, if it is not full
// and its file is whole.
func (s *Store) resume(metas []idMeta) error {
	if len(metas) == 0 {
		return nil
	}
	m := metas[len(metas)-1]
	if m.length >= s.opts.PackSize {
		return nil
	}
	fi, err := os.Stat(filepath.Join(s.packDir, packName(m.id)))
	if err != nil || fi.Size() != m.length {
		return nil // missing or short: damaged, not written to again
	}
	w, err := s.resumePack(m.id, m.length)
	if err != nil {
		return err
	}
	s.w = w
	return nil
}

// rebuild indexes every pack file the database has no record of from its
// record headers, then clears the rebuild mark. Each pack is indexed in one
// transaction, so a crash resumes with the packs not yet indexed. Only
// records whose data matches their hash are kept; a block found twice is
// kept at its first place.
func (s *Store) rebuild(files []uint64) error {
	for _, id := range files {
		if err := s.indexPack(id); err != nil {
			return fmt.Errorf("pack %s: %w", packName(id), err)
		}
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInfo).Delete(keyRebuild)
	})
}

// indexPack adds the good records of pack id to the database. It holds the
// entries of one pack in memory: at most PackSize over the smallest record.
func (s *Store) indexPack(id uint64) error {
	var known bool
	if err := s.db.View(func(tx *bolt.Tx) error {
		_, ok, err := getMeta(tx, id)
		known = ok
		return err
	}); err != nil || known {
		return err
	}
	path := filepath.Join(s.packDir, packName(id))
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var hdr [packHeaderSize]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil || [8]byte(hdr[:8]) != packMagic {
		s.log.Warn("blocks: not a pack, nothing indexed", "pack", path)
		return nil
	}
	var es []entry
	seen := make(map[proto.Hash]struct{})
	end, scanErr := scanRecords(f, packHeaderSize, s.opts.PackSize, func(off int64, h proto.Hash, data []byte) error {
		if _, ok := seen[h]; ok || blake3.Sum256(data) != h {
			return nil
		}
		seen[h] = struct{}{}
		es = append(es, entry{h, location{pack: id, offset: off, length: uint32(len(data))}})
		return nil
	})
	if scanErr != nil && !errors.Is(scanErr, io.ErrUnexpectedEOF) {
		// A bad record in the middle: what follows cannot be parsed, but
		// it is kept as garbage rather than cut off.
		s.log.Warn("blocks: pack indexed up to a bad record", "pack", path, "err", scanErr)
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		end = fi.Size()
	}
	n, err := s.indexEntries(id, end, es)
	s.log.Info("blocks: indexed a pack", "pack", path, "blocks", n)
	return err
}

// indexEntries records es, the good records of pack id, except blocks
// already recorded elsewhere, and the pack as end bytes long.
func (s *Store) indexEntries(id uint64, end int64, es []entry) (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		blocks := tx.Bucket(bucketBlocks)
		m := packMeta{length: end}
		for _, e := range es {
			if blocks.Get(e.hash[:]) != nil {
				continue
			}
			if err := blocks.Put(e.hash[:], e.loc.encode()); err != nil {
				return err
			}
			m.blocks++
			m.dataBytes += int64(e.loc.length)
			n++
		}
		return putMeta(tx, id, m)
	})
	return n, err
}
