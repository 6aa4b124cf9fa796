package platform

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// SyncAll makes everything written to the folder's filesystem durable with
// one syncfs(2): cheaper than an fsync per file when many files are
// committed together.
func (f *Folder) SyncAll() error {
	d, err := f.root.Open(".")
	if err != nil {
		return fmt.Errorf("sync %s: %w", f.path, err)
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("sync %s: %w", f.path, err)
	}
	return nil
}
