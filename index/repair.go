package index

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Recovery says what OpenChecked found wrong with an index and did about it.
type Recovery struct {
	// Missing says there was no index file: a new one was made.
	Missing bool
	// Damaged is why the index could not be used; it was moved to KeptAt
	// and a new one made.
	Damaged error
	KeptAt  string
}

// OpenChecked opens the index at path like Open, after checking that every
// page of it is consistent. An index that cannot be opened or read is moved
// aside (to path.damaged-TIMESTAMP, kept for inspection) and a new, empty
// one made in its place; the caller rebuilds it from the folders on disk and
// the peers. An index locked by another process is an error, not damage.
func OpenChecked(path string, now time.Time) (*DB, Recovery, error) {
	var rec Recovery
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		rec.Missing = true
	}
	db, err := openVerified(path)
	if err == nil || errors.Is(err, berrors.ErrTimeout) {
		return db, rec, err
	}
	rec.Damaged = err
	rec.KeptAt = fmt.Sprintf("%s.damaged-%s", path, now.UTC().Format("20060102-150405"))
	if err := os.Rename(path, rec.KeptAt); err != nil {
		return nil, rec, fmt.Errorf("index %s is damaged (%v) and cannot be moved aside: %w", path, rec.Damaged, err)
	}
	db, err = Open(path)
	return db, rec, err
}

// openVerified opens the index and reads every page of it. A read past
// the end of a truncated file faults, and the database code panics on a
// page it cannot make sense of: both are errors here, not crashes.
func openVerified(path string) (db *DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if db != nil {
				db.bolt.Close()
			}
			db, err = nil, fmt.Errorf("open index %s: damaged: %v", path, p)
		}
	}()
	if db, err = Open(path); err != nil {
		return nil, err
	}
	if err := db.check(); err != nil {
		db.bolt.Close()
		return nil, fmt.Errorf("open index %s: damaged: %w", path, err)
	}
	return db, nil
}

// check visits every bucket and key, in this goroutine, so that each page
// in use is read.
func (db *DB) check() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walkBucket(b) })
	})
}

func walkBucket(b *bolt.Bucket) error {
	return b.ForEach(func(k, v []byte) error {
		if v != nil {
			return nil
		}
		sub := b.Bucket(k)
		if sub == nil {
			return fmt.Errorf("key %x has no value and is no bucket", k)
		}
		return walkBucket(sub)
	})
}
