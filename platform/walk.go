package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/text/unicode/norm"

	"ferry/proto"
)

// ErrSpecial says a name holds a special file (socket, fifo, device), which
// is not synced.
var ErrSpecial = errors.New("special file (socket, fifo or device) is not synced")

// Walk calls fn for every directory, regular file and symlink in the folder,
// or in subtree ("" for all; the subtree itself is reported too), without
// following symlinks. The order is the byte order of the whole names, the
// order the index keeps them in: a directory comes before its children,
// but "a.txt" comes between the directory "a" and "a/b". Names are slash
// separated and relative to the folder root. A directory on another file system than the folder's
// root has Mount set.
//
// A name whose only fault is not being in Unicode NFC, as names travel, is
// renamed to its NFC form where nothing has that name yet (not on macOS,
// whose file systems keep their own form), and reported to OnNormalize.
//
// Left out, without descending: anything with a component starting with
// ".ferry", special files (sockets, fifos, devices), and invalid names,
// which are reported to OnSkip along with directories that cannot be read.
// An error from fn stops the walk and is returned. If subtree does not
// exist, the error wraps fs.ErrNotExist.
func (f *Folder) Walk(subtree string, fn func(Entry) error) error {
	return f.WalkSkips(subtree, fn, nil)
}

// WalkSkips is Walk that also tells skip, if not nil, about every name the
// walk could not read or left out: unreadable directories and symlinks,
// names that fail validation or Lstat (reported to OnSkip too) and special
// files (with ErrSpecial). Nothing at or under a skipped name was seen, so
// callers must not take anything there as deleted.
func (f *Folder) WalkSkips(subtree string, fn func(Entry) error, skip func(name string, err error)) error {
	return f.WalkAfter(subtree, "", fn, skip)
}

// WalkAfter is WalkSkips over the names after the name after only, which
// lets a walk go on where an earlier one stopped: it reads no directory
// whose names all come before after but those on the way to it.
func (f *Folder) WalkAfter(subtree, after string, fn func(Entry) error, skip func(name string, err error)) error {
	if err := f.Verify(); err != nil {
		return fmt.Errorf("walk: %w", err)
	}
	w := &walker{f: f, fn: fn, skipFn: skip, after: after}
	if subtree == "" {
		return w.dir("", nil, true)
	}
	if err := f.prepare(subtree); err != nil {
		return fmt.Errorf("walk: %w", err)
	}
	fi, err := f.root.Lstat(subtree)
	if err != nil {
		return fmt.Errorf("walk %s: %w", subtree, err)
	}
	return w.entry(subtree, fi)
}

// walker is one walk of a folder.
type walker struct {
	f      *Folder
	fn     func(Entry) error
	skipFn func(name string, err error)
	after  string // names up to this one are not reported
}

// skip reports a name left out, to the folder's OnSkip (except special
// files, which are left out on purpose) and to the walk's own callback.
func (w *walker) skip(name string, err error) {
	if !errors.Is(err, ErrSpecial) {
		w.f.skip(name, err)
	}
	if w.skipFn != nil {
		w.skipFn(name, err)
	}
}

// entry reports name, whose Lstat result is fi, where the walk started,
// and walks it if it is a directory.
func (w *walker) entry(name string, fi fs.FileInfo) error {
	if name > w.after {
		if err := w.report(name, fi); err != nil {
			return err
		}
	}
	if !fi.IsDir() {
		return nil
	}
	return w.dir(name, fi, true)
}

// report calls the walk's fn for name, whose Lstat result is fi.
func (w *walker) report(name string, fi fs.FileInfo) error {
	e, ok := entryOf(name, fi)
	if !ok {
		w.skip(name, ErrSpecial)
		return nil
	}
	switch e.Type {
	case proto.FileTypeSymlink:
		t, err := w.f.root.Readlink(name)
		if err != nil {
			w.skip(name, err)
			return nil
		}
		e.Target = t
	case proto.FileTypeDir:
		e.Mount = w.f.onOtherDevice(fi)
	}
	return w.fn(e)
}

// child is an entry of a directory being walked: the entry itself, or,
// with sub, what is inside it, which comes at its name and a slash.
type child struct {
	key  string
	name string
	fi   fs.FileInfo
	sub  bool
}

// dir walks the children of directory dir ("" for the root). If want is
// not nil, dir must still be that directory when opened. A directory that
// cannot be read is an error at the top of the walk and skipped below it.
func (w *walker) dir(dir string, want fs.FileInfo, top bool) error {
	f := w.f
	ents, err := f.readDir(dir, want)
	if err != nil && top {
		return fmt.Errorf("walk %s: %w", rootName(dir), err)
	}
	if err != nil {
		w.skip(dir, err)
		return nil
	}
	var kids []child
	for _, de := range ents {
		name := joinName(dir, de.Name())
		if proto.IsInternalName(de.Name()) {
			continue
		}
		if !de.IsDir() && name <= w.after {
			continue // reported by an earlier walk
		}
		var fi fs.FileInfo
		err := proto.ValidName(name)
		if err == nil {
			fi, err = de.Info()
		} else if to, nerr := f.normalize(dir, de.Name(), err); nerr == nil {
			name = to
			fi, err = f.root.Lstat(name)
		} else {
			err = nerr
		}
		if err != nil {
			if name > w.after {
				w.skip(name, err)
			}
			continue
		}
		kids = append(kids, child{key: name, name: name, fi: fi})
		if fi.IsDir() && (w.after < name+"/" || strings.HasPrefix(w.after, name+"/")) {
			kids = append(kids, child{key: name + "/", name: name, fi: fi, sub: true})
		}
	}
	slices.SortFunc(kids, func(a, b child) int { return strings.Compare(a.key, b.key) })
	for _, k := range kids {
		var err error
		switch {
		case k.sub:
			err = w.dir(k.name, k.fi, false)
		case k.name > w.after:
			err = w.report(k.name, k.fi)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readDir returns the entries of directory dir sorted by name, with their
// Lstat results loaded. If want is not nil, the opened directory must be the
// same file.
func (f *Folder) readDir(dir string, want fs.FileInfo) ([]os.DirEntry, error) {
	d, err := f.root.Open(rootName(dir))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if want != nil {
		fi, err := d.Stat()
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() || !sameFile(want, fi) {
			return nil, fmt.Errorf("replaced while walking: %w", ErrChanged)
		}
	}
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ents, func(a, b os.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, nil
}

// normalize renames the entry base of directory dir, whose name failed
// validation with invalid, to its NFC form if that is all that is wrong with
// it, and returns the new name. Otherwise the error says why the entry is
// left out.
func (f *Folder) normalize(dir, base string, invalid error) (string, error) {
	nfc := norm.NFC.String(base)
	to := joinName(dir, nfc)
	if runtime.GOOS == "darwin" || nfc == base || proto.ValidName(to) != nil {
		return "", invalid
	}
	from := joinName(dir, base)
	if err := renameNoReplace(f.root, from, to); err != nil {
		return "", fmt.Errorf("%w; renaming it to NFC failed: %w", invalid, err)
	}
	if f.OnNormalize != nil {
		f.OnNormalize(from, to)
	}
	return to, nil
}

func (f *Folder) skip(name string, err error) {
	if f.OnSkip != nil {
		f.OnSkip(name, err)
	}
}

// joinName joins a directory ("" for the root) and a base name.
func joinName(dir, base string) string {
	if dir == "" {
		return base
	}
	return dir + "/" + base
}

// rootName maps "" to ".", the name os.Root uses for its own directory.
func rootName(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

// CleanTemps removes temp files (".ferry-tmp-*") anywhere in the folder
// except those inUse reports, and returns how many it removed. mu is held
// while a temp file is checked and removed, so a caller that marks a temp
// in use under mu before opening it never loses it. Directories Walk would
// skip are not searched. It continues past errors and returns them joined.
func (f *Folder) CleanTemps(mu sync.Locker, inUse func(name string) bool) (removed int, err error) {
	var errs []error
	var clean func(dir string)
	clean = func(dir string) {
		ents, err := f.readDir(dir, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("clean temps in %s: %w", rootName(dir), err))
			return
		}
		for _, de := range ents {
			name := joinName(dir, de.Name())
			if de.IsDir() && proto.ValidName(name) == nil {
				clean(name)
				continue
			}
			if !strings.HasPrefix(de.Name(), tempPrefix) || de.IsDir() {
				continue
			}
			mu.Lock()
			if inUse(name) {
				mu.Unlock()
				continue
			}
			err := f.root.Remove(name)
			mu.Unlock()
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("clean temp %s: %w", name, err))
				continue
			}
			removed++
		}
	}
	clean("")
	return removed, errors.Join(errs...)
}
