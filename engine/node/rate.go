package node

import (
	"sync"
	"time"
)

const (
	// rateEvery is how often byte counters are sampled for rates.
	rateEvery = time.Second
	// rateWindow is how many samples a rate averages over.
	rateWindow = 5
)

// meter turns a growing byte count into a recent rate: the average over the
// last rateWindow samples, so a stalled transfer falls to zero within
// seconds and a busy one does not flicker.
type meter struct {
	mu      sync.Mutex
	samples [rateWindow + 1]sample
	n, next int
}

type sample struct {
	at    time.Time
	total int64
}

// sample records the count at a moment.
func (m *meter) sample(at time.Time, total int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples[m.next] = sample{at, total}
	m.next = (m.next + 1) % len(m.samples)
	m.n = min(m.n+1, len(m.samples))
}

// rate returns bytes per second between the oldest and newest sample.
func (m *meter) rate() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n < 2 {
		return 0
	}
	newest := m.samples[(m.next+len(m.samples)-1)%len(m.samples)]
	oldest := m.samples[(m.next+len(m.samples)-m.n)%len(m.samples)]
	dt := newest.at.Sub(oldest.at).Seconds()
	if dt <= 0 || newest.total < oldest.total {
		return 0
	}
	return float64(newest.total-oldest.total) / dt
}
