//go:build !linux

package platform

import (
	"io/fs"
	"os"
	"time"
)

// dirHandle is a directory of a folder held open, reached from the folder's
// root without crossing a symlink, as an os.Root of its own.
type dirHandle struct {
	root *os.Root
}

// openDir opens the directory dir ("." for the root) of the folder. A path
// that crosses a symlink fails with errSymlinkInPath; one that does not
// exist fails with an error wrapping fs.ErrNotExist.
func (f *Folder) openDir(dir string) (*dirHandle, error) {
	if dir != "." {
		if err := f.checkParents(dir + "/."); err != nil {
			return nil, err
		}
	}
	r, err := f.root.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &dirHandle{root: r}, nil
}

func (d *dirHandle) close() { d.root.Close() }

// lstat describes the entry base without following a symlink.
func (d *dirHandle) lstat(base string) (fs.FileInfo, error) { return d.root.Lstat(base) }

// open opens the entry base with flag.
func (d *dirHandle) open(base string, flag int, perm fs.FileMode) (*os.File, error) {
	return d.root.OpenFile(base, flag, perm)
}

// remove unlinks the non-directory entry base.
func (d *dirHandle) remove(base string) error { return d.root.Remove(base) }

// rename renames the entry from to to, replacing what is at to.
func (d *dirHandle) rename(from, to string) error { return d.root.Rename(from, to) }

// setMtime sets the modification time of the entry base and leaves its
// access time alone.
func (d *dirHandle) setMtime(base string, mtime int64) error {
	return d.root.Chtimes(base, time.Time{}, time.Unix(0, mtime))
}

// readlink returns the target of the symlink base.
func (d *dirHandle) readlink(base string) (string, error) { return d.root.Readlink(base) }

// sync makes the directory's entries durable.
func (d *dirHandle) sync() error { return syncDir(d.root, ".") }
