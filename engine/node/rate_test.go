package node

import (
	"math"
	"testing"
	"time"
)

func TestMeter(t *testing.T) {
	var m meter
	t0 := time.Unix(1000, 0)
	if r := m.rate(); r != 0 {
		t.Fatalf("rate without samples = %v", r)
	}
	m.sample(t0, 0)
	if r := m.rate(); r != 0 {
		t.Fatalf("rate from one sample = %v", r)
	}
	// 1 MB/s for 3 s.
	for i := 1; i <= 3; i++ {
		m.sample(t0.Add(time.Duration(i)*time.Second), int64(i)*1e6)
	}
	if r := m.rate(); math.Abs(r-1e6) > 1 {
		t.Fatalf("rate = %v, want 1e6", r)
	}
	// Then it stalls: after a full window without progress the rate is 0.
	for i := 4; i <= 4+rateWindow; i++ {
		m.sample(t0.Add(time.Duration(i)*time.Second), 3e6)
	}
	if r := m.rate(); r != 0 {
		t.Fatalf("rate after a stall = %v, want 0", r)
	}
	// The window slides: 2 MB/s over the last samples.
	base := 4 + rateWindow
	for i := 1; i <= rateWindow; i++ {
		m.sample(t0.Add(time.Duration(base+i)*time.Second), 3e6+int64(i)*2e6)
	}
	if r := m.rate(); math.Abs(r-2e6) > 1 {
		t.Fatalf("rate = %v, want 2e6", r)
	}
	// A counter that went backwards (a reset) reads as 0, never negative.
	m.sample(t0.Add(time.Duration(base+rateWindow+1)*time.Second), 5)
	if r := m.rate(); r != 0 {
		t.Fatalf("rate after a reset = %v, want 0", r)
	}
}
