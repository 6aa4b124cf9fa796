package proto

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// blocksOf makes a valid block list from sizes, each block's hash naming
// its content by a tag.
func blocksOf(tags ...byte) []Block {
	var out []Block
	var off int64
	for _, t := range tags {
		size := int32(1000 + int(t))
		out = append(out, Block{Offset: off, Size: size, Hash: Hash{t}})
		off += int64(size)
	}
	return out
}

func fileWith(blocks []Block, v Vector) FileInfo {
	var size int64
	for _, b := range blocks {
		size += int64(b.Size)
	}
	return FileInfo{Name: "big", Type: FileTypeFile, Size: size, Mode: 0o644, Version: v, Sequence: 3, Blocks: blocks}
}

func TestDeltaRoundTrip(t *testing.T) {
	base := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	for _, tc := range []struct {
		name   string
		tags   []byte
		middle int // blocks the delta carries
	}{
		{"insert in the middle", []byte{1, 2, 3, 4, 5, 6, 99, 98, 7, 8, 9, 10, 11, 12}, 2},
		{"edit in the middle", []byte{1, 2, 3, 4, 5, 99, 7, 8, 9, 10, 11, 12}, 1},
		{"append", []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, 1},
		{"prepend", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 1},
		{"truncate", []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, 0},
	} {
		old := fileWith(blocksOf(base...), Vector{{ID: 1, Value: 5}})
		cur := fileWith(blocksOf(tc.tags...), Vector{{ID: 1, Value: 6}})
		d, ok := MakeDelta(&old, &cur)
		if !ok {
			t.Errorf("%s: no delta", tc.name)
			continue
		}
		if len(d.Blocks) != tc.middle {
			t.Errorf("%s: delta carries %d blocks, want %d", tc.name, len(d.Blocks), tc.middle)
		}
		if err := d.Validate(); err != nil {
			t.Errorf("%s: delta invalid: %v", tc.name, err)
		}
		got := d.Clone()
		if err := got.ApplyDelta(&old); err != nil {
			t.Errorf("%s: apply: %v", tc.name, err)
			continue
		}
		if !slices.Equal(got.Blocks, cur.Blocks) || got.Delta != nil {
			t.Errorf("%s: rebuilt %v, want %v", tc.name, got.Blocks, cur.Blocks)
		}
		// Through the wire and back.
		m, err := roundTrip(&IndexUpdate{Folder: "f", Files: []FileInfo{d}})
		if err != nil {
			t.Fatalf("%s: wire: %v", tc.name, err)
		}
		w := m.(*IndexUpdate).Files[0]
		if w.Delta == nil || w.Delta.Prefix != d.Delta.Prefix || w.Delta.Suffix != d.Delta.Suffix || !w.Delta.Base.Equal(old.Version) {
			t.Errorf("%s: delta after the wire: %+v, want %+v", tc.name, w.Delta, d.Delta)
		}
	}
}

func TestNoDeltaWhenNotWorthIt(t *testing.T) {
	old := fileWith(blocksOf(1, 2, 3), Vector{{ID: 1, Value: 1}})
	cur := fileWith(blocksOf(1, 2, 4), Vector{{ID: 1, Value: 2}})
	if _, ok := MakeDelta(&old, &cur); ok {
		t.Error("a delta for a three-block file")
	}
	big := fileWith(blocksOf(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), Vector{{ID: 1, Value: 1}})
	other := fileWith(blocksOf(11, 12, 13, 14, 15, 16, 17, 18, 19, 20), Vector{{ID: 1, Value: 2}})
	if _, ok := MakeDelta(&big, &other); ok {
		t.Error("a delta between files with nothing in common")
	}
	gone := big
	gone.Deleted, gone.Blocks, gone.Size = true, nil, 0
	if _, ok := MakeDelta(&big, &gone); ok {
		t.Error("a delta for a deletion")
	}
}

func TestApplyDeltaRefuses(t *testing.T) {
	old := fileWith(blocksOf(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), Vector{{ID: 1, Value: 1}})
	cur := fileWith(blocksOf(1, 2, 3, 4, 5, 66, 7, 8, 9, 10), Vector{{ID: 1, Value: 2}})
	d, _ := MakeDelta(&old, &cur)
	other := old
	other.Version = Vector{{ID: 2, Value: 1}}
	short := fileWith(blocksOf(1, 2), old.Version)
	for _, tc := range []struct {
		name string
		base *FileInfo
		want error
	}{
		{"no base", nil, ErrDeltaBase},
		{"another version", &other, ErrDeltaBase},
		{"base too short", &short, ErrMalformed},
	} {
		f := d.Clone()
		if err := f.ApplyDelta(tc.base); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// A delta whose size does not match what it rebuilds is malformed.
	bad := d.Clone()
	bad.Size++
	if err := bad.ApplyDelta(&old); !errors.Is(err, ErrMalformed) {
		t.Errorf("size mismatch: %v, want ErrMalformed", err)
	}
}

func TestDeltaValidation(t *testing.T) {
	old := fileWith(blocksOf(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), Vector{{ID: 1, Value: 1}})
	cur := fileWith(blocksOf(1, 2, 3, 4, 5, 66, 7, 8, 9, 10), Vector{{ID: 1, Value: 2}})
	d, _ := MakeDelta(&old, &cur)
	for _, tc := range []struct {
		name   string
		change func(f *FileInfo)
	}{
		{"negative prefix", func(f *FileInfo) { f.Delta.Prefix = -1 }},
		{"huge suffix", func(f *FileInfo) { f.Delta.Suffix = MaxDeltaKeep + 1 }},
		{"empty base", func(f *FileInfo) { f.Delta.Base = nil }},
		{"on a deletion", func(f *FileInfo) { f.Deleted = true }},
		{"gap between blocks", func(f *FileInfo) { f.Blocks = append(f.Blocks, Block{Offset: 1 << 40, Size: 5}) }},
	} {
		f := d.Clone()
		tc.change(&f)
		if err := f.Validate(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", tc.name, err)
		}
	}
}

// roundTrip writes m as a framed message and reads it back.
func roundTrip(m Message) (Message, error) {
	var buf bytes.Buffer
	if err := WriteMessage(&buf, m); err != nil {
		return nil, err
	}
	return NewMessageReader(&buf).Read()
}
