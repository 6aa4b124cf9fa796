package index

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// keyPath and keyDev hold the directory the folder's records describe and
// the device number of its file system.
var (
	keyPath = []byte("path")
	keyDev  = []byte("dev")
)

// forgetBatch is how many records one transaction of ForgetInodes
// rewrites.
const forgetBatch = 4096

// Root returns the directory the folder's records describe and the device
// number of the file system it was on; "" and 0 when none was recorded (an
// index written by an older version).
func (f *Folder) Root() (path string, dev uint64, err error) {
	err = f.view("read root", func(b buckets) error {
		path = string(b.meta.Get(keyPath))
		if v := b.meta.Get(keyDev); len(v) == 8 {
			dev = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return path, dev, err
}

// SetRoot records the directory the folder's records describe and the
// device number of its file system (0: unknown).
func (f *Folder) SetRoot(path string, dev uint64) error {
	err := f.db.Update(func(tx *bolt.Tx) error {
		b, err := f.buckets(tx)
		if err != nil {
			return err
		}
		if err := b.meta.Put(keyPath, []byte(path)); err != nil {
			return err
		}
		return b.meta.Put(keyDev, binary.BigEndian.AppendUint64(nil, dev))
	})
	if err != nil {
		return fmt.Errorf("record the directory of folder %q: %w", f.id, err)
	}
	return nil
}

// ForgetInodes marks the inode number of every local record unknown, for
// a folder whose files were copied to another file system: their numbers
// there differ, and a scan takes a file of the recorded content and time
// for the recorded one, learning its new number, instead of for a new
// version. Nothing else of a record changes. It returns how many records
// it rewrote, in transactions of forgetBatch records.
func (f *Folder) ForgetInodes() (int, error) {
	var after []byte
	total := 0
	for {
		done, n := true, 0
		err := f.db.Update(func(tx *bolt.Tx) error {
			b, err := f.buckets(tx)
			if err != nil {
				return err
			}
			c := b.local.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil; k, v = c.Next() {
				if n == forgetBatch {
					done = false
					break
				}
				rec, err := decodeRecord(string(k), v)
				if err != nil {
					return err
				}
				after = append(after[:0], k...)
				if rec.Inode == 0 {
					continue
				}
				rec.Inode = 0
				// bbolt keeps the key until the commit: a copy of its
				// own. The cursor goes back onto it after the change.
				if err := b.local.Put(bytes.Clone(k), appendRecord(nil, &rec)); err != nil {
					return err
				}
				c.Seek(after)
				n++
			}
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("forget the inode numbers of folder %q: %w", f.id, err)
		}
		if done {
			return total, nil
		}
	}
}
