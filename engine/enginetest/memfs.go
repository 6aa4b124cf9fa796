package enginetest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"ferry/engine"
	"ferry/proto"
)

// Errors of MemFS operations, wrapped with the name concerned.
var (
	ErrNotExist = fs.ErrNotExist
	ErrExist    = fs.ErrExist
	ErrNotDir   = errors.New("not a directory")
	ErrIsDir    = errors.New("is a directory")
)

// MemFS is an in-memory folder: regular files, directories and symlinks by
// slash-separated name relative to an implicit root. Every entry gets an
// inode number when it is created; writing a file in place keeps it.
type MemFS struct {
	nodes     map[string]*node
	nextInode uint64
	// walkBatch is how many entries a walk reports before it stops; 0 is
	// walkBatch.
	walkBatch int

	// loseConflicts breaks the folder, for the tests that check that the
	// simulation notices a lost version: what an operation should move to
	// a conflict copy is dropped instead, its content kept in lost.
	loseConflicts bool
	lost          [][]byte
}

type node struct {
	typ    proto.FileType
	data   []byte
	mode   uint32
	mtime  int64
	inode  uint64
	target string
}

// NewMemFS returns an empty folder.
func NewMemFS() *MemFS { return &MemFS{nodes: make(map[string]*node)} }

func (m *MemFS) newInode() uint64 {
	m.nextInode++
	return m.nextInode
}

// Stat returns what is at name.
func (m *MemFS) Stat(name string) (engine.Stat, bool) {
	n := m.nodes[name]
	if n == nil {
		return engine.Stat{}, false
	}
	return n.stat(name), true
}

func (n *node) stat(name string) engine.Stat {
	st := engine.Stat{Name: name, Type: n.typ, ModTime: n.mtime, Mode: n.mode, Inode: n.inode, Target: n.target}
	if n.typ == proto.FileTypeFile {
		st.Size = int64(len(n.data))
	}
	return st
}

// ReadFile returns a copy of the content of the regular file name.
func (m *MemFS) ReadFile(name string) ([]byte, bool) {
	n := m.nodes[name]
	if n == nil || n.typ != proto.FileTypeFile {
		return nil, false
	}
	return bytes.Clone(n.data), true
}

// Names returns every name in the folder, sorted.
func (m *MemFS) Names() []string { return slices.Sorted(maps.Keys(m.nodes)) }

// Walk returns the entries of subtree ("" for all, else the subtree itself
// and everything under it), sorted by name. A subtree that does not exist
// has no entries.
func (m *MemFS) Walk(subtree string) []engine.Stat {
	var out []engine.Stat
	for _, name := range m.Names() {
		if under(subtree, name) {
			out = append(out, m.nodes[name].stat(name))
		}
	}
	return out
}

// under reports whether name is dir or inside it ("" is the root).
func under(dir, name string) bool {
	return dir == "" || name == dir || strings.HasPrefix(name, dir+"/")
}

func parent(name string) string {
	if d := path.Dir(name); d != "." {
		return d
	}
	return ""
}

// mkdirParents creates the missing parent directories of name (0755).
func (m *MemFS) mkdirParents(name string, now int64) error {
	dir := parent(name)
	if dir == "" {
		return nil
	}
	if n := m.nodes[dir]; n != nil {
		if n.typ != proto.FileTypeDir {
			return fmt.Errorf("parent %s: %w", dir, ErrNotDir)
		}
		return nil
	}
	if err := m.mkdirParents(dir, now); err != nil {
		return err
	}
	m.nodes[dir] = &node{typ: proto.FileTypeDir, mode: 0o755, mtime: now, inode: m.newInode()}
	return nil
}

// WriteFile replaces the content of the file name in place (keeping its
// inode and mode), or creates it with mode 0644 and missing parents. The
// modification time becomes now, or one nanosecond after the old one if that
// is not earlier, so every write is visible to a scan.
func (m *MemFS) WriteFile(name string, data []byte, now int64) error {
	n := m.nodes[name]
	if n == nil {
		if err := m.mkdirParents(name, now); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		m.nodes[name] = &node{typ: proto.FileTypeFile, data: bytes.Clone(data), mode: 0o644, mtime: now, inode: m.newInode()}
		return nil
	}
	if n.typ != proto.FileTypeFile {
		return fmt.Errorf("write %s: %w", name, ErrIsDir)
	}
	n.data = bytes.Clone(data)
	n.mtime = max(now, n.mtime+1)
	return nil
}

// Append adds data to the end of the existing file name.
func (m *MemFS) Append(name string, data []byte, now int64) error {
	n := m.nodes[name]
	if n == nil || n.typ != proto.FileTypeFile {
		return fmt.Errorf("append %s: %w", name, ErrNotExist)
	}
	n.data = append(bytes.Clone(n.data), data...)
	n.mtime = max(now, n.mtime+1)
	return nil
}

// Mkdir creates the directory name and its missing parents.
func (m *MemFS) Mkdir(name string, mode uint32, now int64) error {
	if n := m.nodes[name]; n != nil {
		return fmt.Errorf("mkdir %s: %w", name, ErrExist)
	}
	if err := m.mkdirParents(name, now); err != nil {
		return fmt.Errorf("mkdir %s: %w", name, err)
	}
	m.nodes[name] = &node{typ: proto.FileTypeDir, mode: mode, mtime: now, inode: m.newInode()}
	return nil
}

// Symlink creates the symlink name pointing at target, replacing a symlink
// already there (ln -sf).
func (m *MemFS) Symlink(target, name string, now int64) error {
	if n := m.nodes[name]; n != nil && n.typ != proto.FileTypeSymlink {
		return fmt.Errorf("symlink %s: %w", name, ErrExist)
	}
	if err := m.mkdirParents(name, now); err != nil {
		return fmt.Errorf("symlink %s: %w", name, err)
	}
	m.nodes[name] = &node{typ: proto.FileTypeSymlink, mode: 0o777, mtime: now, inode: m.newInode(), target: target}
	return nil
}

// Chmod sets the permission bits of the file or directory name.
func (m *MemFS) Chmod(name string, mode uint32) error {
	n := m.nodes[name]
	if n == nil || n.typ == proto.FileTypeSymlink {
		return fmt.Errorf("chmod %s: %w", name, ErrNotExist)
	}
	n.mode = mode
	return nil
}

// Touch sets the modification time of the file or symlink name, as a copy
// that keeps times does.
func (m *MemFS) Touch(name string, mtime int64) error {
	n := m.nodes[name]
	if n == nil {
		return fmt.Errorf("touch %s: %w", name, ErrNotExist)
	}
	n.mtime = mtime
	return nil
}

// RemoveAll removes name and everything under it (rm -r).
func (m *MemFS) RemoveAll(name string) error {
	if m.nodes[name] == nil {
		return fmt.Errorf("remove %s: %w", name, ErrNotExist)
	}
	for _, n := range m.Names() {
		if under(name, n) {
			delete(m.nodes, n)
		}
	}
	return nil
}

// Rename moves from, and everything under it, to the new name to, which
// must not exist; its missing parents are created. Inodes and times stay.
func (m *MemFS) Rename(from, to string) error {
	if m.nodes[from] == nil {
		return fmt.Errorf("rename %s: %w", from, ErrNotExist)
	}
	if m.nodes[to] != nil {
		return fmt.Errorf("rename to %s: %w", to, ErrExist)
	}
	if under(from, to) {
		return fmt.Errorf("rename %s into itself: %w", from, fs.ErrInvalid)
	}
	if err := m.mkdirParents(to, m.nodes[from].mtime); err != nil {
		return fmt.Errorf("rename to %s: %w", to, err)
	}
	for _, n := range m.Names() {
		if under(from, n) {
			m.nodes[to+strings.TrimPrefix(n, from)] = m.nodes[n]
			delete(m.nodes, n)
		}
	}
	return nil
}

// isEmptyDir reports whether nothing is inside the directory name.
func (m *MemFS) isEmptyDir(name string) bool {
	for n := range m.nodes {
		if n != name && under(name, n) {
			return false
		}
	}
	return true
}

// Diff describes the first difference between m and o in names, types,
// file content, permission bits, file modification times and symlink
// targets, "" if there is none.
func (m *MemFS) Diff(o *MemFS) string {
	all := maps.Clone(m.nodes)
	maps.Copy(all, o.nodes)
	names := slices.Sorted(maps.Keys(all))
	for _, name := range names {
		if d := diffNode(m.nodes[name], o.nodes[name]); d != "" {
			return name + ": " + d
		}
	}
	return ""
}

func diffNode(a, b *node) string {
	switch {
	case a == nil || b == nil:
		return fmt.Sprintf("present %t / %t", a != nil, b != nil)
	case a.typ != b.typ:
		return fmt.Sprintf("type %s / %s", a.typ, b.typ)
	case a.mode != b.mode && a.typ != proto.FileTypeSymlink:
		return fmt.Sprintf("mode %o / %o", a.mode, b.mode)
	case a.typ == proto.FileTypeSymlink && a.target != b.target:
		return fmt.Sprintf("target %q / %q", a.target, b.target)
	case a.typ != proto.FileTypeFile:
		return ""
	case !bytes.Equal(a.data, b.data):
		return fmt.Sprintf("content of %d / %d bytes differs", len(a.data), len(b.data))
	case a.mtime != b.mtime:
		return fmt.Sprintf("mtime %d / %d", a.mtime, b.mtime)
	}
	return ""
}
