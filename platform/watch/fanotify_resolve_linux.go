package watch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"ferry/proto"
)

// errGone says an event's directory no longer exists. Its removal is an
// event of its own, in its parent.
var errGone = errors.New("directory removed")

// errUnreachable says an event's directory has no path this process can
// name: longer than PATH_MAX, or outside its root directory.
var errUnreachable = errors.New("directory has no reachable path")

// placement is where an event's path is relative to the watched root.
type placement uint8

const (
	atOutside  placement = iota // elsewhere, or one of ferry's own names below the root
	atInside                    // strictly below the root
	atRoot                      // the root itself
	atAncestor                  // a proper ancestor of the root
)

// fanCacheSize bounds the resolver's cache of directory paths.
const fanCacheSize = 1024

// deletedSuffix is what the kernel appends to the path of a removed
// directory.
const deletedSuffix = " (deleted)"

// resolver turns the directory handles of fanotify events into paths and
// places them relative to the watched root. It is used by the reader
// goroutine only.
//
// Paths are cached by handle. A directory's path changes only when it or an
// ancestor is renamed, and a handle names another directory only after
// its own was removed. The group sees every such rename and removal on the
// filesystem (FAN_MOVED_FROM, FAN_MOVED_TO, FAN_DELETE and the self events,
// with FAN_ONDIR), and the reader empties the cache on each one, and on
// any loss of events, before it reads an event that happened after it. A
// path read from the kernel may be newer than the event, never older.
type resolver struct {
	mount int    // the root, open for the watch's life; handles are opened through its mount
	root  string // as Watch reports it: absolute, symlinks resolved
	fsid  [2]int32

	rootType   int32
	rootHandle []byte

	cache    map[string]string // handle type and bytes → directory path
	key      []byte            // scratch for cache keys
	link     []byte            // scratch for readlink
	procFd   int               // the descriptor procPath names
	procPath string
}

// newResolver opens root and checks that its handle resolves to root
// itself, so that paths resolved from handles match the root's form.
func newResolver(root string) (_ *resolver, err error) {
	mount, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", root, err)
	}
	r := &resolver{
		mount:  mount,
		root:   root,
		cache:  make(map[string]string),
		link:   make([]byte, unix.PathMax+1),
		procFd: -1,
	}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	h, _, err := unix.NameToHandleAt(mount, "", unix.AT_EMPTY_PATH)
	if err != nil {
		return nil, fmt.Errorf("name_to_handle_at %s: %w", root, err)
	}
	r.rootType, r.rootHandle = h.Type(), slices.Clone(h.Bytes())
	var st unix.Statfs_t
	if err := unix.Fstatfs(mount, &st); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", root, err)
	}
	r.fsid = st.Fsid.Val
	p, err := r.dir(r.rootType, r.rootHandle)
	if err != nil {
		return nil, fmt.Errorf("open %s by handle: %w", root, err)
	}
	if p != root {
		return nil, fmt.Errorf("%s opened by handle is %s", root, p)
	}
	return r, nil
}

// close closes the root.
func (r *resolver) close() { unix.Close(r.mount) }

// isRoot reports whether ev is about the root directory itself.
func (r *resolver) isRoot(ev *fanEvent) bool {
	return isSelf(ev.name) && ev.handleType == r.rootType && bytes.Equal(ev.handle, r.rootHandle)
}

// isSelf reports whether an event's name stands for its directory itself.
func isSelf(name []byte) bool {
	return len(name) == 0 || string(name) == "."
}

// rootExists reports whether the root still has a name, which a root held
// open after its removal does not.
func (r *resolver) rootExists() bool { return !unlinked(r.mount) }

// forget empties the cache.
func (r *resolver) forget() {
	if len(r.cache) > 0 {
		clear(r.cache)
	}
}

// place returns where ev's path is, and the path itself when that is the
// root or inside it (and not one of ferry's own names). err is errGone
// when the event's directory was removed, errUnreachable when it has no
// path to compare.
func (r *resolver) place(ev *fanEvent) (path string, at placement, err error) {
	dir, err := r.dir(ev.handleType, ev.handle)
	if err != nil {
		return "", atOutside, err
	}
	if isSelf(ev.name) {
		return r.placeDir(dir)
	}
	return r.placeEntry(dir, ev.name)
}

// placeDir places the directory dir.
func (r *resolver) placeDir(dir string) (string, placement, error) {
	if dir == r.root {
		return dir, atRoot, nil
	}
	if rel, ok := below(dir, r.root); ok {
		if hasInternalComponent(rel) {
			return "", atOutside, nil
		}
		return dir, atInside, nil
	}
	if _, ok := below(r.root, dir); ok {
		return "", atAncestor, nil
	}
	return "", atOutside, nil
}

// placeEntry places the entry name of the directory dir, without
// allocating unless it is inside the root.
func (r *resolver) placeEntry(dir string, name []byte) (string, placement, error) {
	if rel, ok := below(dir, r.root); ok || dir == r.root {
		if proto.IsInternalName(string(name)) || hasInternalComponent(rel) {
			return "", atOutside, nil
		}
		return withSeparator(dir) + string(name), atInside, nil
	}
	rest, ok := below(r.root, dir)
	if !ok || len(rest) < len(name) || rest[:len(name)] != string(name) {
		return "", atOutside, nil
	}
	switch {
	case len(rest) == len(name):
		return r.root, atRoot, nil
	case rest[len(name)] == filepath.Separator:
		return "", atAncestor, nil
	}
	return "", atOutside, nil
}

// below returns the part of p below dir if p is strictly inside dir. It
// does not allocate.
func below(p, dir string) (rest string, ok bool) {
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		if len(p) <= len(dir)+1 || p[len(dir)] != filepath.Separator || p[:len(dir)] != dir {
			return "", false
		}
		return p[len(dir)+1:], true
	}
	rest, ok = strings.CutPrefix(p, dir)
	return rest, ok && rest != ""
}

// dir returns the path of the directory with the given handle.
func (r *resolver) dir(handleType int32, handle []byte) (string, error) {
	r.key = binary.NativeEndian.AppendUint32(r.key[:0], uint32(handleType))
	r.key = append(r.key, handle...)
	if p, ok := r.cache[string(r.key)]; ok {
		return p, nil
	}
	fd, err := unix.OpenByHandleAt(r.mount, unix.NewFileHandle(handleType, handle), unix.O_PATH|unix.O_CLOEXEC)
	switch {
	// A directory removed is ESTALE; one whose inode is being freed at
	// that moment is ENOMEM (ext4 maps iget_locked's failure to it).
	// Real allocation failures are rare enough to be taken as that.
	case err == unix.ESTALE || err == unix.ENOENT || err == unix.ENOMEM:
		return "", errGone
	case err != nil:
		return "", fmt.Errorf("open_by_handle_at: %w", err)
	}
	defer unix.Close(fd)
	n, err := unix.Readlink(r.proc(fd), r.link)
	switch {
	case err == unix.ENAMETOOLONG || (err == nil && n >= len(r.link)):
		return "", errUnreachable
	case err != nil:
		return "", fmt.Errorf("readlink: %w", err)
	}
	link := r.link[:n]
	if len(link) == 0 || link[0] != '/' {
		return "", errUnreachable
	}
	if bytes.HasSuffix(link, []byte(deletedSuffix)) && unlinked(fd) {
		return "", errGone
	}
	p := string(link)
	if len(r.cache) >= fanCacheSize {
		clear(r.cache)
	}
	r.cache[string(r.key)] = p
	return p, nil
}

// proc returns the /proc/self/fd name of fd, which is usually the same
// descriptor as last time.
func (r *resolver) proc(fd int) string {
	if fd != r.procFd {
		r.procFd = fd
		r.procPath = "/proc/self/fd/" + strconv.Itoa(fd)
	}
	return r.procPath
}

// unlinked reports whether the open file fd has no name left.
func unlinked(fd int) bool {
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Nlink == 0
}
