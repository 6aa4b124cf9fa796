package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/syncthing/notify"
	"golang.org/x/sys/unix"

	"ferry/proto"
)

// watchLimitPath is the sysctl fs.inotify.max_user_watches, the most
// inotify watches one user may hold. Tests point it at a file of their
// own.
var watchLimitPath = "/proc/sys/fs/inotify/max_user_watches"

// geteuid is os.Geteuid; tests replace it.
var geteuid = os.Geteuid

// maxWatchLimit caps how far the watch limit is raised. A watch costs the
// kernel up to about 1 KiB, so this many may pin up to 16 GiB; past it the
// folder is better left to periodic scans.
const maxWatchLimit = 16 << 20

// watchLimitStep rounds the room a raise makes for a tree.
const watchLimitStep = 1024

// addNotifyWatch asks notify to watch dir recursively. When the inotify
// watch limit stops it and the process runs as root, it raises the limit
// to fit the tree (see raiseWatchLimit) and tries once more.
func addNotifyWatch(dir string, events chan notify.EventInfo, log *slog.Logger) error {
	err := notifyWatch(dir, events)
	if !isWatchLimit(err) {
		return err
	}
	if err := raiseWatchLimit(dir, err, log); err != nil {
		return err
	}
	err = notifyWatch(dir, events)
	if isWatchLimit(err) {
		return fmt.Errorf("%w (even after raising the inotify watch limit, sysctl fs.inotify.max_user_watches: other processes may hold many watches)", err)
	}
	return err
}

// isWatchLimit reports whether err says the inotify watch limit was
// reached: inotify_add_watch fails with ENOSPC then.
func isWatchLimit(err error) bool {
	return err != nil && (errors.Is(err, unix.ENOSPC) || strings.Contains(err.Error(), unix.ENOSPC.Error()))
}

// raiseWatchLimit handles cause, the inotify watch limit stopping a watch
// of root. Running as root, it raises the limit to fit root's directories
// and returns nil, so that the watch is worth trying again; it never
// lowers the limit. Otherwise, or if the raise fails, it returns cause
// with a hint naming the sysctl and the number of directories.
func raiseWatchLimit(root string, cause error, log *slog.Logger) error {
	dirs := countDirs(root, maxWatchLimit/2+1)
	cur, err := readWatchLimit()
	switch {
	case err != nil:
		return watchLimitHint(cause, dirs, err.Error())
	case geteuid() != 0:
		return watchLimitHint(cause, dirs, fmt.Sprintf("it is %d; raise it, which ferry does itself when it runs as root", cur))
	}
	next := nextWatchLimit(cur, dirs)
	if next <= cur {
		return watchLimitHint(cause, dirs, fmt.Sprintf("it is %d, and ferry raises it to %d at most", cur, maxWatchLimit))
	}
	if err := writeWatchLimit(next); err != nil {
		return watchLimitHint(cause, dirs, fmt.Sprintf("it is %d; raising it to %d: %v", cur, next, err))
	}
	log.Info("raised the inotify watch limit", "sysctl", "fs.inotify.max_user_watches",
		"old", cur, "new", next, "root", root, "dirs", dirs)
	return nil
}

// watchLimitHint wraps cause with what the limit is and how large the
// folder is.
func watchLimitHint(cause error, dirs int64, detail string) error {
	return fmt.Errorf("%w (the inotify watch limit, sysctl fs.inotify.max_user_watches, is too low for a folder of %d directories: %s)",
		cause, dirs, detail)
}

// nextWatchLimit returns the watch limit to set when cur is too low for a
// tree of dirs directories: twice cur, or room for two trees besides
// what cur allows if that is more, capped at maxWatchLimit. It is never
// below cur.
func nextWatchLimit(cur, dirs int64) int64 {
	if cur >= maxWatchLimit {
		return cur
	}
	room := (max(dirs, 0)*2 + watchLimitStep - 1) / watchLimitStep * watchLimitStep
	return max(cur, min(max(cur*2, cur+room), maxWatchLimit))
}

// countDirs counts the directories in the tree at root, the root included
// and ferry's own left out as notify leaves them out, up to limit.
// Directories it cannot read count without their contents.
func countDirs(root string, limit int64) int64 {
	var n int64
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil && d == nil:
			return nil
		case !d.IsDir():
			return nil
		case path != root && proto.IsInternalName(d.Name()):
			return filepath.SkipDir
		}
		if n++; n >= limit {
			return filepath.SkipAll
		}
		if err != nil {
			return filepath.SkipDir
		}
		return nil
	})
	return n
}

// readWatchLimit returns the current watch limit.
func readWatchLimit() (int64, error) {
	b, err := os.ReadFile(watchLimitPath)
	if err != nil {
		return 0, fmt.Errorf("read watch limit: %w", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read watch limit from %s: %w", watchLimitPath, err)
	}
	return n, nil
}

// writeWatchLimit sets the watch limit to n. The file is written in
// place, as a sysctl is; never shortening the number keeps a plain file
// consistent too.
func writeWatchLimit(n int64) error {
	f, err := os.OpenFile(watchLimitPath, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("write watch limit: %w", err)
	}
	_, err = f.WriteString(strconv.FormatInt(n, 10) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write watch limit to %s: %w", watchLimitPath, err)
	}
	return nil
}
