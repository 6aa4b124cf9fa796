package watch

import (
	"context"
	"log/slog"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/syncthing/notify"
	"golang.org/x/text/unicode/norm"

	"ferry/proto"
)

// watcher runs the loop between notify's channel and the caller's callback.
// The loop goroutine owns the coalescer; the callback runs on a second
// goroutine (the deliverer) so that events are still drained while it runs.
type watcher struct {
	root   string // absolute, symlinks resolved
	prefix string // root with a trailing separator
	events chan notify.EventInfo
	fail   <-chan error // an error from the event source that ends the watch; nil for none
	co     *coalescer
	log    *slog.Logger

	work chan Batch    // to the deliverer; cap 1, used only when !busy
	done chan struct{} // from the deliverer after each batch; cap 1
	busy bool          // the deliverer holds a batch
}

// newWatcher returns a watcher of root reading events, which must be
// valid.
func newWatcher(root string, events chan notify.EventInfo, opts Options) *watcher {
	return &watcher{
		root:   root,
		prefix: withSeparator(root),
		events: events,
		co:     newCoalescer(opts),
		log:    opts.Logger,
		work:   make(chan Batch, 1),
		done:   make(chan struct{}, 1),
	}
}

// run loops until ctx ends (nil), the root is lost (errRootLost) or the
// event source fails (its error), and returns only after the callback has
// returned.
func (w *watcher) run(ctx context.Context, fn func(Batch)) error {
	var wg sync.WaitGroup
	wg.Go(func() {
		for b := range w.work {
			fn(b)
			w.done <- struct{}{}
		}
	})
	defer wg.Wait()
	defer close(w.work)

	// The watch is in place: whatever changed before it was not seen.
	w.busy = true
	w.work <- Batch{Paths: []string{""}}

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w.arm(timer)
		select {
		case <-ctx.Done():
			return nil
		case ei := <-w.events:
			if w.handle(ei, time.Now()) {
				w.log.Warn("watched folder root removed or moved", "root", w.root)
				return w.end(ctx, errRootLost)
			}
		case err := <-w.fail:
			w.log.Warn("watching the folder failed", "root", w.root, "err", err)
			return w.end(ctx, err)
		case <-timer.C:
			w.flush(time.Now())
		case <-w.done:
			w.busy = false
			w.flush(time.Now())
		}
	}
}

// arm sets timer to the pending batch's due time, or stops it when there is
// nothing to deliver or the deliverer is busy (its done wakes the loop).
func (w *watcher) arm(timer *time.Timer) {
	at, ok := w.co.next()
	if !ok || w.busy {
		timer.Stop()
		return
	}
	timer.Reset(time.Until(at))
}

// flush hands the pending batch to the deliverer if it is due and the
// deliverer is free.
func (w *watcher) flush(now time.Time) {
	if w.busy || !w.co.due(now) {
		return
	}
	b := w.co.take()
	w.log.Debug("watch batch", "root", w.root, "paths", len(b.Paths), "overflow", b.Overflow)
	w.busy = true
	w.work <- b
}

// handle records one event and reports whether it says the root is gone.
func (w *watcher) handle(ei notify.EventInfo, now time.Time) (rootLost bool) {
	// Only this loop receives, so a channel that is full after a receive
	// was full before it, and the source may have dropped an event then.
	_, lost := ei.(lostEvents)
	if lost || len(w.events) >= cap(w.events)-1 {
		if !w.co.overflow {
			w.log.Warn("watch events dropped; scanning the whole folder", "root", w.root)
		}
		w.co.add("", kindOverflow, now)
	}
	if lost {
		return false
	}
	name, ok := w.name(ei.Path())
	switch {
	case !ok:
		return false
	case ei.Path() == w.root:
		return ei.Event()&(notify.Remove|notify.Rename) != 0
	}
	w.co.add(name, kindChange, now)
	return false
}

// end delivers an overflow batch, including whatever was pending, once the
// deliverer is free, and returns err: the watch is over.
func (w *watcher) end(ctx context.Context, err error) error {
	w.co.add("", kindOverflow, time.Now())
	if w.busy {
		select {
		case <-w.done:
			w.busy = false
		case <-ctx.Done():
			return err
		}
	}
	w.busy = true
	w.work <- w.co.take()
	return err
}

// lostEvents is what an event source sends when it knows events were lost
// (the kernel's queue overflowed, or a record could not be read): the
// loop then reports an overflow, as for a full channel.
type lostEvents struct{}

// Event returns no event.
func (lostEvents) Event() notify.Event { return 0 }

// Path returns no path.
func (lostEvents) Path() string { return "" }

// Sys returns nil.
func (lostEvents) Sys() any { return nil }

// name maps an event's absolute path to a folder-relative name ("" for the
// root). ok is false for paths outside the root, ferry's own names and
// names a scan would skip.
func (w *watcher) name(path string) (name string, ok bool) {
	if path == w.root {
		return "", true
	}
	rel, ok := strings.CutPrefix(path, w.prefix)
	if !ok || rel == "" {
		return "", false
	}
	name = filepath.ToSlash(rel)
	if hasInternalComponent(name) {
		return "", false
	}
	if err := proto.ValidName(name); err != nil {
		if proto.ValidName(norm.NFC.String(name)) == nil {
			// Only not in NFC: a scan of the directory above renames it.
			return validAncestor(name), true
		}
		w.log.Debug("watch event ignored", "root", w.root, "err", err)
		return "", false
	}
	return name, true
}

// withSeparator returns dir with a trailing separator.
func withSeparator(dir string) string {
	if strings.HasSuffix(dir, string(filepath.Separator)) {
		return dir
	}
	return dir + string(filepath.Separator)
}

// validAncestor returns the nearest ancestor of name that is a valid
// name, "" for the root.
func validAncestor(name string) string {
	for {
		name = path.Dir(name)
		if name == "." {
			return ""
		}
		if proto.ValidName(name) == nil {
			return name
		}
	}
}

// hasInternalComponent reports whether a component of the slash-separated
// name is one of ferry's own.
func hasInternalComponent(name string) bool {
	for comp := range strings.SplitSeq(name, "/") {
		if proto.IsInternalName(comp) {
			return true
		}
	}
	return false
}

// isInternalPath tells notify not to watch ferry's own directories (it is
// given absolute paths below the root; their ancestors were already
// checked).
func isInternalPath(path string) bool {
	return proto.IsInternalName(filepath.Base(path))
}
