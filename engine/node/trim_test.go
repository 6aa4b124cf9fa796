package node

import (
	"testing"
	"time"
)

// Memory is given back once per quiet spell, after idleTrimAfter without
// activity, and not while bytes move.
func TestIdleTrim(t *testing.T) {
	var tr idleTrim
	now := time.Unix(1_700_000_000, 0)
	step := func(d time.Duration, activity int64) bool {
		now = now.Add(d)
		return tr.sample(now, activity)
	}
	if step(0, 0) {
		t.Fatal("trimmed at the first sample")
	}
	for range 10 { // busy: the counter moves every second
		if step(time.Second, tr.last+idleNoise) {
			t.Fatal("trimmed while busy")
		}
	}
	if step(idleTrimAfter-time.Second, tr.last+100) { // a ping is quiet
		t.Fatal("trimmed before the quiet spell was long enough")
	}
	if !step(time.Second, tr.last) {
		t.Fatal("not trimmed after a quiet spell")
	}
	if step(time.Hour, tr.last) {
		t.Fatal("trimmed twice in one quiet spell")
	}
	step(time.Second, tr.last+idleNoise) // activity again
	if !step(idleTrimAfter, tr.last) {
		t.Fatal("not trimmed after the next quiet spell")
	}
}
