package node

import (
	"net"
	"sync"
)

// Bounds on connections that have not proved who they are yet: in all, and
// from one address. A stranger can hold at most perAddr of them, each for
// at most handshakeTimeout.
const (
	maxUnauthenticated        = 256
	maxUnauthenticatedPerAddr = 16
)

// gate counts connections still in their handshake and refuses more than
// its bounds allow.
type gate struct {
	total, perAddr int

	mu     sync.Mutex
	n      int
	byAddr map[string]int
}

func newGate(total, perAddr int) *gate {
	return &gate{total: total, perAddr: perAddr, byAddr: make(map[string]int)}
}

// enter admits a connection from addr (host:port or host), or reports
// false when a bound is reached. leave must be called once it is
// authenticated or gone; calling it again does nothing.
func (g *gate) enter(addr string) (leave func(), ok bool) {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n >= g.total || g.byAddr[host] >= g.perAddr {
		return nil, false
	}
	g.n++
	g.byAddr[host]++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.n--
			if g.byAddr[host]--; g.byAddr[host] == 0 {
				delete(g.byAddr, host)
			}
		})
	}, true
}
