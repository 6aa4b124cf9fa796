package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/syncthing/notify"
)

// Defaults for the zero fields of Options.
const (
	DefaultDebounce = 150 * time.Millisecond
	DefaultMaxDelay = time.Second
	DefaultMaxPaths = 1000
)

// eventBuffer is the capacity of the channel notify delivers into. notify
// drops events when it is full; the watch loop only does map work per
// event, so it stays far from full unless the machine stalls.
const eventBuffer = 4096

// Options tunes a watch. The zero value gives the defaults.
type Options struct {
	// Debounce is the quiet time before a batch is delivered (default
	// 150ms).
	Debounce time.Duration
	// MaxDelay bounds how long a continuously busy tree waits for a batch,
	// counted from the batch's first event (default 1s).
	MaxDelay time.Duration
	// MaxPaths is the most names one batch holds; more are collapsed to
	// their parent directories (default 1000).
	MaxPaths int
	// Logger receives overflow warnings and debug traces (default: none).
	Logger *slog.Logger
}

// Validate fills the defaults into zero fields and refuses negative ones.
func (o *Options) Validate() error {
	if o.Debounce < 0 || o.MaxDelay < 0 || o.MaxPaths < 0 {
		return fmt.Errorf("watch options: negative value (debounce %v, max delay %v, max paths %d)",
			o.Debounce, o.MaxDelay, o.MaxPaths)
	}
	if o.Debounce == 0 {
		o.Debounce = DefaultDebounce
	}
	if o.MaxDelay == 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	if o.MaxPaths == 0 {
		o.MaxPaths = DefaultMaxPaths
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Batch is a set of subtrees to scan.
type Batch struct {
	// Paths are folder-relative, slash-separated subtrees to scan
	// recursively: minimal (none inside another) and sorted. [""] is the
	// whole folder. A name may no longer exist: then it was removed.
	Paths []string
	// Overflow says events were lost (or the watch failed); Paths is [""]
	// and the caller should do a full scan.
	Overflow bool
}

// errRootLost says the watched root was removed or moved away.
var errRootLost = errors.New("folder root removed or moved")

// Watch watches root recursively until ctx ends, calling fn with each batch
// from one goroutine, never concurrently. fn is never called after Watch
// returns.
//
// The first batch, delivered as soon as the watch is in place, is [""]:
// changes made before then were not seen, so the caller scans the whole
// folder (this can be its initial scan). Starting the scan on that batch
// leaves no gap between the scan and the watch.
//
// It returns an error at once if root cannot be watched (not a directory, a
// directory below it cannot be read, an unsupported filesystem, the inotify
// watch limit): the caller then falls back to periodic scans and logs it.
// If root itself is removed or moved while watched, or the kernel's event
// source fails, Watch delivers an overflow batch and returns an error. It
// returns nil when ctx ends.
func Watch(ctx context.Context, root string, opts Options, fn func(Batch)) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	dir, err := resolveRoot(root)
	if err != nil {
		return fmt.Errorf("watch %s: %w", root, err)
	}
	events := make(chan notify.EventInfo, eventBuffer)
	src, err := startEvents(dir, events, opts.Logger)
	if err != nil {
		return fmt.Errorf("watch %s: %w", root, err)
	}
	defer src.stop()
	w := newWatcher(dir, events, opts)
	w.fail = src.failed()
	if err := w.run(ctx, fn); err != nil {
		return fmt.Errorf("watch %s: %w", root, err)
	}
	return nil
}

// eventSource sends the events under a root into the loop's channel,
// dropping them when it is full, as notify does.
type eventSource interface {
	// failed returns a channel that yields an error if the source stops
	// working, or nil if it never reports one.
	failed() <-chan error
	// stop ends the source; it sends nothing after stop returns.
	stop()
}

// notifySource is a recursive watch through notify.
type notifySource struct {
	events chan notify.EventInfo
}

// startNotify watches dir recursively through notify, sending into events.
func startNotify(dir string, events chan notify.EventInfo, log *slog.Logger) (eventSource, error) {
	if err := addNotifyWatch(dir, events, log); err != nil {
		return nil, err
	}
	log.Debug("watching", "root", dir, "backend", notifyBackend)
	return notifySource{events}, nil
}

// notifyWatch asks notify to watch dir recursively; after a failure
// nothing of it is left registered.
func notifyWatch(dir string, events chan notify.EventInfo) error {
	err := notify.WatchWithFilter(filepath.Join(dir, "..."), events, isInternalPath, notify.All|platformEvents)
	if err != nil {
		// notify may have registered part of the tree.
		notify.Stop(events)
	}
	return err
}

// failed returns nil: notify reports no failure once watching.
func (s notifySource) failed() <-chan error { return nil }

// stop removes the watch; notify sends nothing after it returns.
func (s notifySource) stop() { notify.Stop(s.events) }

// resolveRoot returns root as an absolute path with symlinks resolved, the
// form notify reports events in, and checks that it is a directory.
func resolveRoot(root string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	dir, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", errors.New("not a directory")
	}
	return dir, nil
}
