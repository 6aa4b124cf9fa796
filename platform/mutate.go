package platform

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"

	"ferry/proto"
)

// mkdirParents creates the missing parent directories of name (0755).
func (f *Folder) mkdirParents(name string) error {
	if dir := parentDir(name); dir != "." {
		return f.root.MkdirAll(dir, 0o755)
	}
	return nil
}

// Mkdir creates the directory name, with missing parents (0755), and sets
// its permission bits and modification time. An existing directory just
// gets them set; anything else at name is ErrChanged.
func (f *Folder) Mkdir(name string, mode uint32, mtime int64) error {
	if err := f.prepare(name); err != nil {
		return fmt.Errorf("mkdir: %w", err)
	}
	if err := f.mkdir(name, mode, mtime); err != nil {
		return fmt.Errorf("mkdir %s: %w", name, err)
	}
	return nil
}

func (f *Folder) mkdir(name string, mode uint32, mtime int64) error {
	if err := f.mkdirParents(name); err != nil {
		return err
	}
	// Created with its final mode (less the umask, which setMeta lifts), so
	// a scan that sees it before setMeta does not find a mode nobody chose.
	err := f.root.Mkdir(name, fs.FileMode(mode&0o777))
	if errors.Is(err, fs.ErrExist) {
		cur, lerr := f.lstat(name)
		if lerr != nil {
			return lerr
		}
		if cur.Type != proto.FileTypeDir {
			return fmt.Errorf("%s exists: %w", cur.Type, ErrChanged)
		}
	} else if err != nil {
		return err
	}
	return f.setMeta(name, mtime, mode)
}

// Symlink makes name a symlink to target, replacing what is there if it
// still matches e (else ErrChanged). The link is made at a temp name first
// and renamed into place; its modification time is set where the system
// allows (not on Windows). The target is stored as given and never followed.
func (f *Folder) Symlink(target, name string, e Expect, mtime int64) error {
	if err := f.prepare(name); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	if err := f.symlink(target, name, e, mtime); err != nil {
		return fmt.Errorf("symlink %s: %w", name, err)
	}
	return nil
}

func (f *Folder) symlink(target, name string, e Expect, mtime int64) error {
	if err := f.mkdirParents(name); err != nil {
		return err
	}
	tn := f.TempName(name, "link")
	if err := f.root.Remove(tn); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove old temp: %w", err)
	}
	if err := f.root.Symlink(target, tn); err != nil {
		return err
	}
	err := lutimes(f.root, parentDir(tn), path.Base(tn), mtime)
	if err == nil {
		err = f.check(name, e)
	}
	if err == nil {
		err = f.root.Rename(tn, name)
	}
	if err != nil {
		f.root.Remove(tn)
		return err
	}
	return syncDir(f.root, parentDir(name))
}

// Remove removes what is at name if it still matches e (else ErrChanged).
// A directory is removed only if empty (else ErrNotEmpty); a symlink is
// removed, never its target. Nothing at name with e.Absent is success.
func (f *Folder) Remove(name string, e Expect) error {
	if err := f.prepare(name); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	if err := f.remove(name, e); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

func (f *Folder) remove(name string, e Expect) error {
	if err := f.check(name, e); err != nil || e.Absent {
		return err
	}
	if e.Entry.Type == proto.FileTypeDir {
		empty, err := f.isEmptyDir(name)
		if err != nil {
			return err
		}
		if !empty {
			return ErrNotEmpty
		}
	}
	return f.root.Remove(name)
}

// isEmptyDir reports whether the directory name has no entries.
func (f *Folder) isEmptyDir(name string) (bool, error) {
	d, err := f.root.Open(name)
	if err != nil {
		return false, err
	}
	defer d.Close()
	_, err = d.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// Rename moves from to to. It fails (with an error wrapping fs.ErrExist)
// if to exists; to's parent directory must exist.
func (f *Folder) Rename(from, to string) error {
	if err := f.prepare(from); err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	if err := f.prepare(to); err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	if err := renameNoReplace(f.root, from, to); err != nil {
		return fmt.Errorf("rename %s to %s: %w", from, to, err)
	}
	return nil
}

// SetMeta sets the permission bits and modification time of the file or
// directory at name. It refuses a symlink.
func (f *Folder) SetMeta(name string, mtime int64, mode uint32) error {
	if err := f.prepare(name); err != nil {
		return fmt.Errorf("set meta: %w", err)
	}
	cur, err := f.lstat(name)
	if err != nil {
		return fmt.Errorf("set meta %s: %w", name, err)
	}
	if cur.Type == proto.FileTypeSymlink {
		return fmt.Errorf("set meta %s: is a symlink", name)
	}
	if err := f.setMeta(name, mtime, mode); err != nil {
		return fmt.Errorf("set meta %s: %w", name, err)
	}
	return nil
}
