package index

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"ferry/proto"
)

// schemaVersion is the layout described in the package documentation.
// Version 1 had no summaries and need list: opening it adds their empty
// buckets, and the engine fills them (see Folder.Summarized).
const schemaVersion = 2

// openTimeout bounds the wait for the database's file lock.
const openTimeout = time.Second

var (
	bucketInfo    = []byte("info")
	bucketFolders = []byte("folders")
	keySchema     = []byte("schema")
)

// Local is the device of this device's own records in Folder.Each and
// Folder.Get: the zero DeviceID, which no real device has.
var Local proto.DeviceID

// DB is ferry's index database. It is safe for concurrent use.
type DB struct {
	bolt *bolt.DB
	path string
}

// Open opens or creates the index at path. It fails after a second if
// another process holds the database.
func Open(path string) (*DB, error) {
	return open(path, openTimeout)
}

func open(path string, timeout time.Duration) (*DB, error) {
	opts := &bolt.Options{
		Timeout:        timeout,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	}
	b, err := bolt.Open(path, 0o600, opts)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open index %s: it is locked (is another ferry running with the same home?): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", path, err)
	}
	db := &DB{bolt: b, path: path}
	if err := b.Update(initSchema); err != nil {
		b.Close()
		return nil, fmt.Errorf("open index %s: %w", path, err)
	}
	return db, nil
}

// initSchema creates the top-level buckets of a new database and refuses one
// written in another layout.
func initSchema(tx *bolt.Tx) error {
	info, err := tx.CreateBucketIfNotExists(bucketInfo)
	if err != nil {
		return err
	}
	if _, err := tx.CreateBucketIfNotExists(bucketFolders); err != nil {
		return err
	}
	v := info.Get(keySchema)
	switch {
	case v == nil:
	case len(v) != 8:
		return fmt.Errorf("corrupt schema version %x", v)
	case binary.BigEndian.Uint64(v) == 1:
		if err := upgradeFrom1(tx); err != nil {
			return fmt.Errorf("upgrade index from schema version 1: %w", err)
		}
	case binary.BigEndian.Uint64(v) != schemaVersion:
		return fmt.Errorf("schema version %d, this ferry reads %d", binary.BigEndian.Uint64(v), schemaVersion)
	default:
		return nil
	}
	return info.Put(keySchema, binary.BigEndian.AppendUint64(nil, schemaVersion))
}

// upgradeFrom1 gives each folder its empty summary and need buckets.
func upgradeFrom1(tx *bolt.Tx) error {
	folders := tx.Bucket(bucketFolders)
	return folders.ForEachBucket(func(id []byte) error {
		fb := folders.Bucket(id)
		for _, name := range [][]byte{bucketSummary, bucketNeed} {
			if _, err := fb.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("folder %q: %w", id, err)
			}
		}
		return nil
	})
}

// Close closes the database. Folders opened from it become unusable.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close index %s: %w", db.path, err)
	}
	return nil
}

// Folder returns the folder with id, creating it with a new random index ID
// if it does not exist yet.
func (db *DB) Folder(id string) (*Folder, error) {
	if id == "" {
		return nil, errors.New("index folder: empty folder ID")
	}
	f := &Folder{db: db.bolt, id: id}
	exists := false
	err := db.bolt.View(func(tx *bolt.Tx) error {
		exists = tx.Bucket(bucketFolders).Bucket([]byte(id)) != nil
		return nil
	})
	if err == nil && !exists {
		err = db.bolt.Update(func(tx *bolt.Tx) error { return createFolder(tx, id) })
	}
	if err != nil {
		return nil, fmt.Errorf("index folder %q: %w", id, err)
	}
	return f, nil
}

func createFolder(tx *bolt.Tx, id string) error {
	fb, err := tx.Bucket(bucketFolders).CreateBucketIfNotExists([]byte(id))
	if err != nil {
		return err
	}
	for _, name := range subBuckets {
		if _, err := fb.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := fb.Bucket(bucketMeta)
	if meta.Get(keyIndexID) != nil {
		return nil
	}
	if err := meta.Put(keyIndexID, binary.BigEndian.AppendUint64(nil, newIndexID())); err != nil {
		return err
	}
	if err := meta.Put(keySummaries, []byte{1}); err != nil { // no name, no summary missing
		return err
	}
	return meta.Put(keyLastSeq, binary.BigEndian.AppendUint64(nil, 0))
}

// newIndexID returns a random non-zero index ID.
func newIndexID() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:]) // never fails; it crashes the program instead
		if id := binary.BigEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}

// DropFolder deletes a folder and all its records. Dropping a folder that
// does not exist is not an error.
func (db *DB) DropFolder(id string) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketFolders).DeleteBucket([]byte(id))
		if errors.Is(err, berrors.ErrBucketNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("drop folder %q: %w", id, err)
	}
	return nil
}

// Folders returns the IDs of the folders in the index, sorted.
func (db *DB) Folders() ([]string, error) {
	var ids []string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFolders).ForEachBucket(func(k []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	return ids, nil
}
