package blocks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"ferry/proto"
)

// Limits.
const (
	// MaxBlockSize is the largest block Put accepts: the chunker's largest
	// allowed maximum.
	MaxBlockSize = 16 << 20
	// MaxBatch is the most blocks one Put accepts; they are recorded in one
	// database transaction.
	MaxBatch = 1 << 16
	// maxPackSize bounds Options.PackSize.
	maxPackSize = 1 << 30
)

// Defaults for the zero fields of Options.
const (
	DefaultPackSize     = 64 << 20
	DefaultMinLive      = 0.5
	DefaultMaxOpenPacks = 64
)

// schemaVersion is the layout described in the package documentation.
const schemaVersion = 1

// openTimeout bounds the wait for the database's file lock.
const openTimeout = time.Second

var (
	bucketInfo   = []byte("info")
	bucketBlocks = []byte("blocks")
	bucketPacks  = []byte("packs")
	keySchema    = []byte("schema")
	keyRebuild   = []byte("rebuild")
)

var (
	// ErrNotFound says the store does not hold a block.
	ErrNotFound = errors.New("block not found")
	// ErrDamaged says a block's bytes are missing or are not the block: its
	// pack is missing or short, or the data does not match its hash.
	ErrDamaged = errors.New("block damaged")

	errClosed = errors.New("store closed")
)

// Options tunes a store. The zero value gives the defaults.
type Options struct {
	// PackSize is the size at which a pack is closed and the next block
	// starts a new one (default 64 MiB, at most 1 GiB). A pack can exceed it
	// by one block.
	PackSize int64
	// MinLive is the fraction of a pack's bytes that must still be live for
	// GC to leave it alone; a sparser pack is rewritten (default 0.5). A
	// pack without a live block is removed whatever MinLive.
	MinLive float64
	// MaxOpenPacks bounds the pack files kept open for reading (default
	// 64). Readers in flight may hold a few more for the time of a read.
	MaxOpenPacks int
	// Logger receives what Open repairs and what GC does (default: none).
	Logger *slog.Logger
}

// Validate fills the defaults into zero fields and refuses values out of
// range.
func (o *Options) Validate() error {
	if o.PackSize < 0 || o.PackSize > maxPackSize || o.MinLive < 0 || o.MinLive > 1 || o.MaxOpenPacks < 0 {
		return fmt.Errorf("blocks options: out of range (pack size %d, min live %v, max open packs %d)",
			o.PackSize, o.MinLive, o.MaxOpenPacks)
	}
	if o.PackSize == 0 {
		o.PackSize = DefaultPackSize
	}
	if o.MinLive == 0 {
		o.MinLive = DefaultMinLive
	}
	if o.MaxOpenPacks == 0 {
		o.MaxOpenPacks = DefaultMaxOpenPacks
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Store is a content-addressed block store in one directory. It is safe for
// concurrent use: Put, GC and the dropping of damaged blocks run one at a
// time; Get, Has, Stats and Verify run alongside them.
type Store struct {
	dir     string
	packDir string
	opts    Options
	log     *slog.Logger
	db      *bolt.DB
	files   *fileCache

	// rmu is held for reading by every read of a pack, and for writing
	// while a pack file is removed and by Close.
	rmu    sync.RWMutex
	closed bool // set under both rmu and mu

	// mu serializes the writers: Put, GC, dropping and Close.
	mu     sync.Mutex
	w      *packWriter // the pack being appended to, or nil
	nextID uint64      // id of the next new pack
}

// Open opens or creates the store in dir, creating the directory if needed.
// It fails after a second if another process holds the store.
//
// Open repairs what a crash leaves: it cuts every pack back to the bytes
// committed transactions cover and removes pack files no committed
// transaction refers to. If the database is missing but pack files exist, it
// rebuilds the database from the packs' record headers, verifying every
// block.
func Open(dir string, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Store{
		dir:     dir,
		packDir: filepath.Join(dir, "packs"),
		opts:    opts,
		log:     opts.Logger,
	}
	if err := os.MkdirAll(s.packDir, 0o700); err != nil {
		return nil, fmt.Errorf("blocks: open %s: %w", dir, err)
	}
	s.files = newFileCache(s.packDir, opts.MaxOpenPacks)
	if err := s.openDB(); err != nil {
		return nil, err
	}
	if err := s.recover(); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("blocks: open %s: %w", dir, err)
	}
	return s, nil
}

func (s *Store) openDB() error {
	path := filepath.Join(s.dir, "blocks.db")
	bopts := &bolt.Options{
		Timeout:        openTimeout,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	}
	db, err := bolt.Open(path, 0o600, bopts)
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("blocks: open %s: it is locked (is another ferry running with the same home?): %w", path, err)
	}
	if err != nil {
		return fmt.Errorf("blocks: open %s: %w", path, err)
	}
	s.db = db
	return nil
}

// initSchema creates the buckets of a new database and refuses one written
// in another layout. A new database with packs beside it is marked for a
// rebuild in the same transaction, so that a crash cannot leave an empty
// database that would make every pack look like garbage.
func initSchema(tx *bolt.Tx, havePacks bool) error {
	info := tx.Bucket(bucketInfo)
	if info == nil {
		var err error
		if info, err = tx.CreateBucket(bucketInfo); err != nil {
			return err
		}
		if havePacks {
			if err := info.Put(keyRebuild, []byte{1}); err != nil {
				return err
			}
		}
	}
	for _, name := range [][]byte{bucketBlocks, bucketPacks} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	v := info.Get(keySchema)
	switch {
	case v == nil:
		return info.Put(keySchema, binary.BigEndian.AppendUint64(nil, schemaVersion))
	case len(v) != 8:
		return fmt.Errorf("corrupt schema version %x", v)
	case binary.BigEndian.Uint64(v) != schemaVersion:
		return fmt.Errorf("schema version %d, this ferry reads %d", binary.BigEndian.Uint64(v), schemaVersion)
	}
	return nil
}

// Close closes the store. It waits for a Put or GC in progress.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.w != nil {
		s.w.close()
		s.w = nil
	}
	s.files.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("blocks: close %s: %w", s.dir, err)
	}
	return nil
}

// Has reports whether the store holds a block. A damaged block counts as
// held until Verify drops it.
func (s *Store) Has(h proto.Hash) (bool, error) {
	s.rmu.RLock()
	defer s.rmu.RUnlock()
	if s.closed {
		return false, fmt.Errorf("blocks: has %s: %w", h, errClosed)
	}
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketBlocks).Get(h[:]) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("blocks: has %s: %w", h, err)
	}
	return ok, nil
}

// Stats describes the contents of a store.
type Stats struct {
	Blocks     int64 // blocks held
	BlockBytes int64 // bytes of their data
	Packs      int64 // pack files
	PackBytes  int64 // bytes of pack files that committed transactions cover
	// GarbageBytes is the part of PackBytes that holds blocks no longer in
	// the store; GC reclaims it from sparse packs.
	GarbageBytes int64
}

// Stats returns the store's counts as its database records them.
func (s *Store) Stats() (Stats, error) {
	s.rmu.RLock()
	defer s.rmu.RUnlock()
	if s.closed {
		return Stats{}, fmt.Errorf("blocks: stats: %w", errClosed)
	}
	st, err := s.stats()
	if err != nil {
		return Stats{}, fmt.Errorf("blocks: stats: %w", err)
	}
	return st, nil
}

func (s *Store) stats() (Stats, error) {
	var st Stats
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPacks).ForEach(func(k, v []byte) error {
			m, err := decodePackMeta(v)
			if err != nil {
				return err
			}
			st.Blocks += m.blocks
			st.BlockBytes += m.dataBytes
			st.Packs++
			st.PackBytes += m.length
			st.GarbageBytes += m.garbage()
			return nil
		})
	})
	return st, err
}

// idMeta is a pack's id and meta.
type idMeta struct {
	id uint64
	packMeta
}

// packMetas returns every pack the database records, in id order.
func (s *Store) packMetas() ([]idMeta, error) {
	var ms []idMeta
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPacks).ForEach(func(k, v []byte) error {
			m, err := decodePackMeta(v)
			if err != nil {
				return err
			}
			if len(k) != 8 {
				return fmt.Errorf("corrupt pack key %x", k)
			}
			ms = append(ms, idMeta{binary.BigEndian.Uint64(k), m})
			return nil
		})
	})
	return ms, err
}

// getMeta returns pack id's meta in tx, and false if there is none.
func getMeta(tx *bolt.Tx, id uint64) (packMeta, bool, error) {
	v := tx.Bucket(bucketPacks).Get(packKey(id))
	if v == nil {
		return packMeta{}, false, nil
	}
	m, err := decodePackMeta(v)
	return m, true, err
}

func putMeta(tx *bolt.Tx, id uint64, m packMeta) error {
	return tx.Bucket(bucketPacks).Put(packKey(id), m.encode())
}

// entry is a block's hash and location.
type entry struct {
	hash proto.Hash
	loc  location
}

// nextEntries returns up to n locations in hash order, starting after the
// hash after (from the first one if after is nil).
func (s *Store) nextEntries(after []byte, n int) ([]entry, error) {
	var es []entry
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketBlocks).Cursor()
		var k, v []byte
		if after == nil {
			k, v = c.First()
		} else if k, v = c.Seek(after); k != nil && string(k) == string(after) {
			k, v = c.Next()
		}
		for ; k != nil && len(es) < n; k, v = c.Next() {
			loc, err := decodeLocation(v)
			if err != nil || len(k) != proto.HashSize {
				return fmt.Errorf("block %x: corrupt location %x", k, v)
			}
			es = append(es, entry{proto.Hash(k), loc})
		}
		return nil
	})
	return es, err
}

// dropEntries deletes the locations in es that are still current and takes
// their records off their packs' counts. It returns how many it deleted and
// their data bytes.
func dropEntries(tx *bolt.Tx, es []entry) (n, bytes int64, err error) {
	blocks := tx.Bucket(bucketBlocks)
	metas := make(map[uint64]packMeta)
	for _, e := range es {
		v := blocks.Get(e.hash[:])
		if v == nil {
			continue
		}
		if cur, err := decodeLocation(v); err != nil || cur != e.loc {
			continue
		}
		if err := blocks.Delete(e.hash[:]); err != nil {
			return 0, 0, err
		}
		m, ok := metas[e.loc.pack]
		if !ok {
			if m, ok, err = getMeta(tx, e.loc.pack); err != nil {
				return 0, 0, err
			} else if !ok {
				return 0, 0, fmt.Errorf("block %s is in pack %s, which has no record", e.hash, packName(e.loc.pack))
			}
		}
		m.blocks--
		m.dataBytes -= int64(e.loc.length)
		metas[e.loc.pack] = m
		n++
		bytes += int64(e.loc.length)
	}
	for id, m := range metas {
		if err := putMeta(tx, id, m); err != nil {
			return 0, 0, err
		}
	}
	return n, bytes, nil
}
