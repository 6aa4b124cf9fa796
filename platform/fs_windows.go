//go:build windows

package platform

import (
	"io/fs"
	"os"
)

// inodeOf returns 0: Lstat on Windows does not report a file ID.
func inodeOf(fs.FileInfo) uint64 { return 0 }

// sameFile cannot compare file IDs of path-based results on Windows; the
// caller's type checks stand alone there.
func sameFile(a, b fs.FileInfo) bool { return a.Mode().Type() == b.Mode().Type() }

// syncDir is a no-op: Windows cannot fsync a directory handle.
func syncDir(*os.Root, string) error { return nil }

// lutimes is a no-op: symlink times are not set on Windows.
func lutimes(*os.Root, string, string, int64) error { return nil }

// syncPath is a no-op: Windows cannot fsync a directory handle.
func syncPath(string) error { return nil }

// privateEnough is always true on Windows, whose permission bits do not
// describe who may read a file; the user profile's ACLs protect the key.
func privateEnough(fs.FileMode) bool { return true }

// ownedAlone is true on Windows: a temp file there is in a folder whose ACL
// the user controls, and hard links need the right to write the target.
func ownedAlone(fs.FileInfo) bool { return true }

// devIno reports nothing: path-based results on Windows carry no volume
// serial or file ID.
func devIno(fs.FileInfo) (dev, ino uint64, ok bool) { return 0, 0, false }
