package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"ferry/proto"
)

// markerDir is the directory ferry keeps inside every folder.
const markerDir = ".ferry"

// errSymlinkInPath is returned for a name whose parent path crosses a symlink.
var errSymlinkInPath = errors.New("path crosses a symlink")

// Folder is a synced folder on disk. All its I/O goes through an os.Root, so
// it never reads or writes outside the folder's directory. Its methods are
// safe for concurrent use; set OnSkip before the first Walk.
type Folder struct {
	// OnSkip, if set, is told about every name Walk leaves out because the
	// name is invalid or its directory could not be read. Callers must not
	// take anything under a skipped directory as deleted.
	OnSkip func(name string, err error)
	// OnNormalize, if set, is told about every name Walk renamed to NFC.
	OnNormalize func(from, to string)

	root *os.Root
	path string
	// top is the root directory held open as a file too; openDir starts
	// from it.
	top syscall.RawConn
	// topFile is the file behind top, closed with the folder.
	topFile *os.File
	// rootDev is the device number of the folder's root directory.
	rootDev uint64
}

// ErrNoMarker says a folder's directory has no ".ferry" marker: the disk it
// is on may not be mounted, or the path names another directory. Such a
// folder is not synced, since its emptiness would look like deletions.
var ErrNoMarker = errors.New("the folder's .ferry marker is missing")

// InitFolder makes the directory at path a folder ferry may sync by creating
// its marker directory ".ferry/" (mode 0700) if missing. It is called when a
// folder is added or the user confirms that its directory is right, never
// when a folder is merely opened.
func InitFolder(path string) error {
	f, err := openRoot(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.makeMarker(); err != nil {
		return fmt.Errorf("mark folder %s: %w", path, err)
	}
	return nil
}

// OpenFolder opens the folder at path, which must be an existing directory
// holding the marker InitFolder made; without it the error wraps ErrNoMarker.
func OpenFolder(path string) (*Folder, error) {
	f, err := openRoot(path)
	if err != nil {
		return nil, err
	}
	if err := f.checkMarker(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openRoot opens the directory at path without looking for the marker.
func openRoot(path string) (*Folder, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open folder %s: %w", path, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("open folder %s: %w", path, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open folder %s: not a directory", path)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open folder %s: %w", path, err)
	}
	f := &Folder{root: root, path: abs}
	if err := f.openTop(); err != nil {
		root.Close()
		return nil, fmt.Errorf("open folder %s: %w", path, err)
	}
	return f, nil
}

func (f *Folder) openTop() error {
	top, err := f.root.Open(".")
	if err != nil {
		return err
	}
	f.top, err = top.SyscallConn()
	if err != nil {
		top.Close()
		return err
	}
	f.topFile = top
	if fi, err := top.Stat(); err == nil {
		f.rootDev, _, _ = devIno(fi)
	}
	return nil
}

// Device returns the device number of the file system the folder's root
// is on, 0 when the platform has none.
func (f *Folder) Device() uint64 { return f.rootDev }

// onOtherDevice reports whether fi, a directory in the folder, is on
// another file system than the folder's root: a mount point.
func (f *Folder) onOtherDevice(fi fs.FileInfo) bool {
	dev, _, ok := devIno(fi)
	return ok && dev != f.rootDev
}

func (f *Folder) makeMarker() error {
	err := f.root.Mkdir(markerDir, 0o700)
	if err == nil || !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := f.root.Lstat(markerDir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", markerDir)
	}
	return nil
}

// Verify checks that the folder is still in place: its path leads to the
// directory this Folder holds open, and the marker directory ".ferry" is
// there. A folder that was removed, moved or unmounted fails, so that its
// absence is never taken for deleted files. Walk calls it first.
func (f *Folder) Verify() error {
	at, err := os.Stat(f.path)
	if err != nil {
		return fmt.Errorf("folder %s: %w", f.path, err)
	}
	held, err := f.root.Stat(".")
	if err != nil {
		return fmt.Errorf("folder %s: %w", f.path, err)
	}
	if !sameFile(at, held) {
		return fmt.Errorf("folder %s was moved or replaced: re-add it", f.path)
	}
	return f.checkMarker()
}

// checkMarker fails, wrapping ErrNoMarker, unless the marker directory is
// in the folder.
func (f *Folder) checkMarker() error {
	if fi, err := f.root.Lstat(markerDir); err != nil || !fi.IsDir() {
		return fmt.Errorf("folder %s: %w (%s): the folder's disk may be unmounted", f.path, ErrNoMarker, filepath.Join(f.path, markerDir))
	}
	return nil
}

// Close releases the folder's root.
func (f *Folder) Close() error {
	f.topFile.Close()
	return f.root.Close()
}

// Path returns the folder's absolute path.
func (f *Folder) Path() string { return f.path }

// checkParents refuses name if an existing ancestor of it is a symlink or not
// a directory. Missing ancestors are fine.
func (f *Folder) checkParents(name string) error {
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}
		fi, err := f.root.Lstat(name[:i])
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: %w", name[:i], errSymlinkInPath)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s: not a directory", name[:i])
		}
	}
	return nil
}

// prepare validates name and its parent path for an operation.
func (f *Folder) prepare(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return f.checkParents(name)
}

// parent opens the directory that holds name, which the caller has
// validated, and returns it with name's base name.
func (f *Folder) parent(name string) (*dirHandle, string, error) {
	d, err := f.openDir(parentDir(name))
	if err != nil {
		return nil, "", err
	}
	return d, path.Base(name), nil
}

// lstat returns the Entry at name without validating it.
func (f *Folder) lstat(name string) (Entry, error) {
	d, base, err := f.parent(name)
	if err != nil {
		return Entry{}, err
	}
	defer d.close()
	return lstatIn(d, base, name)
}

// lstatIn returns the Entry for name, which is base in directory d.
func lstatIn(d *dirHandle, base, name string) (Entry, error) {
	fi, err := d.lstat(base)
	if err != nil {
		return Entry{}, err
	}
	e, ok := entryOf(name, fi)
	if !ok {
		return Entry{}, fmt.Errorf("%s: unsupported file type %s", name, fi.Mode().Type())
	}
	if e.Type == proto.FileTypeSymlink {
		if e.Target, err = d.readlink(base); err != nil {
			return Entry{}, err
		}
	}
	return e, nil
}

// Lstat returns what is at name, without following a symlink there.
func (f *Folder) Lstat(name string) (Entry, error) {
	if err := checkName(name); err != nil {
		return Entry{}, fmt.Errorf("lstat: %w", err)
	}
	e, err := f.lstat(name)
	if err != nil {
		return Entry{}, fmt.Errorf("lstat %s: %w", name, err)
	}
	return e, nil
}

// Open opens the regular file at name for reading. It fails if name is a
// symlink or anything but a regular file.
func (f *Folder) Open(name string) (*os.File, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	d, base, err := f.parent(name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer d.close()
	fh, err := openRegular(d, base, os.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return fh, nil
}

// openRegular opens base in d with flag after checking, before and after
// the open, that it is a regular file and the same one both times.
func openRegular(d *dirHandle, base string, flag int) (*os.File, error) {
	before, err := d.lstat(base)
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", typeName(before.Mode()))
	}
	fh, err := d.open(base, flag, 0)
	if err != nil {
		return nil, err
	}
	after, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	if !after.Mode().IsRegular() || !sameFile(before, after) {
		fh.Close()
		return nil, fmt.Errorf("replaced while opening: %w", ErrChanged)
	}
	return fh, nil
}

// typeName names the type in m for error messages.
func typeName(m fs.FileMode) string {
	if t, ok := fileType(m); ok {
		return t.String()
	}
	return "special file"
}

// ReadAt reads len(buf) bytes at offset off of the regular file at name. A
// short read is an error. Callers that read many blocks should Open once.
func (f *Folder) ReadAt(name string, buf []byte, off int64) error {
	fh, err := f.Open(name)
	if err != nil {
		return err
	}
	defer fh.Close()
	if _, err := fh.ReadAt(buf, off); err != nil {
		return fmt.Errorf("read %s at %d: %w", name, off, err)
	}
	return nil
}
