package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"ferry/proto"
)

// Tx is a write transaction on one folder, valid only inside Folder.Update.
type Tx struct {
	b       buckets
	lastSeq int64
}

// Update runs fn in one read-write transaction, committed if fn returns nil
// and rolled back otherwise.
func (f *Folder) Update(fn func(*Tx) error) error {
	err := f.db.Update(func(btx *bolt.Tx) error {
		b, err := f.buckets(btx)
		if err != nil {
			return err
		}
		last, err := getUint64(b.meta, keyLastSeq)
		if err != nil {
			return err
		}
		b.seq.FillPercent = 0.9 // sequence keys are mostly appended
		tx := &Tx{b: b, lastSeq: int64(last)}
		if err := fn(tx); err != nil {
			return err
		}
		if tx.lastSeq == int64(last) {
			return nil
		}
		return b.meta.Put(keyLastSeq, seqKey(tx.lastSeq))
	})
	if err != nil {
		return fmt.Errorf("update folder %q: %w", f.id, err)
	}
	return nil
}

// PutLocal stores this device's record of f.Name, replacing the one it had.
// f.Sequence must be positive and not used by another name; it becomes the
// folder's last sequence if it is higher. The block map then holds f's blocks
// if f is a live regular file, and no longer the replaced record's.
func (tx *Tx) PutLocal(f proto.FileInfo) error {
	if err := checkRecord(&f); err != nil {
		return err
	}
	if f.Sequence <= 0 {
		return fmt.Errorf("put %q: sequence %d is not positive", f.Name, f.Sequence)
	}
	name, seq := []byte(f.Name), seqKey(f.Sequence)
	if owner := tx.b.seq.Get(seq); owner != nil && !bytes.Equal(owner, name) {
		return fmt.Errorf("put %q: sequence %d already belongs to %q", f.Name, f.Sequence, owner)
	}
	if err := tx.removeLocal(f.Name); err != nil {
		return err
	}
	if err := tx.b.local.Put(name, appendRecord(nil, &f)); err != nil {
		return fmt.Errorf("put %q: %w", f.Name, err)
	}
	if err := tx.b.seq.Put(seq, name); err != nil {
		return fmt.Errorf("put %q: %w", f.Name, err)
	}
	if f.IsFile() {
		if err := tx.addBlocks(name, f.Blocks); err != nil {
			return fmt.Errorf("put %q: %w", f.Name, err)
		}
	}
	tx.lastSeq = max(tx.lastSeq, f.Sequence)
	return nil
}

// removeLocal deletes the sequence key and block map entries of the local
// record of name, if there is one. The record itself is overwritten after.
func (tx *Tx) removeLocal(name string) error {
	v := tx.b.local.Get([]byte(name))
	if v == nil {
		return nil
	}
	old, err := decodeRecord(name, v)
	if err != nil {
		return fmt.Errorf("replace: %w", err)
	}
	if err := tx.b.seq.Delete(seqKey(old.Sequence)); err != nil {
		return fmt.Errorf("replace %q: %w", name, err)
	}
	if !old.IsFile() {
		return nil
	}
	for _, blk := range old.Blocks {
		if err := tx.b.blocks.Delete(blockKey(blk.Hash, name)); err != nil {
			return fmt.Errorf("replace %q: %w", name, err)
		}
	}
	return nil
}

// addBlocks maps each block to name, its offset and its size; a block found
// twice in the file maps to its last offset.
func (tx *Tx) addBlocks(name []byte, blocks []proto.Block) error {
	for _, blk := range blocks {
		key := append(blk.Hash[:len(blk.Hash):len(blk.Hash)], name...)
		v := binary.BigEndian.AppendUint64(make([]byte, 0, blockEntryLen), uint64(blk.Offset))
		v = binary.BigEndian.AppendUint32(v, uint32(blk.Size))
		if err := tx.b.blocks.Put(key, v); err != nil {
			return err
		}
	}
	return nil
}

func blockKey(h proto.Hash, name string) []byte {
	return append(h[:len(h):len(h)], name...)
}

// PutRemote stores dev's record of f.Name, replacing the one it had.
func (tx *Tx) PutRemote(dev proto.DeviceID, f proto.FileInfo) error {
	if dev == Local {
		return fmt.Errorf("put remote %q: zero device ID", f.Name)
	}
	if err := checkRecord(&f); err != nil {
		return err
	}
	files, err := tx.b.remote.CreateBucketIfNotExists(dev[:])
	if err == nil {
		err = files.Put([]byte(f.Name), appendRecord(nil, &f))
	}
	if err != nil {
		return fmt.Errorf("put %q of %s: %w", f.Name, dev.Abbrev(), err)
	}
	return nil
}

// DropRemote deletes all of dev's records and its PeerMeta.
func (tx *Tx) DropRemote(dev proto.DeviceID) error {
	err := tx.b.remote.DeleteBucket(dev[:])
	if err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return fmt.Errorf("drop %s: %w", dev.Abbrev(), err)
	}
	if err := tx.b.peers.Delete(dev[:]); err != nil {
		return fmt.Errorf("drop %s: %w", dev.Abbrev(), err)
	}
	return nil
}

// Forget deletes every record of name: the local one, with its sequence
// key and block map entries, and each peer's.
func (tx *Tx) Forget(name string) error {
	if err := tx.removeLocal(name); err != nil {
		return err
	}
	key := []byte(name)
	if err := tx.b.local.Delete(key); err != nil {
		return fmt.Errorf("forget %q: %w", name, err)
	}
	err := tx.b.remote.ForEachBucket(func(dev []byte) error {
		return tx.b.remote.Bucket(dev).Delete(key)
	})
	if err != nil {
		return fmt.Errorf("forget %q: %w", name, err)
	}
	return nil
}

// SetPeer records how much of dev's index we hold.
func (tx *Tx) SetPeer(dev proto.DeviceID, m PeerMeta) error {
	if dev == Local {
		return errors.New("set peer: zero device ID")
	}
	v := binary.BigEndian.AppendUint64(nil, m.IndexID)
	v = binary.BigEndian.AppendUint64(v, uint64(m.Sequence))
	if err := tx.b.peers.Put(dev[:], v); err != nil {
		return fmt.Errorf("set peer %s: %w", dev.Abbrev(), err)
	}
	return nil
}
