//go:build unix

package platform

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// inodeOf returns the inode number in fi, 0 if unknown.
func inodeOf(fi fs.FileInfo) uint64 {
	_, ino, _ := devIno(fi)
	return ino
}

// sameFile reports whether a and b describe the same file (device and inode).
func sameFile(a, b fs.FileInfo) bool {
	da, ia, oka := devIno(a)
	db, ib, okb := devIno(b)
	return oka && okb && da == db && ia == ib
}

// devIno returns the device and inode numbers in fi, from os or from the
// platform's own fstatat.
func devIno(fi fs.FileInfo) (dev, ino uint64, ok bool) {
	switch st := fi.Sys().(type) {
	case *syscall.Stat_t:
		return uint64(st.Dev), uint64(st.Ino), true
	case *unix.Stat_t:
		return uint64(st.Dev), uint64(st.Ino), true
	}
	return 0, 0, false
}

// ownedAlone reports whether fi is owned by this process's effective user
// and has a single link, so writing into it changes no other name's file.
func ownedAlone(fi fs.FileInfo) bool {
	switch st := fi.Sys().(type) {
	case *syscall.Stat_t:
		return st.Uid == uint32(os.Geteuid()) && st.Nlink == 1
	case *unix.Stat_t:
		return st.Uid == uint32(os.Geteuid()) && st.Nlink == 1
	}
	return false
}

// syncDir fsyncs directory dir of root so that a rename in it is durable.
func syncDir(root *os.Root, dir string) error { return syncClose(root.Open(dir)) }

// lutimes sets the modification time of the symlink base in directory dir of
// root, without following it.
func lutimes(root *os.Root, dir, base string, mtime int64) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	t := unix.NsecToTimespec(mtime)
	ts := []unix.Timespec{t, t} // access time = modification time
	return unix.UtimesNanoAt(int(d.Fd()), base, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// syncPath fsyncs the directory at path.
func syncPath(dir string) error { return syncClose(os.Open(dir)) }

// syncClose fsyncs and closes the directory d that opening returned, with
// the error of opening it.
func syncClose(d *os.File, err error) error {
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// privateEnough reports whether a key file mode keeps the key to its owner:
// no permission bits for group or others.
func privateEnough(mode fs.FileMode) bool { return mode.Perm()&0o077 == 0 }

// isNameRefused reports whether err is the file system refusing a name: too
// long for it (eCryptfs allows far fewer bytes than 255), or a byte
// sequence it does not hold.
func isNameRefused(err error) bool {
	return errors.Is(err, unix.ENAMETOOLONG) || errors.Is(err, unix.EILSEQ)
}
