//go:build windows

package platform

import (
	"errors"
	"io/fs"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// inodeOf returns 0: Lstat on Windows does not report a file ID.
func inodeOf(fs.FileInfo) uint64 { return 0 }

// sameFile cannot compare file IDs of path-based results on Windows; the
// caller's type checks stand alone there.
func sameFile(a, b fs.FileInfo) bool { return a.Mode().Type() == b.Mode().Type() }

// syncDir makes the entries of directory dir of root durable: it opens the
// directory through root, so that nothing outside the folder is reached,
// opens that same directory again with write access (a relative open of an
// empty name) and flushes it. NTFS writes out the directory's metadata; a
// file system that cannot flush a directory refuses, and that is taken as
// nothing to do, as on systems without a directory fsync.
func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(rootName(dir))
	if err != nil {
		return err
	}
	defer d.Close()
	name, err := windows.NewNTUnicodeString("")
	if err != nil {
		return err
	}
	attrs := windows.OBJECT_ATTRIBUTES{RootDirectory: windows.Handle(d.Fd()), ObjectName: name}
	attrs.Length = uint32(unsafe.Sizeof(attrs))
	var h windows.Handle
	err = windows.NtCreateFile(&h, windows.FILE_WRITE_DATA|windows.SYNCHRONIZE, &attrs, &windows.IO_STATUS_BLOCK{}, nil, 0,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, windows.FILE_OPEN,
		windows.FILE_DIRECTORY_FILE|windows.FILE_SYNCHRONOUS_IO_NONALERT|windows.FILE_OPEN_FOR_BACKUP_INTENT, 0, 0)
	if err != nil {
		return unsupportedFlush(err)
	}
	defer windows.CloseHandle(h)
	return unsupportedFlush(windows.FlushFileBuffers(h))
}

// lutimes is a no-op: symlink times are not set on Windows.
func lutimes(*os.Root, string, string, int64) error { return nil }

// syncPath makes the entries of the directory at path durable, as syncDir
// does: the directory is opened for writing with FILE_FLAG_BACKUP_SEMANTICS,
// which a directory needs, and flushed.
func syncPath(dir string) error {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return unsupportedFlush(err)
	}
	defer windows.CloseHandle(h)
	return unsupportedFlush(windows.FlushFileBuffers(h))
}

// unsupportedFlush maps the errors of a file system that cannot open a
// directory for writing or flush one (FAT, some network shares, a
// directory this user may only read) to nil, and keeps any other.
func unsupportedFlush(err error) error {
	var st windows.NTStatus
	if errors.As(err, &st) {
		err = st.Errno()
	}
	switch {
	case errors.Is(err, windows.ERROR_ACCESS_DENIED), errors.Is(err, windows.ERROR_INVALID_FUNCTION),
		errors.Is(err, windows.ERROR_NOT_SUPPORTED), errors.Is(err, windows.ERROR_INVALID_PARAMETER):
		return nil
	}
	return err
}

// privateEnough is always true on Windows, whose permission bits do not
// describe who may read a file; the user profile's ACLs protect the key.
func privateEnough(fs.FileMode) bool { return true }

// ownedAlone is true on Windows: a temp file there is in a folder whose ACL
// the user controls, and hard links need the right to write the target.
func ownedAlone(fs.FileInfo) bool { return true }

// devIno reports nothing: path-based results on Windows carry no volume
// serial or file ID.
func devIno(fs.FileInfo) (dev, ino uint64, ok bool) { return 0, 0, false }

// isNameRefused reports whether err is Windows refusing a name: a form it
// does not allow, or a path too long for it.
func isNameRefused(err error) bool {
	return errors.Is(err, windows.ERROR_INVALID_NAME) || errors.Is(err, windows.ERROR_FILENAME_EXCED_RANGE)
}
