package node

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"ferry/proto"
	"ferry/web"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time       { return c.t }
func (c *fakeClock) add(d time.Duration)  { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock            { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }
func pendingDev(i int) (d proto.DeviceID) { binary.BigEndian.PutUint64(d[:], uint64(i)+1); return d }
func pendingAddr(i int) string            { return fmt.Sprintf("10.%d.%d.%d:22000", i>>16&255, i>>8&255, i&255) }
func pendingStatus(t *testing.T, m *connManager) []web.PendingDevice {
	t.Helper()
	n := &Node{conns: m, folders: map[string]*folderHandle{}}
	st, err := n.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Pending
}

func newPendingManager(t *testing.T, clock *fakeClock) *connManager {
	return newConnManager(testKeypair(t, proto.DeviceID{}), &recordingHandler{}, slog.New(slog.DiscardHandler), clock.now)
}

// A stranger who makes a fresh key for every connection, from many
// addresses, never grows the pending list past its bound; a device seen
// after the flood is listed, in place of the one seen longest ago.
func TestPendingListIsBounded(t *testing.T) {
	clock := newFakeClock()
	m := newPendingManager(t, clock)
	const fresh = 7119 // in 20 s, from 64 addresses
	for i := range fresh {
		m.addPending(pendingDev(i), pendingAddr(i%64))
		clock.add(20 * time.Second / fresh)
	}
	list := pendingStatus(t, m)
	if len(list) > 32 || len(m.pending) > 32 {
		t.Fatalf("%d fresh keys left %d pending entries (%d listed), want at most 32", fresh, len(m.pending), len(list))
	}
	clock.add(time.Minute)
	late := pendingDev(fresh)
	m.addPending(late, "192.0.2.1:22000")
	list = pendingStatus(t, m)
	found := false
	for _, p := range list {
		found = found || p.ID == late.String()
	}
	if !found || len(list) > 32 {
		t.Fatalf("after the flood: %d listed, the new device listed: %v", len(list), found)
	}
}

// An entry not seen for an hour is neither listed nor kept; one seen again
// stays.
func TestPendingEntriesExpire(t *testing.T) {
	clock := newFakeClock()
	m := newPendingManager(t, clock)
	old, again := pendingDev(1), pendingDev(2)
	m.addPending(old, "10.0.0.1:1")
	m.addPending(again, "10.0.0.2:1")
	clock.add(59 * time.Minute)
	m.addPending(again, "10.0.0.2:2")
	clock.add(2 * time.Minute)
	list := pendingStatus(t, m)
	if len(list) != 1 || list[0].ID != again.String() || list[0].Address != "10.0.0.2:2" {
		t.Fatalf("listed %+v, want only the device seen a minute ago, at its new address", list)
	}
	m.addPending(pendingDev(3), "10.0.0.3:1")
	if _, ok := m.pending[old]; ok {
		t.Fatal("an entry unseen for over an hour is still kept")
	}
}

// One address adds only a few new devices a minute, so that it cannot push
// everyone else out of the list; a device already listed is refreshed
// whatever its address's rate, and IPv6 addresses of one /64 count as one.
func TestPendingRateLimitedPerAddress(t *testing.T) {
	clock := newFakeClock()
	m := newPendingManager(t, clock)
	other := pendingDev(1000)
	m.addPending(other, "192.0.2.7:5")
	for i := range 100 {
		m.addPending(pendingDev(i), fmt.Sprintf("198.51.100.1:%d", 1000+i))
	}
	if n := len(pendingStatus(t, m)); n != 1+4 {
		t.Fatalf("one address added %d new devices in a minute, want 4", n-1)
	}
	for i := range 100 {
		m.addPending(pendingDev(2000+i), fmt.Sprintf("[2001:db8:1:2::%x]:22000", i+1))
	}
	if n := len(pendingStatus(t, m)); n != 1+4+4 {
		t.Fatalf("one IPv6 /64 added %d new devices in a minute, want 4", n-5)
	}
	clock.add(10 * time.Second)
	m.addPending(pendingDev(0), "198.51.100.1:9") // listed already: refreshed
	for _, p := range pendingStatus(t, m) {
		if p.ID == pendingDev(0).String() && p.Address != "198.51.100.1:9" {
			t.Fatalf("a listed device seen again was not refreshed: %+v", p)
		}
	}
	clock.add(time.Minute)
	m.addPending(pendingDev(500), "198.51.100.1:77")
	if _, ok := m.pending[pendingDev(500)]; !ok {
		t.Fatal("a new device from the address was refused a minute later")
	}
}

// The sources whose rate is tracked are bounded too: one that cannot be
// tracked adds nothing until older windows end.
func TestPendingSourcesBounded(t *testing.T) {
	clock := newFakeClock()
	m := newPendingManager(t, clock)
	for i := range 5000 {
		m.addPending(pendingDev(i), pendingAddr(i))
	}
	if n := len(m.pendingRate.sources); n > 1024 {
		t.Fatalf("%d sources tracked, want at most 1024", n)
	}
	clock.add(time.Minute)
	m.addPending(pendingDev(9999), pendingAddr(9999))
	if _, ok := m.pending[pendingDev(9999)]; !ok {
		t.Fatal("a new source was refused once the old windows ended")
	}
}
