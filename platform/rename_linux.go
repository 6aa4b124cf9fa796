package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames from to to, failing with an error wrapping
// fs.ErrExist if to exists. It uses renameat2(RENAME_NOREPLACE) and falls
// back to a check and a rename on filesystems without it.
func renameNoReplace(root *os.Root, from, to string) error {
	fd, err := root.Open(path.Dir(from))
	if err != nil {
		return err
	}
	defer fd.Close()
	td, err := root.Open(path.Dir(to))
	if err != nil {
		return err
	}
	defer td.Close()
	err = unix.Renameat2(int(fd.Fd()), path.Base(from), int(td.Fd()), path.Base(to), unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS):
		return renameChecked(root, from, to)
	case errors.Is(err, unix.EEXIST):
		return fmt.Errorf("%s: %w", to, fs.ErrExist)
	}
	return &os.LinkError{Op: "renameat2", Old: from, New: to, Err: err}
}
