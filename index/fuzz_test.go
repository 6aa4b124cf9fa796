package index

import (
	"bytes"
	"math"
	"reflect"
	"testing"

	"ferry/proto"
)

// FuzzEncodeRecord builds a record from fuzzed fields. What checkRecord
// accepts decodes back to the same record, and its encoding is the only
// one: encoding the decoded record gives the same bytes. What it refuses
// for anything but the name, decodeRecord refuses too.
func FuzzEncodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(r.Name, byte(r.Type), recordFlags(&r), r.Size, r.ModTime, r.Mode, r.Sequence,
			uint64(r.ModifiedBy), r.Inode, r.Target, []byte{1, 3, 0xff, 0xff}, []byte{0, 2, 1, 0, 3, 2})
	}
	f.Add("neg", byte(0), byte(0), int64(-1), int64(0), uint32(0), int64(0), uint64(0), uint64(0), "", []byte{}, []byte{0xfd, 2, 0})
	f.Add("end", byte(0), byte(0), int64(0), int64(0), uint32(0), int64(0), uint64(0), uint64(0), "", []byte{}, []byte{0xfe, 2, 0})
	f.Add("type", byte(3), byte(0), int64(0), int64(0), uint32(0), int64(0), uint64(0), uint64(0), "", []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, name string, typ, flags byte, size, mtime int64, mode uint32, seq int64,
		modBy, inode uint64, target string, version, blocks []byte) {
		rec := proto.FileInfo{
			Name: name, Type: proto.FileType(typ), Size: size, ModTime: mtime, Mode: mode,
			Target: target, Sequence: seq, ModifiedBy: proto.ShortID(modBy), Inode: inode,
			Deleted:   flags&flagDeleted != 0,
			Mount:     flags&flagMount != 0,
			Confirmed: flags&flagConfirmed != 0,
			Version:   recordVector(version),
			Blocks:    recordBlocks(blocks),
		}
		enc := appendRecord(nil, &rec)
		got, err := decodeRecord(name, enc)
		if cerr := checkRecord(&rec); cerr != nil {
			if name != "" && err == nil {
				t.Fatalf("checkRecord refuses %v (%v) but it decodes as %v", rec, cerr, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("checkRecord accepts %v but it does not decode: %v", rec, err)
		}
		if !reflect.DeepEqual(got, rec) {
			t.Fatalf("round trip changed the record:\n%#v\n%#v", rec, got)
		}
		if again := appendRecord(nil, &got); !bytes.Equal(again, enc) {
			t.Fatalf("record %v encodes as %x, then as %x", rec, enc, again)
		}
	})
}

// recordFlags returns the flag byte of r, for seeds.
func recordFlags(r *proto.FileInfo) byte {
	var b byte
	if r.Deleted {
		b |= flagDeleted
	}
	if r.Mount {
		b |= flagMount
	}
	if r.Confirmed {
		b |= flagConfirmed
	}
	return b
}

// recordVector reads counters from pairs of bytes: an ID byte, spread over
// the whole ID, and a value, 0xff standing for the largest.
func recordVector(b []byte) proto.Vector {
	var v proto.Vector
	for ; len(b) >= 2; b = b[2:] {
		c := proto.Counter{ID: proto.ShortID(b[0]) * 0x0101010101010101, Value: uint64(b[1])}
		if b[1] == 0xff {
			c.Value = math.MaxUint64
		}
		v = append(v, c)
	}
	return v
}

// recordBlocks reads blocks from triples of bytes: an offset, a size and
// the first byte of the hash. Offsets are a signed step from where a
// contiguous block would start, or, for the bytes 0xfb-0xff, an edge of the
// int64 range; sizes are KiB, or for 0xfd-0xff an edge of the int32 range.
func recordBlocks(b []byte) []proto.Block {
	var blocks []proto.Block
	var next int64
	for ; len(b) >= 3; b = b[3:] {
		blk := proto.Block{Size: int32(b[1]) << 10, Hash: proto.Hash{b[2]}}
		switch b[1] {
		case 0xfd:
			blk.Size = -1
		case 0xfe:
			blk.Size = math.MaxInt32
		case 0xff:
			blk.Size = math.MinInt32
		}
		switch b[0] {
		case 0xfb:
			blk.Offset = math.MinInt64
		case 0xfc:
			blk.Offset = -1
		case 0xfd:
			blk.Offset = math.MaxInt64 - int64(blk.Size)
		case 0xfe:
			blk.Offset = math.MaxInt64 - int64(blk.Size) + 1
		case 0xff:
			blk.Offset = math.MaxInt64
		default:
			blk.Offset = next + int64(int8(b[0]))
		}
		blocks = append(blocks, blk)
		next = blk.Offset + int64(blk.Size)
	}
	return blocks
}
