//go:build !linux

package platform

import "os"

// renameNoReplace renames from to to, failing with an error wrapping
// fs.ErrExist if to exists.
func renameNoReplace(root *os.Root, from, to string) error {
	return renameChecked(root, from, to)
}
