package index

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"ferry/proto"
)

// Summary is what the index keeps of one name beside its records, written
// by the engine in the same transaction as the records it derives from:
// what the name adds to the folder's status, and whether it needs work.
// With it, neither a status nor the list of names to work on needs a walk
// over the folder's records.
type Summary struct {
	// Need is 0 for a name in sync, else the kind of work it needs, which
	// orders the need list (see NeedAfter).
	Need        uint8
	Flags       uint8 // the engine's status flags
	LocalBytes  int64
	GlobalBytes int64
}

// NamedSummary is a name's summary.
type NamedSummary struct {
	Name string
	Summary
}

const summaryVersion = 1

var (
	bucketSummary = []byte("summary")
	bucketNeed    = []byte("need")
	keySummaries  = []byte("summaries") // present once every name has a summary
)

func appendSummary(b []byte, s Summary) []byte {
	b = append(b, summaryVersion, s.Need, s.Flags)
	b = binary.AppendVarint(b, s.LocalBytes)
	return binary.AppendVarint(b, s.GlobalBytes)
}

func decodeSummary(name string, v []byte) (Summary, error) {
	if len(v) < 3 || v[0] != summaryVersion {
		return Summary{}, fmt.Errorf("corrupt summary of %q", name)
	}
	s := Summary{Need: v[1], Flags: v[2]}
	v = v[3:]
	var n int
	s.LocalBytes, n = binary.Varint(v)
	if n <= 0 {
		return Summary{}, fmt.Errorf("corrupt summary of %q", name)
	}
	v = v[n:]
	s.GlobalBytes, n = binary.Varint(v)
	if n <= 0 || n != len(v) {
		return Summary{}, fmt.Errorf("corrupt summary of %q", name)
	}
	return s, nil
}

// needKey orders the need list: by kind of work, then name.
func needKey(need uint8, name string) []byte {
	return append([]byte{need}, name...)
}

// PutSummary stores the summary of name, and keeps the need list in step
// with it.
func (tx *Tx) PutSummary(name string, s Summary) error {
	if err := tx.DeleteSummary(name); err != nil {
		return err
	}
	if err := tx.b.summary.Put([]byte(name), appendSummary(nil, s)); err != nil {
		return fmt.Errorf("put summary of %q: %w", name, err)
	}
	if s.Need != 0 {
		if err := tx.b.need.Put(needKey(s.Need, name), nil); err != nil {
			return fmt.Errorf("put summary of %q: %w", name, err)
		}
	}
	return nil
}

// DeleteSummary forgets the summary of name and takes it off the need
// list.
func (tx *Tx) DeleteSummary(name string) error {
	v := tx.b.summary.Get([]byte(name))
	if v == nil {
		return nil
	}
	old, err := decodeSummary(name, v)
	if err != nil {
		return err
	}
	if old.Need != 0 {
		if err := tx.b.need.Delete(needKey(old.Need, name)); err != nil {
			return fmt.Errorf("delete summary of %q: %w", name, err)
		}
	}
	if err := tx.b.summary.Delete([]byte(name)); err != nil {
		return fmt.Errorf("delete summary of %q: %w", name, err)
	}
	return nil
}

// MarkSummarized records that every name of the folder has its summary.
func (tx *Tx) MarkSummarized() error {
	if err := tx.b.meta.Put(keySummaries, []byte{1}); err != nil {
		return fmt.Errorf("mark summarized: %w", err)
	}
	return nil
}

// Summarized reports whether every name of the folder has its summary:
// false for an index written before summaries were kept, until the engine
// has made them.
func (f *Folder) Summarized() (bool, error) {
	var ok bool
	err := f.view("read meta", func(b buckets) error {
		ok = b.meta.Get(keySummaries) != nil
		return nil
	})
	return ok, err
}

// SummaryOf returns the summary of name.
func (f *Folder) SummaryOf(name string) (Summary, bool, error) {
	var s Summary
	var found bool
	err := f.view("read summary", func(b buckets) error {
		v := b.summary.Get([]byte(name))
		if v == nil {
			return nil
		}
		found = true
		var err error
		s, err = decodeSummary(name, v)
		return err
	})
	return s, found && err == nil, err
}

// Summaries returns up to limit summaries of the names after the name
// after, in byte order, that start with prefix. Each call is its own read
// transaction, so a walk over a large folder holds none for long.
func (f *Folder) Summaries(prefix, after string, limit int) ([]NamedSummary, error) {
	var out []NamedSummary
	err := f.view("read summaries", func(b buckets) error {
		return eachSummarized(b, prefix, after, limit, func(k, v []byte) error {
			s, err := decodeSummary(string(k), v)
			out = append(out, NamedSummary{Name: string(k), Summary: s})
			return err
		})
	})
	return out, err
}

// eachSummarized calls fn with up to limit summaries of the names after
// the name after, in byte order, that start with prefix.
func eachSummarized(b buckets, prefix, after string, limit int, fn func(k, v []byte) error) error {
	c := b.summary.Cursor()
	start := []byte(prefix)
	if after >= prefix {
		start = append([]byte(after), 0) // the least key above after
	}
	n := 0
	for k, v := c.Seek(start); k != nil && n < limit; k, v = c.Next() {
		if !bytes.HasPrefix(k, []byte(prefix)) {
			break
		}
		if err := fn(k, v); err != nil {
			return err
		}
		n++
	}
	return nil
}

// NeedAfter returns up to limit names of the need list with the given kind
// of work, in byte order after the name after, or, with reverse, in reverse
// byte order before it ("" starts at the end).
func (f *Folder) NeedAfter(need uint8, after string, reverse bool, limit int) ([]string, error) {
	var out []string
	err := f.view("read need list", func(b buckets) error {
		c := b.need.Cursor()
		var k []byte
		switch {
		case !reverse && after == "":
			k, _ = c.Seek([]byte{need})
		case !reverse:
			k, _ = c.Seek(append(needKey(need, after), 0))
		default:
			// The last key below the bound, which is the first key past
			// the kind's names, or after's key.
			bound := []byte{need + 1}
			if after != "" {
				bound = needKey(need, after)
			}
			if k, _ = c.Seek(bound); k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
		}
		for ; k != nil && len(out) < limit && k[0] == need; k = step(c, reverse) {
			out = append(out, string(k[1:]))
		}
		return nil
	})
	return out, err
}

type cursor interface {
	Next() ([]byte, []byte)
	Prev() ([]byte, []byte)
}

func step(c cursor, reverse bool) []byte {
	if reverse {
		k, _ := c.Prev()
		return k
	}
	k, _ := c.Next()
	return k
}

// Records returns every record of name: this device's, if it has one, and
// each peer's, by device.
func (f *Folder) Records(name string) (local *proto.FileInfo, remote []RemoteRecord, err error) {
	st, err := f.Lookup(name)
	if err != nil {
		return nil, nil, err
	}
	return st.Local, st.Remote, nil
}

// RemoteRecord is a peer's record.
type RemoteRecord struct {
	Device proto.DeviceID
	File   proto.FileInfo
}
