package watch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"

	"github.com/syncthing/notify"
	"golang.org/x/sys/unix"
)

// fanotifyFirst makes Watch try fanotify before inotify; tests set it to
// exercise the fanotify path. Otherwise fanotify is the fallback for a
// folder inotify cannot watch for its watch limit: a filesystem mark sees
// every change on the whole filesystem, by any process, and each costs the
// writer a file handle and each marking daemon a lookup. Measured on an
// initial sync of 1 GiB in 20,000 files between two daemons on one
// filesystem, fanotify made it 25-35 % slower and cost 40 % more CPU than
// inotify.
var fanotifyFirst = false

// startInotify is startNotify; tests make it fail as on the watch limit.
var startInotify = startNotify

// fanMask is what the fanotify mark asks for: changes to directory
// entries, to file data and to attributes, on files and directories, and
// the root's own removal or move.
const fanMask = unix.FAN_CREATE | unix.FAN_DELETE | unix.FAN_MOVED_FROM | unix.FAN_MOVED_TO |
	unix.FAN_MODIFY | unix.FAN_ATTRIB | unix.FAN_CLOSE_WRITE |
	unix.FAN_DELETE_SELF | unix.FAN_MOVE_SELF | unix.FAN_ONDIR

// fanBufferSize is how much one read takes from the group's queue. An
// event with a directory handle and a name takes at most about 420 bytes.
const fanBufferSize = 64 << 10

// startEvents starts the event source for dir: fanotify when the kernel
// and the process's privileges allow it, else inotify through notify.
func startEvents(dir string, events chan notify.EventInfo, log *slog.Logger) (eventSource, error) {
	if fanotifyFirst {
		src, err := startFanotify(dir, events, log)
		if err == nil {
			log.Debug("watching", "root", dir, "backend", "fanotify")
			return src, nil
		}
		log.Debug("fanotify unavailable; using inotify", "root", dir, "err", err)
		return startNotify(dir, events, log)
	}
	src, err := startInotify(dir, events, log)
	if !isWatchLimit(err) {
		return src, err
	}
	fsrc, ferr := startFanotify(dir, events, log)
	if ferr != nil {
		log.Debug("fanotify unavailable", "root", dir, "err", ferr)
		return nil, err
	}
	log.Info("the folder has more directories than inotify may watch: watching its whole filesystem with fanotify", "root", dir)
	log.Debug("watching", "root", dir, "backend", "fanotify")
	return fsrc, nil
}

// fanWatch is a fanotify group marking the whole filesystem of a root, and
// the goroutine that reads it and sends the events under the root into
// the loop's channel.
type fanWatch struct {
	fd     int           // the group, non-blocking
	wake   int           // an eventfd that stop writes to wake the reader
	quit   chan struct{} // closed by stop
	done   chan struct{} // closed when the reader returns
	fail   chan error    // the reader's error if it fails; cap 1
	res    *resolver     // used by the reader only
	events chan<- notify.EventInfo
	log    *slog.Logger
}

// startFanotify marks the filesystem holding dir in a new fanotify group
// and starts reading it. It fails when the kernel lacks fanotify with
// directory handles and names (before Linux 5.9), the process lacks
// CAP_SYS_ADMIN, the filesystem cannot report file handles, or another
// filesystem is mounted inside dir.
func startFanotify(dir string, events chan<- notify.EventInfo, log *slog.Logger) (_ *fanWatch, err error) {
	f := &fanWatch{
		fd: -1, wake: -1,
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		fail:   make(chan error, 1),
		events: events,
		log:    log,
	}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	fd, err := unix.FanotifyInit(unix.FAN_CLASS_NOTIF|unix.FAN_CLOEXEC|unix.FAN_NONBLOCK|unix.FAN_REPORT_DFID_NAME,
		unix.O_RDONLY|unix.O_LARGEFILE)
	if err != nil {
		return nil, fmt.Errorf("fanotify_init: %w", err)
	}
	f.fd = fd
	if err := checkNoMountBelow(dir); err != nil {
		return nil, err
	}
	if err := unix.FanotifyMark(f.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, fanMask, unix.AT_FDCWD, dir); err != nil {
		return nil, fmt.Errorf("fanotify_mark %s: %w", dir, err)
	}
	if f.res, err = newResolver(dir); err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	f.wake = wake
	go f.read()
	return f, nil
}

// failed returns the channel the reader reports its failure on.
func (f *fanWatch) failed() <-chan error { return f.fail }

// stop ends the reader, waits for it and closes the group.
func (f *fanWatch) stop() {
	close(f.quit)
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	// The write fails only if the counter is already near its
	// maximum, which wakes the reader as well.
	_, _ = unix.Write(f.wake, one[:])
	<-f.done
	f.close()
}

// close releases the group's file descriptors.
func (f *fanWatch) close() {
	for _, fd := range []int{f.fd, f.wake} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	if f.res != nil {
		f.res.close()
	}
}

// read reads the group until stop, the root's loss or a failure, which
// it reports on f.fail.
func (f *fanWatch) read() {
	defer close(f.done)
	buf := make([]byte, fanBufferSize)
	for {
		select {
		case <-f.quit:
			return
		default:
		}
		n, err := unix.Read(f.fd, buf)
		switch {
		case err == unix.EINTR:
		case err == unix.EAGAIN || (err == nil && n <= 0):
			stopped, err := f.wait()
			if err != nil {
				f.fail <- err
			}
			if stopped || err != nil {
				return
			}
		case err != nil:
			f.fail <- fmt.Errorf("read fanotify events: %w", err)
			return
		default:
			if !f.dispatch(buf[:n]) {
				return
			}
		}
	}
}

// wait blocks until the group has events to read or stop wakes it.
func (f *fanWatch) wait() (stopped bool, err error) {
	fds := [2]unix.PollFd{{Fd: int32(f.fd), Events: unix.POLLIN}, {Fd: int32(f.wake), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds[:], -1)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return false, fmt.Errorf("poll fanotify group: %w", err)
		case fds[1].Revents != 0:
			return true, nil
		case fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0:
			return false, fmt.Errorf("poll fanotify group: events %#x", fds[0].Revents)
		}
		return false, nil
	}
}

// dispatch handles the events in buf, a read's result, and reports false
// when one said the root is gone.
func (f *fanWatch) dispatch(buf []byte) (more bool) {
	more = true
	var ev fanEvent
	for len(buf) > 0 {
		var ok bool
		if buf, ok = parseFanEvent(buf, &ev); !ok {
			f.lost("malformed fanotify event header")
			break
		}
		if ev.fd >= 0 {
			unix.Close(int(ev.fd))
		}
		if more {
			more = f.handle(&ev)
		}
	}
	return more
}

// handle sends what one event says about the root, and reports false when
// it says the root is gone. Events elsewhere cost a lookup of their
// directory and nothing more.
func (f *fanWatch) handle(ev *fanEvent) (more bool) {
	switch {
	case ev.mask&unix.FAN_Q_OVERFLOW != 0:
		f.lost("fanotify queue overflow")
		return true
	case !ev.ok || !ev.dir:
		f.lost("malformed fanotify event")
		return true
	case ev.fsid != f.res.fsid:
		return true
	case ev.mask&(unix.FAN_DELETE_SELF|unix.FAN_MOVE_SELF) != 0 && f.res.isRoot(ev):
		return f.rootLost(fanNotifyEvent(ev.mask))
	}
	if ev.mask&unix.FAN_ONDIR != 0 && ev.mask&fanDirMoved != 0 {
		f.res.forget()
	}
	// Below the root, a directory's own removal or move shows up in its
	// parent as well, by name.
	e := fanNotifyEvent(ev.mask &^ (unix.FAN_DELETE_SELF | unix.FAN_MOVE_SELF))
	if e == 0 {
		return true
	}
	path, at, err := f.res.place(ev)
	switch {
	case errors.Is(err, errGone):
		return f.res.rootExists() || f.rootLost(notify.Remove)
	case err != nil:
		f.log.Debug("fanotify event not placed", "root", f.res.root, "err", err)
		if !errors.Is(err, errUnreachable) {
			f.lost("fanotify event not placed")
		}
		return true
	}
	switch {
	case at == atInside:
		f.send(fanEventInfo{path, e})
	case at == atRoot && e&(notify.Remove|notify.Rename) != 0,
		at == atAncestor && ev.mask&unix.FAN_MOVED_FROM != 0:
		return f.rootLost(notify.Rename)
	}
	return true
}

// fanDirMoved are the events that, on a directory, change the path of
// whatever is below it.
const fanDirMoved = unix.FAN_MOVED_FROM | unix.FAN_MOVED_TO | unix.FAN_MOVE_SELF | unix.FAN_DELETE | unix.FAN_DELETE_SELF

// fanNotifyEvent returns the notify event the loop gets for a fanotify
// mask, 0 for none. Of merged events, those that may end the root win.
func fanNotifyEvent(mask uint64) notify.Event {
	switch {
	case mask&(unix.FAN_MOVED_FROM|unix.FAN_MOVE_SELF) != 0:
		return notify.Rename
	case mask&(unix.FAN_DELETE|unix.FAN_DELETE_SELF) != 0:
		return notify.Remove
	case mask&(unix.FAN_CREATE|unix.FAN_MOVED_TO) != 0:
		return notify.Create
	case mask&(unix.FAN_MODIFY|unix.FAN_CLOSE_WRITE) != 0:
		return notify.Write
	case mask&unix.FAN_ATTRIB != 0:
		return notify.InAttrib
	}
	return 0
}

// send hands ei to the loop, or drops it when the channel is full: the
// loop then sees a full channel and reports an overflow.
func (f *fanWatch) send(ei notify.EventInfo) {
	select {
	case f.events <- ei:
	default:
	}
}

// lost empties the path cache, since what was lost may have renamed a
// directory, and tells the loop that events were lost.
func (f *fanWatch) lost(reason string) {
	f.res.forget()
	f.log.Debug("fanotify events lost", "root", f.res.root, "reason", reason)
	f.send(lostEvents{})
}

// rootLost sends the root's removal or move, waiting for room since it
// ends the watch, and returns false.
func (f *fanWatch) rootLost(e notify.Event) bool {
	select {
	case f.events <- fanEventInfo{f.res.root, e}:
	case <-f.quit:
	}
	return false
}

// fanEventInfo is a fanotify event in the form the loop consumes.
type fanEventInfo struct {
	path  string
	event notify.Event
}

// Event returns what happened, as notify names it.
func (e fanEventInfo) Event() notify.Event { return e.event }

// Path returns the absolute path it happened to.
func (e fanEventInfo) Path() string { return e.path }

// Sys returns nil: there is no system-specific detail.
func (e fanEventInfo) Sys() any { return nil }
