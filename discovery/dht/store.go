package dht

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	peer_store "github.com/anacrolix/dht/v2/peer-store"
)

// Bounds of the peers that other nodes announce to us and that we serve
// back to get_peers queries, as every DHT node does.
const (
	maxStoredKeys    = 4096
	maxPeersPerKey   = 16
	storedPeerExpiry = 2 * time.Hour
)

// peerStore is a bounded, expiring peer_store.Interface.
type peerStore struct {
	now     func() time.Time
	dropped *atomic.Int64

	mu   sync.Mutex
	keys map[peer_store.InfoHash]map[string]storedPeer
}

type storedPeer struct {
	addr krpc.NodeAddr
	at   time.Time
}

func newPeerStore(now func() time.Time, dropped *atomic.Int64) *peerStore {
	return &peerStore{now: now, dropped: dropped, keys: make(map[peer_store.InfoHash]map[string]storedPeer)}
}

func (s *peerStore) AddPeer(ih peer_store.InfoHash, na krpc.NodeAddr) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	peers := s.keys[ih]
	if peers == nil {
		if len(s.keys) >= maxStoredKeys {
			s.expire(now)
		}
		if len(s.keys) >= maxStoredKeys {
			s.dropped.Add(1)
			return
		}
		peers = make(map[string]storedPeer)
		s.keys[ih] = peers
	}
	k := na.String()
	if _, ok := peers[k]; !ok && len(peers) >= maxPeersPerKey {
		s.dropped.Add(1)
		return
	}
	peers[k] = storedPeer{addr: na, at: now}
}

func (s *peerStore) GetPeers(ih peer_store.InfoHash) []krpc.NodeAddr {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []krpc.NodeAddr
	for k, p := range s.keys[ih] {
		if now.Sub(p.at) > storedPeerExpiry {
			delete(s.keys[ih], k)
			continue
		}
		out = append(out, p.addr)
	}
	if len(s.keys[ih]) == 0 {
		delete(s.keys, ih)
	}
	return out
}

// expire deletes stale entries; s.mu is held.
func (s *peerStore) expire(now time.Time) {
	for ih, peers := range s.keys {
		for k, p := range peers {
			if now.Sub(p.at) > storedPeerExpiry {
				delete(peers, k)
			}
		}
		if len(peers) == 0 {
			delete(s.keys, ih)
		}
	}
}
