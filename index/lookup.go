package index

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"ferry/proto"
)

// NameState is everything the index holds of one name: its records and its
// summary.
type NameState struct {
	Name       string
	Local      *proto.FileInfo
	Remote     []RemoteRecord // by device
	Summary    Summary
	Summarized bool // the name has a stored summary
}

// Lookup returns what the index holds of name.
func (f *Folder) Lookup(name string) (NameState, error) {
	var st NameState
	err := f.viewNames("look up "+name, func(b buckets) error {
		var err error
		st, err = nameState(b, name)
		return err
	})
	return st, err
}

// Range returns what the index holds of up to limit summarized names after
// the name after, in byte order, that start with prefix; while the folder
// is not Summarized, of the names with records. Each call is its own read
// transaction.
func (f *Folder) Range(prefix, after string, limit int) ([]NameState, error) {
	var out []NameState
	err := f.viewNames("read names", func(b buckets) error {
		each := eachSummarized
		if b.meta.Get(keySummaries) == nil {
			each = eachRecorded
		}
		r, err := newOrderedReader(b)
		if err != nil {
			return err
		}
		return each(b, prefix, after, limit, func(k, _ []byte) error {
			st, err := r.state(k)
			out = append(out, st)
			return err
		})
	})
	return out, err
}

// eachRecorded calls fn with up to limit names that have a local or a
// remote record, after the name after, in byte order, that start with
// prefix: a merge of the record buckets' keys. fn's value is nil.
func eachRecorded(b buckets, prefix, after string, limit int, fn func(k, v []byte) error) error {
	start := []byte(prefix)
	if after >= prefix {
		start = append([]byte(after), 0) // the least key above after
	}
	type head struct {
		c *bolt.Cursor
		k []byte
	}
	heads := []*head{{c: b.local.Cursor()}}
	err := b.remote.ForEachBucket(func(dev []byte) error {
		heads = append(heads, &head{c: b.remote.Bucket(dev).Cursor()})
		return nil
	})
	if err != nil {
		return err
	}
	for _, h := range heads {
		h.k, _ = h.c.Seek(start)
	}
	for n := 0; n < limit; n++ {
		var least []byte
		for _, h := range heads {
			if h.k != nil && (least == nil || bytes.Compare(h.k, least) < 0) {
				least = h.k
			}
		}
		if least == nil || !bytes.HasPrefix(least, []byte(prefix)) {
			return nil
		}
		name := bytes.Clone(least)
		for _, h := range heads {
			for h.k != nil && bytes.Equal(h.k, name) {
				h.k, _ = h.c.Next()
			}
		}
		if err := fn(name, nil); err != nil {
			return err
		}
	}
	return nil
}

// viewNames is view with only the buckets nameState reads: a look-up of
// one name opens no more than it needs.
func (f *Folder) viewNames(op string, fn func(b buckets) error) error {
	err := f.db.View(func(tx *bolt.Tx) error {
		fb := tx.Bucket(bucketFolders).Bucket([]byte(f.id))
		if fb == nil {
			return fmt.Errorf("folder %q is not in the index", f.id)
		}
		b := buckets{meta: fb.Bucket(bucketMeta), local: fb.Bucket(bucketLocal), remote: fb.Bucket(bucketRemote), summary: fb.Bucket(bucketSummary)}
		if b.meta == nil || b.local == nil || b.remote == nil || b.summary == nil {
			return fmt.Errorf("folder %q: index is missing buckets", f.id)
		}
		return fn(b)
	})
	if err != nil {
		return fmt.Errorf("%s in folder %q: %w", op, f.id, err)
	}
	return nil
}

// orderedReader reads the state of names asked for in increasing byte
// order, with a cursor on every bucket that steps forward instead of a
// look-up from the root for each name: a walk over a range of names reads
// each page once.
type orderedReader struct {
	summary, local *seqCursor
	remote         []*seqCursor
	devs           []proto.DeviceID
}

// seqCursor is a cursor and the key it is at; nil k is the end.
type seqCursor struct {
	c    *bolt.Cursor
	k, v []byte
	on   bool
}

// at returns the value of key, nil if the bucket has none. Keys must come
// in increasing order.
func (c *seqCursor) at(key []byte) []byte {
	if !c.on {
		c.k, c.v = c.c.Seek(key)
		c.on = true
	}
	// A few steps forward, then a seek: the keys skipped may be many.
	for i := 0; c.k != nil && bytes.Compare(c.k, key) < 0; i++ {
		if i == 8 {
			c.k, c.v = c.c.Seek(key)
			break
		}
		c.k, c.v = c.c.Next()
	}
	if c.k != nil && bytes.Equal(c.k, key) {
		return c.v
	}
	return nil
}

func newOrderedReader(b buckets) (*orderedReader, error) {
	r := &orderedReader{summary: &seqCursor{c: b.summary.Cursor()}, local: &seqCursor{c: b.local.Cursor()}}
	err := b.remote.ForEachBucket(func(k []byte) error {
		var dev proto.DeviceID
		if len(k) != len(dev) {
			return fmt.Errorf("corrupt remote device key %x", k)
		}
		copy(dev[:], k)
		r.devs = append(r.devs, dev)
		r.remote = append(r.remote, &seqCursor{c: b.remote.Bucket(k).Cursor()})
		return nil
	})
	return r, err
}

// state is nameState for the next name.
func (r *orderedReader) state(key []byte) (NameState, error) {
	name := string(key)
	st := NameState{Name: name}
	if v := r.summary.at(key); v != nil {
		s, err := decodeSummary(name, v)
		if err != nil {
			return st, err
		}
		st.Summary, st.Summarized = s, true
	}
	if v := r.local.at(key); v != nil {
		rec, err := decodeRecord(name, v)
		if err != nil {
			return st, err
		}
		st.Local = &rec
	}
	for i, c := range r.remote {
		if v := c.at(key); v != nil {
			rec, err := decodeRecord(name, v)
			if err != nil {
				return st, err
			}
			st.Remote = append(st.Remote, RemoteRecord{Device: r.devs[i], File: rec})
		}
	}
	return st, nil
}

func nameState(b buckets, name string) (NameState, error) {
	st := NameState{Name: name}
	key := []byte(name)
	if v := b.summary.Get(key); v != nil {
		s, err := decodeSummary(name, v)
		if err != nil {
			return st, err
		}
		st.Summary, st.Summarized = s, true
	}
	if v := b.local.Get(key); v != nil {
		rec, err := decodeRecord(name, v)
		if err != nil {
			return st, err
		}
		st.Local = &rec
	}
	err := b.remote.ForEachBucket(func(k []byte) error {
		v := b.remote.Bucket(k).Get(key)
		if v == nil {
			return nil
		}
		var dev proto.DeviceID
		if len(k) != len(dev) {
			return fmt.Errorf("corrupt remote device key %x", k)
		}
		copy(dev[:], k)
		rec, err := decodeRecord(name, v)
		if err != nil {
			return err
		}
		st.Remote = append(st.Remote, RemoteRecord{Device: dev, File: rec})
		return nil
	})
	return st, err
}

// CountRemote returns how many records of dev the index holds.
func (f *Folder) CountRemote(dev proto.DeviceID) (int, error) {
	n := 0
	err := f.view("count records", func(b buckets) error {
		files := b.remote.Bucket(dev[:])
		if files == nil {
			return nil
		}
		n = files.Stats().KeyN
		return nil
	})
	return n, err
}

// RemoteDevices returns the devices the index holds records of.
func (f *Folder) RemoteDevices() ([]proto.DeviceID, error) {
	var out []proto.DeviceID
	err := f.view("list devices", func(b buckets) error {
		return b.remote.ForEachBucket(func(k []byte) error {
			var dev proto.DeviceID
			if len(k) != len(dev) {
				return fmt.Errorf("corrupt remote device key %x", k)
			}
			copy(dev[:], k)
			out = append(out, dev)
			return nil
		})
	})
	return out, err
}
