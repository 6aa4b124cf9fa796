//go:build unix

package index

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// ReleaseMemory drops the index's pages from this process's resident
// memory. bbolt reads through a shared read-only mapping of the file, so
// every page a walk or a lookup touched stays resident, and a large index
// would count in full against the daemon's memory. The pages stay in the
// kernel's page cache, shared and reclaimable, and a later read maps them
// again without a disk read while they are cached. It runs inside a read
// transaction: bbolt remaps the file only when no transaction is open, so
// the mapping cannot move meanwhile.
func (db *DB) ReleaseMemory() error { return releaseMapping(db.bolt) }

// ReleaseMemory is the DB's ReleaseMemory: the folder's pages are those of
// the whole index.
func (f *Folder) ReleaseMemory() error { return releaseMapping(f.db) }

func releaseMapping(b *bolt.DB) error {
	err := b.View(func(tx *bolt.Tx) error {
		base, size := b.Info().Data, tx.Size()
		if base == 0 || size <= 0 {
			return nil
		}
		_, _, errno := unix.Syscall(unix.SYS_MADVISE, base, uintptr(size), unix.MADV_DONTNEED)
		if errno != 0 {
			return errno
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release index memory: %w", err)
	}
	return nil
}
