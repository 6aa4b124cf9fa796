package node

import (
	"sync"

	"ferry/engine"
)

// inbox is an unbounded queue of engine inputs with a wake-up channel.
type inbox struct {
	mu    sync.Mutex
	items []engine.Input
	wake  chan struct{}
}

func newInbox() *inbox { return &inbox{wake: make(chan struct{}, 1)} }

func (b *inbox) put(in engine.Input) {
	b.mu.Lock()
	b.items = append(b.items, in)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// take returns everything queued.
func (b *inbox) take() []engine.Input {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := b.items
	b.items = nil
	return items
}
