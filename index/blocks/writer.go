package blocks

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	bolt "go.etcd.io/bbolt"

	"ferry/proto"
)

// writeBufferSize is the write buffer of a pack being appended to.
const writeBufferSize = 1 << 20

// packWriter appends records to one pack file.
type packWriter struct {
	id        uint64
	path      string
	f         *os.File
	bw        *bufio.Writer
	size      int64 // bytes written, buffered ones included
	committed int64 // bytes committed transactions cover; 0 for a pack without a record
	dirty     bool  // written since the last sync
}

// createPack creates the next pack file with its header, unsynced.
func (s *Store) createPack() (*packWriter, error) {
	id := s.nextID
	s.nextID++
	path := filepath.Join(s.packDir, packName(id))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	w := &packWriter{id: id, path: path, f: f, bw: s.newBuffer(f)}
	if err := w.write(appendPackHeader(nil, id)); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// resumePack opens an existing pack to append to it after its last
// committed byte, which must be its end.
func (s *Store) resumePack(id uint64, committed int64) (*packWriter, error) {
	path := filepath.Join(s.packDir, packName(id))
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(committed, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &packWriter{id: id, path: path, f: f, bw: s.newBuffer(f), size: committed, committed: committed}, nil
}

// newBuffer returns the write buffer of a pack: writeBufferSize, or the
// pack size if that is smaller.
func (s *Store) newBuffer(f *os.File) *bufio.Writer {
	return bufio.NewWriterSize(f, int(min(s.opts.PackSize, writeBufferSize)))
}

func (w *packWriter) write(b []byte) error {
	n, err := w.bw.Write(b)
	w.size += int64(n)
	w.dirty = true
	return err
}

// sync writes the buffered bytes and flushes the file to stable storage.
func (w *packWriter) sync() error {
	if !w.dirty {
		return nil
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", w.path, err)
	}
	w.dirty = false
	return nil
}

func (w *packWriter) close() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// appender writes the records of one transaction, starting new packs as
// packs fill up. Its records count only once the transaction that records
// their locations commits.
type appender struct {
	s       *Store
	touched []*packWriter // in the order written; the last may still be s.w
	placed  []entry
	created bool // a new pack file was created: its directory must be synced
}

func (s *Store) newAppender() *appender { return &appender{s: s} }

// append writes one record and returns its location.
func (a *appender) append(h proto.Hash, data []byte) (location, error) {
	s := a.s
	if s.w != nil && s.w.size >= s.opts.PackSize {
		// The pack filled up in this transaction: it is synced now and
		// closed once the transaction commits.
		if err := s.w.sync(); err != nil {
			return location{}, err
		}
		s.w = nil
	}
	if s.w == nil {
		w, err := s.createPack()
		if err != nil {
			return location{}, err
		}
		s.w = w
		a.created = true
	}
	w := s.w
	if !slices.Contains(a.touched, w) {
		a.touched = append(a.touched, w)
	}
	loc := location{pack: w.id, offset: w.size, length: uint32(len(data))}
	var hdr [recordHeaderSize]byte
	if err := w.write(appendRecordHeader(hdr[:0], h, len(data))); err != nil {
		return location{}, fmt.Errorf("write %s: %w", w.path, err)
	}
	if err := w.write(data); err != nil {
		return location{}, fmt.Errorf("write %s: %w", w.path, err)
	}
	a.placed = append(a.placed, entry{h, loc})
	return loc, nil
}

// sync makes every record written durable, and the directory entries of
// new packs with them. It must return before the transaction commits.
func (a *appender) sync() error {
	for _, w := range a.touched {
		if err := w.sync(); err != nil {
			return err
		}
	}
	if a.created {
		if err := syncDir(a.s.packDir); err != nil {
			return err
		}
	}
	return nil
}

// record puts the locations of the records written, replacing older ones,
// and adds the records to their packs' counts in tx.
func (a *appender) record(tx *bolt.Tx) error {
	blocks := tx.Bucket(bucketBlocks)
	for _, e := range a.placed {
		if err := blocks.Put(e.hash[:], e.loc.encode()); err != nil {
			return err
		}
	}
	for _, w := range a.touched {
		m, ok, err := getMeta(tx, w.id)
		if err != nil {
			return err
		}
		if !ok {
			m = packMeta{}
		}
		m.length = w.size
		for _, e := range a.placed {
			if e.loc.pack == w.id {
				m.blocks++
				m.dataBytes += int64(e.loc.length)
			}
		}
		if err := putMeta(tx, w.id, m); err != nil {
			return err
		}
	}
	return nil
}

// done is called once the transaction committed: full packs are closed.
func (a *appender) done() {
	if w := a.s.w; w != nil && w.size >= a.s.opts.PackSize {
		a.s.w = nil
		if !slices.Contains(a.touched, w) {
			w.close()
		}
	}
	for _, w := range a.touched {
		w.committed = w.size
		if w != a.s.w {
			w.close()
		}
	}
	a.touched, a.placed, a.created = nil, nil, false
}

// abort gives up the records written. The packs written to are closed and
// the next record starts a new pack. If the transaction certainly did not
// commit (cleanup), the bytes written are taken away again: new packs
// removed, older ones cut back. Otherwise they are left for Open, which
// goes by what the database says on disk.
func (a *appender) abort(cleanup bool) {
	for _, w := range a.touched {
		w.close()
		if w == a.s.w {
			a.s.w = nil
		}
		if !cleanup {
			continue
		}
		var err error
		if w.committed == 0 {
			err = os.Remove(w.path)
		} else {
			err = os.Truncate(w.path, w.committed)
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			a.s.log.Warn("blocks: cannot take back an aborted write; Open will", "pack", w.path, "err", err)
		}
	}
	a.touched, a.placed, a.created = nil, nil, false
}

// syncDir flushes a directory's entries to stable storage. Windows cannot
// flush a directory opened for reading; there, creating a file is a
// journaled metadata change and nothing is done.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
