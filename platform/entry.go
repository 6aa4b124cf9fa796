package platform

import (
	"io/fs"

	"ferry/proto"
)

// Entry is what the disk shows at one name in a folder.
//
// Size is the byte size of a regular file and 0 for directories and
// symlinks. ModTime is in nanoseconds since the Unix epoch. Mode holds the
// permission bits only (0o777). Target is a symlink's target as written.
// Inode is 0 where the system does not report one. Mount is set by Walk
// only.
type Entry struct {
	Name    string
	Type    proto.FileType
	Size    int64
	ModTime int64
	Mode    uint32
	Target  string
	Inode   uint64
	Mount   bool // a directory on another file system than the folder's root
}

// fileType maps a file mode to a FileType; ok is false for anything that is
// not a regular file, directory or symlink.
func fileType(m fs.FileMode) (t proto.FileType, ok bool) {
	switch {
	case m.IsRegular():
		return proto.FileTypeFile, true
	case m.IsDir():
		return proto.FileTypeDir, true
	case m&fs.ModeSymlink != 0:
		return proto.FileTypeSymlink, true
	}
	return 0, false
}

// entryOf builds the Entry for name from its Lstat result. The caller fills
// Target for symlinks.
func entryOf(name string, fi fs.FileInfo) (Entry, bool) {
	t, ok := fileType(fi.Mode())
	if !ok {
		return Entry{}, false
	}
	e := Entry{
		Name:    name,
		Type:    t,
		ModTime: fi.ModTime().UnixNano(),
		Mode:    uint32(fi.Mode().Perm()),
		Inode:   inodeOf(fi),
	}
	if t == proto.FileTypeFile {
		e.Size = fi.Size()
	}
	return e, true
}
