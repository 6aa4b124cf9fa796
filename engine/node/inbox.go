package node

import (
	"errors"
	"sync"
	"time"
)

// Bounds on what peers may queue for a folder's engine. A peer's index
// updates are let in while less than maxHeldInputs of the weight it sent
// (records plus blocks: about 64 updates of 1,000 small files, some 15 MB
// decoded) waits to be stepped, so one busy peer never holds up another's, and fewer than maxPendingCommits Readys wait for
// their commit, so a peer can run neither the engine's inputs nor the
// index writes they make ahead of the disk. A peer's read loop waits for
// room for at most readTimeout, as long as a read may take; then its
// connection is dropped.
const (
	maxHeldInputs     = 1 << 16
	maxPendingCommits = 8
)

// errInboxTimeout says a wait for room in an inbox timed out.
var errInboxTimeout = errors.New("timed out waiting for room")

// errInboxClosed says the one waiting for room in an inbox went away.
var errInboxClosed = errors.New("connection closed")

// inbox is a queue with a wake-up channel: the engine's inputs, the Readys
// waiting for their commit. put never waits: it takes the items whose
// number the consumer bounds itself (results of work it started, a user's
// request, a connection going up or down). Items from peers, which may come
// faster than they are taken, go through putWait, which waits while the
// weight of such items queued from the same source reaches maxHeldInputs.
type inbox[T any] struct {
	mu    sync.Mutex
	items []T
	held  map[any]int   // weight of the queued items put with putWait, by source
	room  chan struct{} // closed, and replaced, when take empties the queue
	wake  chan struct{}
}

func newInbox[T any]() *inbox[T] {
	return &inbox[T]{wake: make(chan struct{}, 1), room: make(chan struct{})}
}

func (b *inbox[T]) put(item T) {
	b.mu.Lock()
	b.items = append(b.items, item)
	b.mu.Unlock()
	b.signal()
}

func (b *inbox[T]) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// putWait queues item, of the given weight, from source once the items
// that source put with putWait leave room for it; an item heavier than
// the bound goes in alone. It gives up when done is closed or at deadline.
func (b *inbox[T]) putWait(source any, item T, weight int, done <-chan struct{}, deadline time.Time) error {
	err := b.waitFor(func() bool {
		held := b.held[source]
		if held > 0 && held+weight > maxHeldInputs {
			return false
		}
		if b.held == nil {
			b.held = make(map[any]int)
		}
		b.items = append(b.items, item)
		b.held[source] = held + weight
		return true
	}, done, deadline)
	if err == nil {
		b.signal()
	}
	return err
}

// waitShorter waits until fewer than n items are queued; it gives up when
// done is closed or at deadline.
func (b *inbox[T]) waitShorter(n int, done <-chan struct{}, deadline time.Time) error {
	return b.waitFor(func() bool { return len(b.items) < n }, done, deadline)
}

// waitFor calls ok, under the lock, each time the queue was taken until ok
// reports true.
func (b *inbox[T]) waitFor(ok func() bool, done <-chan struct{}, deadline time.Time) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		b.mu.Lock()
		if ok() {
			b.mu.Unlock()
			return nil
		}
		room := b.room
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(time.Until(deadline))
		}
		select {
		case <-room:
		case <-done:
			return errInboxClosed
		case <-timer.C:
			return errInboxTimeout
		}
	}
}

// take returns everything queued.
func (b *inbox[T]) take() []T {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := b.items
	b.items = nil
	clear(b.held)
	close(b.room)
	b.room = make(chan struct{})
	return items
}
