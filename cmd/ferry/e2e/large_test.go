package e2e

import (
	"crypto/sha256"
	"io"
	"os"
	"testing"
	"time"
)

// A file of several GiB (offsets past 2^31 and 2^32) syncs intact. It is
// mostly sparse, with random regions, so it costs disk but little time:
// repeated blocks are fetched once.
func TestMultiGiBFile(t *testing.T) {
	const size = 5<<30 + 12345
	a, b := newDevice(t, "A"), newDevice(t, "B")
	f, err := os.Create(a.path("disk.img"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for i, off := range []int64{0, 1 << 30, 2<<30 - 1000, 4<<30 + 7, size - 3<<20} {
		if _, err := f.WriteAt(randomBytes(uint64(i+100), 3<<20), off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	pair(a, b)
	a.start()
	b.start()
	waitFor(t, 5*time.Minute, "B in sync", func() bool {
		s := b.status()
		return b.inSync() && len(s.Folders) == 1 && s.Folders[0].NeedFiles == 0 && fileExists(b.path("disk.img"))
	})
	if sumFile(t, a.path("disk.img")) != sumFile(t, b.path("disk.img")) {
		t.Fatal("disk.img differs on B")
	}
	if sent := a.peer(b.id).OutBytes; sent > 256<<20 {
		t.Fatalf("sent %d bytes for a file with 15 MiB of distinct data", sent)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func sumFile(t *testing.T, p string) [32]byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}
