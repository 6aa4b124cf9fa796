package index

import (
	"encoding/binary"
	"testing"

	bolt "go.etcd.io/bbolt"

	"ferry/proto"
)

// HasBlockAt says yes only for a block the local record lists with that
// hash, at that offset and of that size: also for a hash the file holds
// twice (the block map keeps one offset of it) and for a block map entry
// written before entries carried the size.
func TestHasBlockAt(t *testing.T) {
	db, _ := openTemp(t)
	f := mustFolder(t, db, "f")
	a := file("a", 1, 1, 2, 1, 3) // hash 1 at offsets 0 and 20
	a.Blocks[3].Size, a.Size = 25, 55
	put(t, f, a, file("b", 2, 4))
	blk := func(off int64, size int32, h byte) proto.Block {
		return proto.Block{Offset: off, Size: size, Hash: hashOf(h)}
	}
	cases := []struct {
		desc string
		name string
		b    proto.Block
		want bool
	}{
		{"first block", "a", blk(0, 10, 1), true},
		{"second block", "a", blk(10, 10, 2), true},
		{"repeated hash, later offset", "a", blk(20, 10, 1), true},
		{"last block", "a", blk(30, 25, 3), true},
		{"longer than listed", "a", blk(10, 11, 2), false},
		{"shorter than listed", "a", blk(30, 10, 3), false},
		{"at another block's offset", "a", blk(10, 10, 1), false},
		{"inside a block", "a", blk(5, 10, 1), false},
		{"past the end", "a", blk(55, 10, 1), false},
		{"negative offset", "a", blk(-10, 10, 1), false},
		{"hash of another file", "a", blk(0, 10, 4), false},
		{"other file", "b", blk(0, 10, 4), true},
		{"no such file", "c", blk(0, 10, 1), false},
	}
	check := func(stage string) {
		t.Helper()
		for _, tc := range cases {
			got, err := f.HasBlockAt(tc.name, tc.b)
			if err != nil || got != tc.want {
				t.Errorf("%s: %s: HasBlockAt(%s, %+v) = %v, %v; want %v", stage, tc.desc, tc.name, tc.b, got, err, tc.want)
			}
		}
	}
	check("new index")

	// Entries of an index written before the block map held sizes.
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFolders).Bucket([]byte("f")).Bucket(bucketBlocks)
		c := b.Cursor()
		var keys, vals [][]byte
		for k, v := c.First(); k != nil; k, v = c.Next() {
			keys, vals = append(keys, append([]byte(nil), k...)), append(vals, append([]byte(nil), v[:8]...))
		}
		for i := range keys {
			if err := b.Put(keys[i], vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("old block map")
	if name, off, ok, err := f.BlockSource(hashOf(2)); err != nil || !ok || name != "a" || off != 10 {
		t.Fatalf("BlockSource on an old entry = %q, %d, %v, %v", name, off, ok, err)
	}

	put(t, f, proto.FileInfo{Name: "b", Type: proto.FileTypeFile, Deleted: true, Sequence: 3, Version: nil})
	if got, err := f.HasBlockAt("b", blk(0, 10, 4)); err != nil || got {
		t.Fatalf("a deleted file's block: %v, %v", got, err)
	}
}

// The block map entry of a new record holds the block's offset and size.
func TestBlockMapHoldsSize(t *testing.T) {
	db, _ := openTemp(t)
	f := mustFolder(t, db, "f")
	put(t, f, file("a", 1, 1))
	err := db.bolt.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketFolders).Bucket([]byte("f")).Bucket(bucketBlocks).Get(blockKey(hashOf(1), "a"))
		if len(v) != 12 || binary.BigEndian.Uint64(v) != 0 || binary.BigEndian.Uint32(v[8:]) != 10 {
			t.Errorf("block map entry % x, want offset 0 and size 10", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The block map answers for a block of a large file without reading its
// record; a hash the file repeats is found by walking the record.
func BenchmarkHasBlockAt(b *testing.B) {
	db, _ := openTemp(b)
	f := mustFolder(b, db, "f")
	const n = 16 << 10 // a 1 GiB file in 64 KiB blocks
	big := proto.FileInfo{Name: "big", Type: proto.FileTypeFile, Sequence: 1, Mode: 0o644}
	for i := range n {
		var h proto.Hash
		binary.BigEndian.PutUint32(h[:], uint32(i))
		if i == n-1 {
			h = big.Blocks[n/2].Hash // repeats the middle block
		}
		big.Blocks = append(big.Blocks, proto.Block{Offset: big.Size, Size: 64 << 10, Hash: h})
		big.Size += 64 << 10
	}
	err := f.Update(func(tx *Tx) error { return tx.PutLocal(big) })
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		blk  proto.Block
	}{{"map", big.Blocks[n/4]}, {"walk", big.Blocks[n/2]}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if ok, err := f.HasBlockAt("big", bc.blk); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
