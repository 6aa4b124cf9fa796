package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// renameChecked renames from to to after checking that to does not exist.
// Something created at to between the check and the rename is replaced.
func renameChecked(root *os.Root, from, to string) error {
	_, err := root.Lstat(to)
	if err == nil {
		return fmt.Errorf("%s: %w", to, fs.ErrExist)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return root.Rename(from, to)
}
