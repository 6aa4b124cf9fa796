package index

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"ferry/proto"
)

var (
	bucketMeta   = []byte("meta")
	bucketPeers  = []byte("peers")
	bucketLocal  = []byte("local")
	bucketSeq    = []byte("seq")
	bucketBlocks = []byte("blocks")
	bucketRemote = []byte("remote")
	subBuckets   = [][]byte{bucketMeta, bucketPeers, bucketLocal, bucketSeq, bucketBlocks, bucketRemote, bucketSummary, bucketNeed}

	keyIndexID = []byte("index-id")
	keyLastSeq = []byte("last-seq")
)

// PeerMeta says how much of a peer's index of a folder we hold.
type PeerMeta struct {
	IndexID  uint64
	Sequence int64
}

// Meta describes a folder's index.
type Meta struct {
	IndexID      uint64 // identifies this device's index of the folder
	LastSequence int64  // the highest local sequence number stored
	Peers        map[proto.DeviceID]PeerMeta
}

// Folder is one folder's records. It is safe for concurrent use. A read
// calls its fn inside a read transaction: fn must not write to the index.
type Folder struct {
	db *bolt.DB
	id string
}

// buckets are one folder's buckets inside a transaction.
type buckets struct {
	meta, peers, local, seq, blocks, remote, summary, need *bolt.Bucket
}

func (f *Folder) buckets(tx *bolt.Tx) (buckets, error) {
	fb := tx.Bucket(bucketFolders).Bucket([]byte(f.id))
	if fb == nil {
		return buckets{}, fmt.Errorf("folder %q is not in the index", f.id)
	}
	b := buckets{
		meta: fb.Bucket(bucketMeta), peers: fb.Bucket(bucketPeers), local: fb.Bucket(bucketLocal),
		seq: fb.Bucket(bucketSeq), blocks: fb.Bucket(bucketBlocks), remote: fb.Bucket(bucketRemote),
		summary: fb.Bucket(bucketSummary), need: fb.Bucket(bucketNeed),
	}
	if b.meta == nil || b.peers == nil || b.local == nil || b.seq == nil || b.blocks == nil || b.remote == nil || b.summary == nil || b.need == nil {
		return buckets{}, fmt.Errorf("folder %q: index is missing buckets", f.id)
	}
	return b, nil
}

// view runs fn in a read transaction with the folder's buckets.
func (f *Folder) view(op string, fn func(b buckets) error) error {
	err := f.db.View(func(tx *bolt.Tx) error {
		b, err := f.buckets(tx)
		if err != nil {
			return err
		}
		return fn(b)
	})
	if err != nil {
		return fmt.Errorf("%s in folder %q: %w", op, f.id, err)
	}
	return nil
}

// Meta returns the folder's index ID, last sequence and peer positions.
func (f *Folder) Meta() (Meta, error) {
	var m Meta
	err := f.view("read meta", func(b buckets) error {
		var err error
		if m.IndexID, err = getUint64(b.meta, keyIndexID); err != nil {
			return err
		}
		seq, err := getUint64(b.meta, keyLastSeq)
		m.LastSequence = int64(seq)
		if err != nil {
			return err
		}
		m.Peers, err = readPeers(b.peers)
		return err
	})
	return m, err
}

func readPeers(peers *bolt.Bucket) (map[proto.DeviceID]PeerMeta, error) {
	out := make(map[proto.DeviceID]PeerMeta)
	err := peers.ForEach(func(k, v []byte) error {
		var dev proto.DeviceID
		if len(k) != len(dev) || len(v) != 16 {
			return fmt.Errorf("corrupt peer entry %x", k)
		}
		copy(dev[:], k)
		out[dev] = PeerMeta{
			IndexID:  binary.BigEndian.Uint64(v),
			Sequence: int64(binary.BigEndian.Uint64(v[8:])),
		}
		return nil
	})
	return out, err
}

func getUint64(b *bolt.Bucket, key []byte) (uint64, error) {
	v := b.Get(key)
	if len(v) != 8 {
		return 0, fmt.Errorf("corrupt %s", key)
	}
	return binary.BigEndian.Uint64(v), nil
}

// Each calls fn for every record of the folder: the local ones (with dev ==
// Local) first, then each remote device's, names in byte order. An error
// from fn stops the walk and is returned.
func (f *Folder) Each(fn func(dev proto.DeviceID, f proto.FileInfo) error) error {
	var fnErr error
	err := f.view("walk records", func(b buckets) error {
		call := func(dev proto.DeviceID) func(k, v []byte) error {
			return func(k, v []byte) error {
				rec, err := decodeRecord(string(k), v)
				if err != nil {
					return err
				}
				fnErr = fn(dev, rec)
				return fnErr
			}
		}
		if err := b.local.ForEach(call(Local)); err != nil {
			return err
		}
		return b.remote.ForEachBucket(func(k []byte) error {
			var dev proto.DeviceID
			if len(k) != len(dev) {
				return fmt.Errorf("corrupt remote device key %x", k)
			}
			copy(dev[:], k)
			return b.remote.Bucket(k).ForEach(call(dev))
		})
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// EachLocal calls fn for each of this device's records, by name, in one
// read transaction: fn must not write to the index.
func (f *Folder) EachLocal(fn func(proto.FileInfo) error) error {
	var fnErr error
	err := f.view("walk local records", func(b buckets) error {
		return b.local.ForEach(func(k, v []byte) error {
			rec, err := decodeRecord(string(k), v)
			if err != nil {
				return err
			}
			fnErr = fn(rec)
			return fnErr
		})
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// LocalSince calls fn with the local records whose sequence is above seq, in
// ascending sequence order, at most limit of them if limit > 0. An error from
// fn stops the walk and is returned.
func (f *Folder) LocalSince(seq int64, limit int, fn func(proto.FileInfo) error) error {
	var fnErr error
	err := f.view("read local records", func(b buckets) error {
		c := b.seq.Cursor()
		n := 0
		for k, name := c.Seek(seqKey(max(seq, 0) + 1)); k != nil && (limit <= 0 || n < limit); k, name = c.Next() {
			v := b.local.Get(name)
			if v == nil {
				return fmt.Errorf("sequence %d names %q, which has no record", binary.BigEndian.Uint64(k), name)
			}
			rec, err := decodeRecord(string(name), v)
			if err != nil {
				return err
			}
			if fnErr = fn(rec); fnErr != nil {
				return fnErr
			}
			n++
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// Get returns dev's record of name; dev is Local for this device's own.
func (f *Folder) Get(dev proto.DeviceID, name string) (proto.FileInfo, bool, error) {
	var rec proto.FileInfo
	found := false
	err := f.view("get "+name, func(b buckets) error {
		files := b.local
		if dev != Local {
			files = b.remote.Bucket(dev[:])
		}
		if files == nil {
			return nil
		}
		v := files.Get([]byte(name))
		if v == nil {
			return nil
		}
		found = true
		var err error
		rec, err = decodeRecord(name, v)
		return err
	})
	return rec, found && err == nil, err
}

// BlockSource finds a live local regular file holding the block with hash h
// and the block's offset in it.
func (f *Folder) BlockSource(h proto.Hash) (name string, offset int64, ok bool, err error) {
	err = f.view("find block "+h.String(), func(b buckets) error {
		k, v := b.blocks.Cursor().Seek(h[:])
		if k == nil || !bytes.HasPrefix(k, h[:]) {
			return nil
		}
		if len(k) == len(h) || (len(v) != blockEntryLen && len(v) != oldBlockEntryLen) {
			return fmt.Errorf("corrupt block map entry %x", k)
		}
		name, offset, ok = string(k[len(h):]), int64(binary.BigEndian.Uint64(v)), true
		return nil
	})
	if err != nil {
		return "", 0, false, err
	}
	return name, offset, ok, nil
}

// HasBlock reports whether the local record of the file name lists a block
// with hash h.
func (f *Folder) HasBlock(h proto.Hash, name string) (bool, error) {
	var ok bool
	err := f.view("find block "+h.String(), func(b buckets) error {
		ok = b.blocks.Get(blockKey(h, name)) != nil
		return nil
	})
	return ok, err
}

// Lengths of a block map entry: offset and size, or only the offset in an
// index written before entries held sizes.
const (
	blockEntryLen    = 12
	oldBlockEntryLen = 8
)

// HasBlockAt reports whether the local record of the file name lists want:
// a block with its hash, at its offset and of its size. The block map
// answers when it holds want's offset and size; a hash the file holds more
// than once (the map keeps its last offset) or an entry without a size is
// looked up in the record.
func (f *Folder) HasBlockAt(name string, want proto.Block) (bool, error) {
	var ok bool
	err := f.view("find block", func(b buckets) error {
		v := b.blocks.Get(blockKey(want.Hash, name))
		switch {
		case v == nil:
			return nil
		case len(v) == blockEntryLen && int64(binary.BigEndian.Uint64(v)) == want.Offset:
			ok = int32(binary.BigEndian.Uint32(v[8:])) == want.Size
			return nil
		}
		rec := b.local.Get([]byte(name))
		if rec == nil {
			return nil
		}
		var err error
		ok, err = recordHasBlock(name, rec, want)
		return err
	})
	return ok, err
}

func seqKey(seq int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(seq)) }
