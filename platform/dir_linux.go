package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// dirHandle is a directory of a folder held open, reached from the folder's
// root without crossing a symlink. Operations on its entries take one system
// call each, where a name relative to the root would be walked again, one
// directory at a time, for every operation.
type dirHandle struct {
	fd   int
	path string // absolute, for the names of files opened in it
}

// noOpenat2 is set once openat2(2) is known to be missing (Linux < 5.6).
var noOpenat2 atomic.Bool

// openDir opens the directory dir ("." for the root) of the folder. A path
// that crosses a symlink fails with errSymlinkInPath; one that does not
// exist fails with an error wrapping fs.ErrNotExist.
func (f *Folder) openDir(dir string) (*dirHandle, error) {
	var (
		fd   int
		err  error
		rerr error
	)
	rerr = f.top.Control(func(root uintptr) { fd, err = openBeneath(int(root), dir) })
	if rerr != nil {
		return nil, fmt.Errorf("open %s: %w", dir, rerr)
	}
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		// A symlink or a file in the path: say which, where still true.
		if cerr := f.checkParents(dir + "/."); cerr != nil {
			return nil, cerr
		}
	}
	if errors.Is(err, unix.EXDEV) {
		return nil, fmt.Errorf("%s: path leaves the folder", dir)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	return &dirHandle{fd: fd, path: f.path + "/" + dir}, nil
}

const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC

// openBeneath opens dir under the directory root without following any
// symlink: in one openat2(2) where the kernel has it, else one component
// at a time with O_NOFOLLOW.
func openBeneath(root int, dir string) (int, error) {
	if dir == "." {
		return unix.Openat(root, ".", dirFlags, 0)
	}
	if !noOpenat2.Load() {
		fd, err := unix.Openat2(root, dir, &unix.OpenHow{
			Flags:   dirFlags,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		switch {
		case errors.Is(err, unix.ENOSYS):
			noOpenat2.Store(true)
		case errors.Is(err, unix.EPERM):
			// A seccomp filter that does not know the call; walk instead.
		default:
			return fd, err
		}
	}
	fd, err := unix.Openat(root, ".", dirFlags, 0)
	for part := range strings.SplitSeq(dir, "/") {
		if err != nil {
			return -1, err
		}
		next := -1
		if part == "" || part == "." || part == ".." {
			err = unix.EXDEV // what openat2 says of a path leaving the root
		} else {
			next, err = unix.Openat(fd, part, dirFlags, 0)
		}
		unix.Close(fd)
		fd = next
	}
	return fd, err
}

func (d *dirHandle) close() { unix.Close(d.fd) }

// lstat describes the entry base without following a symlink.
func (d *dirHandle) lstat(base string) (fs.FileInfo, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: d.path + "/" + base, Err: err}
	}
	return &statInfo{name: base, st: st}, nil
}

// open opens the entry base with flag; a symlink at base is never followed.
// The open itself does not block: a FIFO swapped in at base after the
// caller checked its type would otherwise wait for a writer for ever. The
// descriptor is made blocking again once open; callers check its type.
func (d *dirHandle) open(base string, flag int, perm fs.FileMode) (*os.File, error) {
	name := d.path + "/" + base
	fd, err := unix.Openat(d.fd, base, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, uint32(perm.Perm()))
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// remove unlinks the non-directory entry base.
func (d *dirHandle) remove(base string) error {
	if err := unix.Unlinkat(d.fd, base, 0); err != nil {
		return &fs.PathError{Op: "remove", Path: d.path + "/" + base, Err: err}
	}
	return nil
}

// rename renames the entry from to to, replacing what is at to.
func (d *dirHandle) rename(from, to string) error {
	if err := unix.Renameat(d.fd, from, d.fd, to); err != nil {
		return &os.LinkError{Op: "rename", Old: d.path + "/" + from, New: d.path + "/" + to, Err: err}
	}
	return nil
}

// setMtime sets the modification time of the entry base, not following a
// symlink, and leaves its access time alone.
func (d *dirHandle) setMtime(base string, mtime int64) error {
	ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, unix.NsecToTimespec(mtime)}
	if err := unix.UtimesNanoAt(d.fd, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "chtimes", Path: d.path + "/" + base, Err: err}
	}
	return nil
}

// readlink returns the target of the symlink base.
func (d *dirHandle) readlink(base string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(d.fd, base, buf)
		if err != nil {
			return "", &fs.PathError{Op: "readlink", Path: d.path + "/" + base, Err: err}
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// sync makes the directory's entries durable.
func (d *dirHandle) sync() error {
	if err := unix.Fsync(d.fd); err != nil {
		return &fs.PathError{Op: "fsync", Path: d.path, Err: err}
	}
	return nil
}

// statInfo is an fs.FileInfo from fstatat(2).
type statInfo struct {
	name string
	st   unix.Stat_t
}

func (s *statInfo) Name() string       { return s.name }
func (s *statInfo) Size() int64        { return s.st.Size }
func (s *statInfo) ModTime() time.Time { return time.Unix(s.st.Mtim.Unix()) }
func (s *statInfo) IsDir() bool        { return s.Mode().IsDir() }
func (s *statInfo) Sys() any           { return &s.st }

func (s *statInfo) Mode() fs.FileMode {
	m := fs.FileMode(s.st.Mode & 0o777)
	switch s.st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	}
	if s.st.Mode&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if s.st.Mode&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if s.st.Mode&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}
