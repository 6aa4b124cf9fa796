package platform

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// maxComponent is the longest file name component most filesystems accept.
const maxComponent = 255

// TempName returns the temp file name used while writing name:
// ".ferry-tmp-<base>-<tag>" in name's directory. A base too long for a
// 255-byte component is cut (at a UTF-8 boundary) and followed by "~" and a
// hash of the whole base, so different long names keep different temps.
func (f *Folder) TempName(name, tag string) string {
	dir, base := path.Split(name)
	room := maxComponent - len(tempPrefix) - len("-") - len(tag)
	if len(base) > room {
		h := fnv.New32a()
		h.Write([]byte(base))
		suffix := fmt.Sprintf("~%08x", h.Sum32())
		base = cutUTF8(base, max(room-len(suffix), 0)) + suffix
	}
	return dir + tempPrefix + base + "-" + tag
}

// cutUTF8 returns the longest prefix of s of at most n bytes that does not
// split a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// OpenTemp opens the temp file for writing name (see TempName) for reading
// and writing, creating missing parent directories (0755) and the file
// (0600). A temp file left by an earlier run is reused as it is and existed
// is true; the caller decides what of its content to keep. A leftover is
// reused only if it is a regular file owned by this process's user with no
// other link; anything else at the temp name is unlinked and replaced.
func (f *Folder) OpenTemp(name, tag string) (tmp *os.File, existed bool, err error) {
	if err := checkName(name); err != nil {
		return nil, false, fmt.Errorf("open temp: %w", err)
	}
	d, _, err := f.parent(name)
	if errors.Is(err, fs.ErrNotExist) {
		// Parents are made only when missing: most pulls land in an
		// existing directory, and the walk MkdirAll does costs syscalls.
		if err = f.checkParents(name); err == nil {
			err = f.mkdirParents(name)
		}
		if err == nil {
			d, _, err = f.parent(name)
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("open temp for %s: %w", name, err)
	}
	defer d.close()
	tb := path.Base(f.TempName(name, tag))
	tmp, err = d.open(tb, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return tmp, false, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, false, fmt.Errorf("open temp for %s: %w", name, err)
	}
	tmp, err = openRegular(d, tb, os.O_RDWR)
	if err == nil {
		var fi fs.FileInfo
		if fi, err = tmp.Stat(); err == nil && ownedAlone(fi) {
			return tmp, true, nil
		}
		tmp.Close()
	}
	// What is there is not a temp file this process can trust: another
	// user's file, a hard link to a file elsewhere, or not a regular file.
	// Writing into it would change that other file, so it is removed (only
	// its name) and a fresh temp made.
	if err := d.remove(tb); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("replace untrusted temp %s: %w", tb, err)
	}
	tmp, err = d.open(tb, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("open temp for %s: %w", name, err)
	}
	return tmp, false, nil
}

// tempBase returns the base name of a temp file opened by OpenTemp for
// name, checking that it is one.
func (f *Folder) tempBase(tmp *os.File, name string) (string, error) {
	rel, ok := strings.CutPrefix(tmp.Name(), f.root.Name()+string(os.PathSeparator))
	rel = filepath.ToSlash(rel)
	if !ok || !strings.HasPrefix(path.Base(rel), tempPrefix) || path.Dir(rel) != parentDir(name) {
		return "", fmt.Errorf("%s is not a temp file for %s in this folder", tmp.Name(), name)
	}
	return path.Base(rel), nil
}

// CommitTemp makes tmp, opened by OpenTemp(name, ...), the file at name: it
// fsyncs and closes tmp, sets its permission bits and modification time,
// checks that name still shows e (else it returns ErrChanged and leaves the
// temp in place), moves what is at name to conflictName if conflictName is
// set (failing, rather than overwriting, if conflictName exists), renames
// the temp over name and fsyncs the directory. At no time is a partly
// written file visible at name. tmp is closed in every case.
func (f *Folder) CommitTemp(tmp *os.File, name string, e Expect, mtime int64, mode uint32, conflictName string) error {
	if _, err := f.commitTemp(tmp, name, e, mtime, mode, conflictName, true); err != nil {
		return fmt.Errorf("commit %s: %w", name, err)
	}
	return nil
}

// CommitSynced is CommitTemp for a caller that commits many files at once:
// it has already made tmp's data durable (SyncAll) and will make the renames
// durable (SyncAll again) before relying on them, so neither tmp nor the
// directory is fsynced here. It returns what is now at name, read from the
// open temp file, which saves the caller a stat.
func (f *Folder) CommitSynced(tmp *os.File, name string, e Expect, mtime int64, mode uint32, conflictName string) (Entry, error) {
	ent, err := f.commitTemp(tmp, name, e, mtime, mode, conflictName, false)
	if err != nil {
		return Entry{}, fmt.Errorf("commit %s: %w", name, err)
	}
	return ent, nil
}

func (f *Folder) commitTemp(tmp *os.File, name string, e Expect, mtime int64, mode uint32, conflictName string, durable bool) (Entry, error) {
	d, base, tb, err := f.commitPaths(tmp, name, conflictName)
	if err != nil {
		tmp.Close()
		return Entry{}, err
	}
	defer d.close()
	ent, err := finishTemp(tmp, d, tb, name, mtime, mode, durable)
	if err != nil {
		return Entry{}, err
	}
	if err := checkIn(d, base, name, e); err != nil {
		return Entry{}, err
	}
	if err := f.moveAside(name, conflictName); err != nil {
		return Entry{}, err
	}
	if err := d.rename(tb, base); err != nil {
		return Entry{}, err
	}
	if durable {
		if err := d.sync(); err != nil {
			return Entry{}, err
		}
	}
	return ent, nil
}

// commitPaths validates the names of a commit and opens the directory
// that holds name; it returns that with the base names of name and of the
// temp file.
func (f *Folder) commitPaths(tmp *os.File, name, conflictName string) (d *dirHandle, base, tb string, err error) {
	if err := checkName(name); err != nil {
		return nil, "", "", err
	}
	if conflictName != "" {
		if err := f.prepare(conflictName); err != nil {
			return nil, "", "", fmt.Errorf("conflict name: %w", err)
		}
	}
	if tb, err = f.tempBase(tmp, name); err != nil {
		return nil, "", "", err
	}
	if d, base, err = f.parent(name); err != nil {
		return nil, "", "", err
	}
	return d, base, tb, nil
}

// finishTemp sets the temp file's permission bits (through the open file)
// and modification time, reads back what it now is, fsyncs it if durable,
// and closes it in every case. The temp file is tb in directory d.
func finishTemp(tmp *os.File, d *dirHandle, tb, name string, mtime int64, mode uint32, durable bool) (Entry, error) {
	err := tmp.Chmod(fs.FileMode(mode & 0o777))
	if err == nil {
		err = d.setMtime(tb, mtime)
	}
	var ent Entry
	if err == nil {
		var fi fs.FileInfo
		if fi, err = tmp.Stat(); err == nil {
			ent, _ = entryOf(name, fi)
		}
	}
	if durable && err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	return ent, err
}

// moveAside renames what is at name to conflictName, if both exist.
func (f *Folder) moveAside(name, conflictName string) error {
	if conflictName == "" {
		return nil
	}
	if _, err := f.root.Lstat(name); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := renameNoReplace(f.root, name, conflictName); err != nil {
		return fmt.Errorf("keep conflicting copy: %w", err)
	}
	if parentDir(conflictName) != parentDir(name) {
		return syncDir(f.root, parentDir(conflictName))
	}
	return nil
}

// setMeta sets the permission bits and modification time of name, leaving
// its access time alone.
func (f *Folder) setMeta(name string, mtime int64, mode uint32) error {
	if err := f.root.Chmod(name, fs.FileMode(mode&0o777)); err != nil {
		return err
	}
	return f.root.Chtimes(name, time.Time{}, time.Unix(0, mtime))
}
