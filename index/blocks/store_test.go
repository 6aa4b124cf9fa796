package blocks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zeebo/blake3"
	bolt "go.etcd.io/bbolt"

	"ferry/proto"
)

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	s := openStore(t, dir, smallPacks)
	bs := randBlocks(rng, 200, 1, 8<<10)
	bs = append(bs, Block{Hash: blake3.Sum256(nil)}) // the empty block
	big := make([]byte, MaxBlockSize)
	big[12345] = 1
	bs = append(bs, Block{Hash: blake3.Sum256(big), Data: big})
	mustPut(t, s, bs[:100])
	mustPut(t, s, bs[100:])
	checkBlocks(t, s, bs)
	for _, b := range bs {
		if ok, err := s.Has(b.Hash); err != nil || !ok {
			t.Fatalf("has %s = %v, %v", b.Hash, ok, err)
		}
	}

	st := mustStats(t, s)
	var want int64
	for _, b := range bs {
		want += int64(len(b.Data))
	}
	if st.Blocks != int64(len(bs)) || st.BlockBytes != want || st.GarbageBytes != 0 {
		t.Errorf("stats %+v, want %d blocks of %d bytes and no garbage", st, len(bs), want)
	}
	sizes := packSizes(t, dir)
	if st.Packs != int64(len(sizes)) || st.PackBytes != sumSizes(sizes) || st.Packs < 10 {
		t.Errorf("stats %+v, pack files %v", st, sizes)
	}
	if overhead := st.PackBytes - want; overhead != st.Packs*packHeaderSize+st.Blocks*recordHeaderSize {
		t.Errorf("pack bytes %d for %d data bytes: overhead %d", st.PackBytes, want, overhead)
	}
	checkConsistent(t, s)
}

func TestGetReusesBuffer(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	bs := randBlocks(rand.New(rand.NewPCG(3, 4)), 1, 1000, 1000)
	mustPut(t, s, bs)
	buf := make([]byte, 10, 4096)
	data, err := s.Get(bs[0].Hash, buf)
	if err != nil {
		t.Fatal(err)
	}
	if &data[0] != &buf[:1][0] {
		t.Error("Get did not read into a large enough buffer")
	}
	small := make([]byte, 10)
	if data, err = s.Get(bs[0].Hash, small); err != nil || len(data) != 1000 {
		t.Fatalf("get with a small buffer: %d bytes, %v", len(data), err)
	}
}

func TestDedup(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	dir := t.TempDir()
	s := openStore(t, dir, smallPacks)
	bs := randBlocks(rng, 100, 100, 4<<10)
	mustPut(t, s, bs)
	st, sizes := mustStats(t, s), packSizes(t, dir)

	mustPut(t, s, bs)     // all known
	mustPut(t, s, bs[:3]) // known, again
	if st2, sizes2 := mustStats(t, s), packSizes(t, dir); st2 != st || !mapsEqual(sizes, sizes2) {
		t.Fatalf("storing the same blocks again changed the store: %+v -> %+v, %v -> %v", st, st2, sizes, sizes2)
	}

	// A batch with new blocks, each several times, and known ones.
	fresh := randBlocks(rng, 5, 100, 4<<10)
	batch := append([]Block{fresh[0], bs[7], fresh[0]}, fresh...)
	batch = append(batch, fresh[4], bs[9])
	mustPut(t, s, batch)
	st2 := mustStats(t, s)
	var freshBytes int64
	for _, b := range fresh {
		freshBytes += int64(len(b.Data))
	}
	if st2.Blocks != st.Blocks+5 || st2.BlockBytes != st.BlockBytes+freshBytes {
		t.Errorf("stats %+v after adding 5 blocks to %+v", st2, st)
	}
	if grown := sumSizes(packSizes(t, dir)) - sumSizes(sizes); grown != freshBytes+5*recordHeaderSize &&
		grown != freshBytes+5*recordHeaderSize+packHeaderSize {
		t.Errorf("packs grew %d bytes for 5 new blocks of %d bytes", grown, freshBytes)
	}
	checkBlocks(t, s, append(bs, fresh...))
	checkConsistent(t, s)
}

func mapsEqual(a, b map[uint64]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestPutRefuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	good := randBlocks(rng, 3, 10, 100)
	wrong := randBlocks(rng, 1, 10, 100)[0]
	wrong.Data = append([]byte(nil), wrong.Data...)
	wrong.Data[0] ^= 1
	big := make([]byte, MaxBlockSize+1)
	tooBig := Block{Hash: blake3.Sum256(big), Data: big}
	tests := []struct {
		name  string
		batch []Block
		want  error
	}{
		{"mismatch", append(good[:2:2], wrong, good[2]), errMismatch},
		{"mismatch alone", []Block{wrong}, errMismatch},
		{"oversize", []Block{good[0], tooBig}, errTooLarge},
		{"batch too large", make([]Block, MaxBatch+1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, Options{})
			err := s.Put(tt.batch)
			if err == nil {
				t.Fatal("Put accepted the batch")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Put: %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "blocks: put") {
				t.Errorf("error %q does not say what failed", err)
			}
			checkGone(t, s, good)
			if st := mustStats(t, s); st != (Stats{}) {
				t.Errorf("refused batch left %+v", st)
			}
			if n := len(packSizes(t, dir)); n != 0 {
				t.Errorf("refused batch left %d pack files", n)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	mustPut(t, s, randBlocks(rand.New(rand.NewPCG(9, 10)), 3, 10, 100))
	checkGone(t, s, randBlocks(rand.New(rand.NewPCG(11, 12)), 3, 10, 100))
}

func TestReopen(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	dir := t.TempDir()
	s, err := Open(dir, smallPacks)
	if err != nil {
		t.Fatal(err)
	}
	bs := randBlocks(rng, 150, 100, 2<<10)
	mustPut(t, s, bs)
	st := mustStats(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(bs[0].Hash, nil); err == nil {
		t.Error("Get after Close succeeded")
	}
	if err := s.Put(bs[:1]); err == nil {
		t.Error("Put after Close succeeded")
	}

	s = openStore(t, dir, smallPacks)
	if st2 := mustStats(t, s); st2 != st {
		t.Fatalf("stats %+v after reopening, were %+v", st2, st)
	}
	checkBlocks(t, s, bs)
	checkConsistent(t, s)
	// The last pack is not full: Put goes on appending to it.
	more := randBlocks(rng, 2, 100, 200)
	mustPut(t, s, more)
	if st2 := mustStats(t, s); st2.Packs != st.Packs {
		t.Errorf("%d packs after a small Put, were %d: the last one was not resumed", st2.Packs, st.Packs)
	}
	checkBlocks(t, s, append(bs, more...))
	checkConsistent(t, s)
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir, Options{})
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second Open: %v, want a locked error", err)
	}
}

// TestOpenAfterTornWrite simulates what a crash leaves: uncommitted bytes
// after the last committed block of a pack, a pack no transaction recorded,
// and a pack emptied by GC but not yet removed.
func TestOpenAfterTornWrite(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	dir := t.TempDir()
	s, err := Open(dir, smallPacks)
	if err != nil {
		t.Fatal(err)
	}
	bs := randBlocks(rng, 100, 100, 4<<10)
	mustPut(t, s, bs)
	st := mustStats(t, s)
	s.Close()

	sizes := packSizes(t, dir)
	var last uint64
	for id := range sizes {
		last = max(last, id)
	}
	// A torn record: a whole header and part of the data.
	torn := randBlocks(rng, 1, 1000, 1000)[0]
	tail := append(appendRecordHeader(nil, torn.Hash, len(torn.Data)), torn.Data[:500]...)
	appendFile(t, filepath.Join(dir, "packs", packName(last)), tail)
	// A new pack with a whole record whose transaction never committed.
	orphan := appendPackHeader(nil, last+1)
	orphan = append(appendRecordHeader(orphan, torn.Hash, len(torn.Data)), torn.Data...)
	appendFile(t, filepath.Join(dir, "packs", packName(last+1)), orphan)
	// A copy of a recorded pack under an unused id.
	data, err := os.ReadFile(filepath.Join(dir, "packs", packName(last)))
	if err != nil {
		t.Fatal(err)
	}
	appendFile(t, filepath.Join(dir, "packs", packName(last+7)), data)
	// Files of other names are not the store's business.
	appendFile(t, filepath.Join(dir, "packs", "notes.txt"), []byte("x"))
	os.Remove(filepath.Join(dir, "packs", "notes.txt"))

	s = openStore(t, dir, smallPacks)
	if after := packSizes(t, dir); !mapsEqual(after, sizes) {
		t.Errorf("pack files after Open %v, want %v", after, sizes)
	}
	if st2 := mustStats(t, s); st2 != st {
		t.Errorf("stats %+v, want %+v", st2, st)
	}
	checkGone(t, s, []Block{torn})
	checkBlocks(t, s, bs)
	checkConsistent(t, s)
	mustPut(t, s, []Block{torn})
	checkBlocks(t, s, append(bs, torn))
	checkConsistent(t, s)
}

func appendFile(t testing.TB, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRebuild(t *testing.T) {
	for _, how := range []string{"missing", "empty", "interrupted"} {
		t.Run(how, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(17, 18))
			dir := t.TempDir()
			s, err := Open(dir, smallPacks)
			if err != nil {
				t.Fatal(err)
			}
			bs := randBlocks(rng, 120, 100, 4<<10)
			mustPut(t, s, bs)
			mustPut(t, s, append(bs[:10:10], randBlocks(rng, 1, 10, 10)...))
			st := mustStats(t, s)
			s.Close()
			// A torn tail too.
			sizes := packSizes(t, dir)
			var last uint64
			for id := range sizes {
				last = max(last, id)
			}
			appendFile(t, filepath.Join(dir, "packs", packName(last)), []byte("FBLK\x00\x00"))

			path := filepath.Join(dir, "blocks.db")
			switch how {
			case "interrupted":
				// A rebuild that stopped before it indexed the last
				// pack.
				interruptRebuild(t, path, last)
			default:
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			}
			if how == "empty" {
				// What a crash leaves right after bbolt created the file.
				db, err := bolt.Open(path, 0o600, nil)
				if err != nil {
					t.Fatal(err)
				}
				db.Close()
			}
			s = openStore(t, dir, smallPacks)
			if st2 := mustStats(t, s); st2 != st {
				t.Errorf("stats %+v after rebuilding, were %+v", st2, st)
			}
			checkBlocks(t, s, bs)
			checkConsistent(t, s)
		})
	}
}

// interruptRebuild makes the database at path look like a rebuild that
// stopped before it indexed pack last.
func interruptRebuild(t *testing.T, path string, last uint64) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketInfo).Put(keyRebuild, []byte{1}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketPacks).Delete(packKey(last)); err != nil {
			return err
		}
		var gone [][]byte
		blocks := tx.Bucket(bucketBlocks)
		if err := blocks.ForEach(func(k, v []byte) error {
			if loc, err := decodeLocation(v); err == nil && loc.pack == last {
				gone = append(gone, k)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range gone {
			if err := blocks.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentReads reads and verifies blocks while others are stored and
// GC drops blocks and moves the ones that stay, through a cache of two open
// packs: no read of a block that stays may fail, and Verify may find no
// damage. Each round stores new blocks to keep mixed with blocks to drop,
// and readers read the newest ones most, so that GC moves blocks as they
// are read.
func TestConcurrentReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	s := openStore(t, t.TempDir(), Options{PackSize: 16 << 10, MaxOpenPacks: 2, MinLive: 0.9})
	var kept sync.Map // proto.Hash → true
	var newest, all atomic.Pointer[[]Block]
	newest.Store(&[]Block{})
	all.Store(&[]Block{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for r := range 4 {
		wg.Go(func() { errs <- readUntil(s, stop, r, &newest, &all) })
	}
	wg.Go(func() { errs <- verifyUntil(t.Context(), s, stop) })
	var moved int64
	const rounds = 30
	for range rounds {
		bs := randBlocks(rng, 40, 100, 1<<10)
		mustPut(t, s, bs)
		var keep []Block
		for i, b := range bs {
			if i%2 == 0 {
				keep = append(keep, b)
				kept.Store(b.Hash, true)
			}
		}
		newest.Store(&keep)
		grown := append(slices.Clone(*all.Load()), keep...)
		all.Store(&grown)
		st, err := s.GC(t.Context(), func(h proto.Hash) bool { _, ok := kept.Load(h); return ok })
		if err != nil {
			t.Fatal(err)
		}
		moved += st.Moved
	}
	close(stop)
	wg.Wait()
	for range 5 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if moved < rounds*20/2 {
		t.Errorf("gc moved %d blocks in %d rounds: the blocks read did not move", moved, rounds)
	}
	checkBlocks(t, s, *all.Load())
	checkConsistent(t, s)
}

// readUntil reads blocks that stay, newest ones most, until stop closes.
func readUntil(s *Store, stop chan struct{}, r int, newest, all *atomic.Pointer[[]Block]) error {
	var buf []byte
	for i := r; ; i++ {
		select {
		case <-stop:
			return nil
		default:
		}
		bs := *newest.Load()
		if i%3 == 0 {
			bs = *all.Load()
		}
		if len(bs) == 0 {
			runtime.Gosched()
			continue
		}
		b := bs[i%len(bs)]
		data, err := s.Get(b.Hash, buf)
		if err != nil {
			return err
		}
		if !bytes.Equal(data, b.Data) {
			return fmt.Errorf("get %s: wrong data", b.Hash)
		}
		buf = data
	}
}

// verifyUntil runs Verify until stop closes and fails on any damage.
func verifyUntil(ctx context.Context, s *Store, stop chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		rep, err := s.Verify(ctx, VerifyOptions{})
		if err != nil {
			return err
		}
		if rep.DamagedBlocks > 0 {
			return rep.Damaged[0].Err
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		opts Options
		ok   bool
	}{
		{Options{}, true},
		{Options{PackSize: 1 << 30, MinLive: 1, MaxOpenPacks: 1}, true},
		{Options{PackSize: -1}, false},
		{Options{PackSize: 1<<30 + 1}, false},
		{Options{MinLive: -0.1}, false},
		{Options{MinLive: 1.1}, false},
		{Options{MaxOpenPacks: -1}, false},
	}
	for _, tt := range tests {
		o := tt.opts
		err := o.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%+v: %v", tt.opts, err)
		}
		if err == nil && (o.PackSize == 0 || o.MinLive == 0 || o.MaxOpenPacks == 0 || o.Logger == nil) {
			t.Errorf("%+v: defaults not filled: %+v", tt.opts, o)
		}
	}
}
