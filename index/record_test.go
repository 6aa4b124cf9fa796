package index

import (
	"reflect"
	"strings"
	"testing"

	"ferry/proto"
)

func sampleRecords() []proto.FileInfo {
	return []proto.FileInfo{
		{Name: "empty"},
		{
			Name: "dir/file.txt", Type: proto.FileTypeFile, Size: 300, ModTime: 1_700_000_000_123456789,
			Mode: 0o644, Version: proto.Vector{{ID: 1, Value: 3}, {ID: 0xffffffffffffffff, Value: 1 << 40}},
			Sequence: 42, ModifiedBy: 0xfedcba9876543210, Inode: 1234567,
			Blocks: []proto.Block{{Offset: 0, Size: 100, Hash: hashOf(1)}, {Offset: 100, Size: 200, Hash: hashOf(2)}},
		},
		{Name: "link", Type: proto.FileTypeSymlink, Target: "../elsewhere/ünïcode", Mode: 0o777, Sequence: -1, ModTime: -5},
		{Name: "mnt", Type: proto.FileTypeDir, Mode: 0o755, Mount: true, Inode: 2},
		{Name: "confirmed", Deleted: true, Confirmed: true, Version: proto.Vector{{ID: 2, Value: 3}}},
		{Name: "gone", Type: proto.FileTypeFile, Deleted: true, Version: proto.Vector{{ID: 7, Value: 9}}},
		{Name: "sparse", Size: 1 << 40, Blocks: []proto.Block{{Offset: 1 << 39, Size: 1, Hash: hashOf(3)}, {Offset: 5, Size: 0, Hash: hashOf(4)}}},
	}
}

func hashOf(i byte) proto.Hash {
	var h proto.Hash
	for j := range h {
		h[j] = i + byte(j)
	}
	return h
}

func TestRecordRoundTrip(t *testing.T) {
	for _, f := range sampleRecords() {
		if err := checkRecord(&f); err != nil {
			t.Fatalf("checkRecord(%v) = %v", f, err)
		}
		got, err := decodeRecord(f.Name, appendRecord(nil, &f))
		if err != nil {
			t.Fatalf("decode %q: %v", f.Name, err)
		}
		if !reflect.DeepEqual(got, f) {
			t.Errorf("round trip of %q:\n got %#v\nwant %#v", f.Name, got, f)
		}
	}
}

func TestRecordCompact(t *testing.T) {
	f := sampleRecords()[1]
	// 3 header bytes, 2+9+2+1 varints, 8 modified-by, 3 inode, 1 target,
	// 1+9+8+6 vector, 1+(1+1+32)+(1+2+32) blocks.
	if n := len(appendRecord(nil, &f)); n > 130 {
		t.Errorf("record takes %d bytes, want at most 130", n)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	good := appendRecord(nil, &sampleRecords()[1])
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"version", append([]byte{2}, good[1:]...), "unknown format version 2"},
		{"type", append([]byte{1, 9}, good[2:]...), "unknown file type"},
		{"flags", append([]byte{1, 0, 0x80}, good[3:]...), "unknown flags"},
		{"trailing", append(good[:len(good):len(good)], 0), "trailing"},
		{"huge vector", append(good[:3:3], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f), "exceeds"},
		{"negative size", append([]byte{1, 0, 0, 1}, good[5:]...), "negative size"},
	}
	for i := range len(good) {
		tests = append(tests, struct {
			name string
			data []byte
			want string
		}{"cut", good[:i], ""})
	}
	for _, tt := range tests {
		_, err := decodeRecord("x", tt.data)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s (%d bytes): error %v, want one containing %q", tt.name, len(tt.data), err, tt.want)
		}
	}
}

func TestCheckRecord(t *testing.T) {
	bad := []proto.FileInfo{
		{},
		{Name: "t", Type: 7},
		{Name: "s", Size: -1},
		{Name: "b", Blocks: []proto.Block{{Offset: -1, Size: 1}}},
		{Name: "o", Blocks: []proto.Block{{Offset: 1<<63 - 1, Size: 1}}},
	}
	for _, f := range bad {
		if err := checkRecord(&f); err == nil {
			t.Errorf("checkRecord(%v) accepted it", f)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		b := appendRecord(nil, &r)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := decodeRecord("name", data)
		if err != nil {
			return
		}
		if err := checkRecord(&rec); err != nil {
			t.Fatalf("decoded record fails checkRecord: %v", err)
		}
		enc := appendRecord(nil, &rec)
		again, err := decodeRecord("name", enc)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, rec) {
			t.Fatalf("round trip changed the record:\n%#v\n%#v", rec, again)
		}
		if len(enc) > len(data) {
			t.Fatalf("re-encoding grew from %d to %d bytes", len(data), len(enc))
		}
	})
}
