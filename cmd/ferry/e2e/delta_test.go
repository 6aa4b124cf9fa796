package e2e

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// Inserting one byte in the middle of a 64 MiB file moves only the changed
// blocks and block-list entries: well under 256 KiB in both directions.
func TestOneByteInsertIsCheap(t *testing.T) {
	a, b := newDevice(t, "A"), newDevice(t, "B")
	data := randomBytes(5, 64<<20)
	writeFile(t, a.path("big.bin"), data, 0o644)
	pair(a, b)
	a.start()
	b.start()
	converge(t, time.Minute, a, b)
	p := a.peer(b.id)
	before := p.InBytes + p.OutBytes
	mid := len(data) / 2
	changed := append(append(bytes.Clone(data[:mid]), 'X'), data[mid:]...)
	writeFile(t, a.path("big.bin"), changed, 0o644)
	a.ferry("scan", "docs")
	waitFor(t, 30*time.Second, "B has the edit", func() bool {
		got, _ := os.ReadFile(b.path("big.bin"))
		return bytes.Equal(got, changed)
	})
	converge(t, 30*time.Second, a, b)
	p = a.peer(b.id)
	wire := p.InBytes + p.OutBytes - before
	t.Logf("1-byte insert in 64 MiB: %d bytes both ways", wire)
	if wire >= 256<<10 {
		t.Fatalf("1-byte insert cost %d bytes, want < 256 KiB", wire)
	}
	// The changed block plus the changed entries of the block list: about
	// 72 KB for this data. The whole list of a 64 MiB file alone is about
	// 40 KiB more, so sending it instead of a delta fails this.
	if wire >= 100<<10 {
		t.Fatalf("1-byte insert cost %d bytes, want < 100 KiB: is the block list sent whole?", wire)
	}
}
