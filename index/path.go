package index

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// keyPath holds the directory the folder's records describe.
var keyPath = []byte("path")

// Path returns the directory the folder's records describe, or "" when
// none was recorded (an index written by an older version).
func (f *Folder) Path() (string, error) {
	var p string
	err := f.view("read path", func(b buckets) error {
		p = string(b.meta.Get(keyPath))
		return nil
	})
	return p, err
}

// SetPath records the directory the folder's records describe.
func (f *Folder) SetPath(path string) error {
	err := f.db.Update(func(tx *bolt.Tx) error {
		b, err := f.buckets(tx)
		if err != nil {
			return err
		}
		return b.meta.Put(keyPath, []byte(path))
	})
	if err != nil {
		return fmt.Errorf("record the path of folder %q: %w", f.id, err)
	}
	return nil
}
