package platform

import (
	"errors"
	"fmt"
	"io/fs"

	"ferry/proto"
)

// ErrChanged is returned (wrapped, with detail) when the disk no longer
// shows what the caller expected at a name.
var ErrChanged = errors.New("changed on disk")

// ErrNotEmpty is returned when removing a directory that still has entries.
var ErrNotEmpty = errors.New("directory not empty")

// Expect describes what must be on disk at a name right now: nothing
// (Absent), or an entry matching Entry in type, size, modification time,
// permission bits, inode (when both are known) and symlink target. A
// directory's modification time is not compared, since adding or removing
// its children changes it, and neither are a symlink's permission bits.
type Expect struct {
	Absent bool
	Entry  Entry
}

// Check returns an error wrapping ErrChanged if what is at name differs
// from e.
func (f *Folder) Check(name string, e Expect) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	return f.check(name, e)
}

// check is Check without validating name.
func (f *Folder) check(name string, e Expect) error {
	cur, err := f.lstat(name)
	return judge(name, e, cur, err)
}

// checkIn is check for name, which is base in directory d.
func checkIn(d *dirHandle, base, name string, e Expect) error {
	cur, err := lstatIn(d, base, name)
	return judge(name, e, cur, err)
}

// judge compares what lstat found at name, cur or err, with e.
func judge(name string, e Expect, cur Entry, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		if e.Absent {
			return nil
		}
		return fmt.Errorf("%s: expected %s, found nothing: %w", name, e.Entry.Type, ErrChanged)
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", name, err)
	}
	if e.Absent {
		return fmt.Errorf("%s: expected nothing, found %s: %w", name, cur.Type, ErrChanged)
	}
	if d := diff(e.Entry, cur); d != "" {
		return fmt.Errorf("%s: %s: %w", name, d, ErrChanged)
	}
	return nil
}

// diff describes the first difference between the expected entry want and
// the current entry got, "" if they match.
func diff(want, got Entry) string {
	switch {
	case want.Type != got.Type:
		return fmt.Sprintf("type %s, expected %s", got.Type, want.Type)
	case want.Size != got.Size:
		return fmt.Sprintf("size %d, expected %d", got.Size, want.Size)
	case want.Type != proto.FileTypeDir && want.ModTime != got.ModTime:
		return fmt.Sprintf("mtime %d, expected %d", got.ModTime, want.ModTime)
	case want.Type != proto.FileTypeSymlink && want.Mode != got.Mode:
		return fmt.Sprintf("mode %o, expected %o", got.Mode, want.Mode)
	case want.Inode != 0 && got.Inode != 0 && want.Inode != got.Inode:
		return fmt.Sprintf("inode %d, expected %d", got.Inode, want.Inode)
	case want.Target != got.Target:
		return fmt.Sprintf("target %q, expected %q", got.Target, want.Target)
	}
	return ""
}
