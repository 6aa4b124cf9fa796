package discovery

import (
	"slices"
	"sync"

	"ferry/proto"
)

// Resolver returns the addresses at which a device may be reached.
type Resolver interface {
	Lookup(dev proto.DeviceID) []string
}

// Static resolves devices to configured addresses.
type Static struct {
	mu    sync.RWMutex
	addrs map[proto.DeviceID][]string
}

// NewStatic returns an empty static resolver.
func NewStatic() *Static { return &Static{addrs: make(map[proto.DeviceID][]string)} }

// Set replaces the addresses of dev; no addresses forgets it.
func (s *Static) Set(dev proto.DeviceID, addrs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(addrs) == 0 {
		delete(s.addrs, dev)
		return
	}
	s.addrs[dev] = slices.Clone(addrs)
}

// Lookup implements Resolver.
func (s *Static) Lookup(dev proto.DeviceID) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.addrs[dev])
}
