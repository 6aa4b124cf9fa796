package blocks

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/zeebo/blake3"
	bolt "go.etcd.io/bbolt"

	"ferry/proto"
)

// smallPacks makes packs small enough that a test fills many.
var smallPacks = Options{PackSize: 64 << 10}

func openStore(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// randBlocks returns n blocks of random data between minSize and maxSize
// bytes.
func randBlocks(rng *rand.Rand, n, minSize, maxSize int) []Block {
	bs := make([]Block, n)
	for i := range bs {
		data := make([]byte, minSize+rng.IntN(maxSize-minSize+1))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		bs[i] = Block{Hash: blake3.Sum256(data), Data: data}
	}
	return bs
}

func mustPut(t testing.TB, s *Store, bs []Block) {
	t.Helper()
	if err := s.Put(bs); err != nil {
		t.Fatal(err)
	}
}

func mustStats(t testing.TB, s *Store) Stats {
	t.Helper()
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// checkBlocks fails unless every block reads back as stored.
func checkBlocks(t testing.TB, s *Store, bs []Block) {
	t.Helper()
	var buf []byte
	for _, b := range bs {
		data, err := s.Get(b.Hash, buf)
		if err != nil {
			t.Fatalf("get %s: %v", b.Hash, err)
		}
		if !bytes.Equal(data, b.Data) {
			t.Fatalf("get %s: wrong data", b.Hash)
		}
		buf = data
	}
}

// checkGone fails unless no block of bs is in the store.
func checkGone(t testing.TB, s *Store, bs []Block) {
	t.Helper()
	for _, b := range bs {
		if ok, err := s.Has(b.Hash); err != nil || ok {
			t.Fatalf("has %s = %v, %v; want false", b.Hash, ok, err)
		}
		if _, err := s.Get(b.Hash, nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get %s: %v, want ErrNotFound", b.Hash, err)
		}
	}
}

// packSizes returns the size of every pack file, by id.
func packSizes(t testing.TB, dir string) map[uint64]int64 {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(dir, "packs"))
	if err != nil {
		t.Fatal(err)
	}
	sizes := make(map[uint64]int64)
	for _, de := range des {
		id, ok := parsePackName(de.Name())
		if !ok {
			t.Fatalf("unexpected file %s in packs", de.Name())
		}
		fi, err := de.Info()
		if err != nil {
			t.Fatal(err)
		}
		sizes[id] = fi.Size()
	}
	return sizes
}

func sumSizes(sizes map[uint64]int64) int64 {
	var n int64
	for _, v := range sizes {
		n += v
	}
	return n
}

// location returns where the store keeps block h.
func mustLocation(t testing.TB, s *Store, h proto.Hash) location {
	t.Helper()
	loc, err := s.lookup(h)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// checkConsistent compares the database with itself and with the pack
// files, as a store must be after Open and after every successful
// operation: each pack record counts exactly the locations in it, each
// location lies inside its pack's committed bytes, records do not overlap,
// and the pack files are exactly the recorded packs, each as long as its
// committed length.
func checkConsistent(t testing.TB, s *Store) {
	t.Helper()
	counted := make(map[uint64]packMeta)
	type span struct{ off, end int64 }
	spans := make(map[uint64][]span)
	metas := make(map[uint64]packMeta)
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketPacks).ForEach(func(k, v []byte) error {
			m, err := decodePackMeta(v)
			if err != nil {
				return err
			}
			metas[binary.BigEndian.Uint64(k)] = m
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketBlocks).ForEach(func(k, v []byte) error {
			loc, err := decodeLocation(v)
			if err != nil {
				return err
			}
			m, ok := metas[loc.pack]
			if !ok {
				t.Errorf("block %x is in pack %d, which has no record", k, loc.pack)
				return nil
			}
			if loc.end() > m.length {
				t.Errorf("block %x ends at %d, past its pack's committed %d", k, loc.end(), m.length)
			}
			c := counted[loc.pack]
			c.blocks++
			c.dataBytes += int64(loc.length)
			counted[loc.pack] = c
			spans[loc.pack] = append(spans[loc.pack], span{loc.offset, loc.end()})
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, m := range metas {
		c := counted[id]
		if c.blocks != m.blocks || c.dataBytes != m.dataBytes {
			t.Errorf("pack %d: record says %d blocks %d bytes, locations %d blocks %d bytes", id, m.blocks, m.dataBytes, c.blocks, c.dataBytes)
		}
		sps := spans[id]
		slices.SortFunc(sps, func(a, b span) int { return cmp.Compare(a.off, b.off) })
		for i := 1; i < len(sps); i++ {
			if sps[i].off < sps[i-1].end {
				t.Errorf("pack %d: blocks at %d and %d overlap", id, sps[i-1].off, sps[i].off)
			}
		}
	}
	sizes := packSizes(t, s.dir)
	for id, m := range metas {
		if size, ok := sizes[id]; !ok {
			t.Errorf("pack %d has a record and no file", id)
		} else if size != m.length {
			t.Errorf("pack %d: file is %d bytes, committed %d", id, size, m.length)
		}
	}
	for id := range sizes {
		if _, ok := metas[id]; !ok {
			t.Errorf("pack file %d has no record", id)
		}
	}
}
