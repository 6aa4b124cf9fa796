package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"ferry/proto"
)

const (
	recordVersion = 1
	flagDeleted   = 1 << 0
	flagMount     = 1 << 1 // a directory on another file system than the folder's root
	flagConfirmed = 1 << 2 // a deletion the user confirmed past the guard
	knownFlags    = flagDeleted | flagMount | flagConfirmed

	minCounterLen = 8 + 1                  // short ID + one-byte value
	minBlockLen   = 1 + 1 + proto.HashSize // offset delta + size + hash
)

// appendRecord appends the encoding of f, without its name, to b.
func appendRecord(b []byte, f *proto.FileInfo) []byte {
	var flags byte
	if f.Deleted {
		flags |= flagDeleted
	}
	if f.Mount {
		flags |= flagMount
	}
	if f.Confirmed {
		flags |= flagConfirmed
	}
	b = append(b, recordVersion, byte(f.Type), flags)
	b = binary.AppendVarint(b, f.Size)
	b = binary.AppendVarint(b, f.ModTime)
	b = binary.AppendUvarint(b, uint64(f.Mode))
	b = binary.AppendVarint(b, f.Sequence)
	b = binary.BigEndian.AppendUint64(b, uint64(f.ModifiedBy))
	b = binary.AppendUvarint(b, f.Inode)
	b = binary.AppendUvarint(b, uint64(len(f.Target)))
	b = append(b, f.Target...)
	b = binary.AppendUvarint(b, uint64(len(f.Version)))
	for _, c := range f.Version {
		b = binary.BigEndian.AppendUint64(b, uint64(c.ID))
		b = binary.AppendUvarint(b, c.Value)
	}
	b = binary.AppendUvarint(b, uint64(len(f.Blocks)))
	var next int64 // where a contiguous block would start
	for _, blk := range f.Blocks {
		b = binary.AppendVarint(b, blk.Offset-next)
		b = binary.AppendUvarint(b, uint64(blk.Size))
		b = append(b, blk.Hash[:]...)
		next = blk.Offset + int64(blk.Size)
	}
	return b
}

// checkRecord reports whether f can be stored and read back: decodeRecord
// rejects what it rejects.
func checkRecord(f *proto.FileInfo) error {
	switch {
	case f.Name == "":
		return errors.New("record has an empty name")
	case f.Type > proto.FileTypeSymlink:
		return fmt.Errorf("record %q: unknown file type %d", f.Name, f.Type)
	case f.Size < 0:
		return fmt.Errorf("record %q: negative size %d", f.Name, f.Size)
	}
	for i, b := range f.Blocks {
		if b.Offset < 0 || b.Size < 0 || b.Offset > math.MaxInt64-int64(b.Size) {
			return fmt.Errorf("record %q: block %d has offset %d and size %d", f.Name, i, b.Offset, b.Size)
		}
	}
	return nil
}

// decodeRecord decodes a record stored under name.
func decodeRecord(name string, b []byte) (proto.FileInfo, error) {
	f := proto.FileInfo{Name: name}
	d := decoder{b: b}
	if v := d.byte(); v != recordVersion && d.err == nil {
		return f, fmt.Errorf("record %q: unknown format version %d", name, v)
	}
	f.Type = proto.FileType(d.byte())
	flags := d.byte()
	f.Deleted = flags&flagDeleted != 0
	f.Mount = flags&flagMount != 0
	f.Confirmed = flags&flagConfirmed != 0
	f.Size = d.varint()
	f.ModTime = d.varint()
	f.Mode = uint32(d.uvarintMax(math.MaxUint32))
	f.Sequence = d.varint()
	f.ModifiedBy = proto.ShortID(d.uint64())
	f.Inode = d.uvarint()
	f.Target = string(d.bytes(d.count(1)))
	f.Version = d.vector()
	f.Blocks = d.blocks()
	switch {
	case d.err != nil:
	case f.Type > proto.FileTypeSymlink:
		d.err = fmt.Errorf("unknown file type %d", f.Type)
	case flags&^knownFlags != 0:
		d.err = fmt.Errorf("unknown flags %#x", flags)
	case f.Size < 0:
		d.err = fmt.Errorf("negative size %d", f.Size)
	case len(d.b) != 0:
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return f, fmt.Errorf("record %q: %w", name, d.err)
	}
	return f, nil
}

var errShort = errors.New("truncated")

// decoder reads fields from b; after the first error every read returns zero
// and err keeps that error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail(errShort)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.fail(errShort)
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errors.New("bad uvarint"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errors.New("bad varint"))
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarintMax(limit uint64) uint64 {
	v := d.uvarint()
	if v > limit {
		d.fail(fmt.Errorf("value %d over %d", v, limit))
		return 0
	}
	return v
}

// count reads a length or element count and checks that the rest of the
// input can hold that many elements of at least minLen bytes.
func (d *decoder) count(minLen int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)/minLen) {
		d.fail(fmt.Errorf("count %d exceeds the remaining %d bytes", n, len(d.b)))
		return 0
	}
	return int(n)
}

func (d *decoder) bytes(n int) []byte {
	if len(d.b) < n {
		d.fail(errShort)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) vector() proto.Vector {
	n := d.count(minCounterLen)
	if n == 0 {
		return nil
	}
	v := make(proto.Vector, n)
	for i := range v {
		v[i] = proto.Counter{ID: proto.ShortID(d.uint64()), Value: d.uvarint()}
	}
	return v
}

func (d *decoder) blocks() []proto.Block {
	n := d.count(minBlockLen)
	if n == 0 {
		return nil
	}
	blocks := make([]proto.Block, n)
	var next int64
	for i := range blocks {
		delta := d.varint()
		size := d.uvarintMax(math.MaxInt32)
		copy(blocks[i].Hash[:], d.bytes(proto.HashSize))
		if delta < -next || delta > math.MaxInt64-next-int64(size) {
			d.fail(fmt.Errorf("block %d: offset out of range", i))
		}
		if d.err != nil {
			return nil
		}
		blocks[i].Offset, blocks[i].Size = next+delta, int32(size)
		next = blocks[i].Offset + int64(size)
	}
	return blocks
}

// recordHasBlock reports whether the record v of name, a live regular file,
// lists want. It walks the block list without decoding the rest, and stops
// at the first block past want's offset.
func recordHasBlock(name string, v []byte, want proto.Block) (bool, error) {
	d := decoder{b: v}
	if ver := d.byte(); ver != recordVersion && d.err == nil {
		return false, fmt.Errorf("record %q: unknown format version %d", name, ver)
	}
	typ, flags := proto.FileType(d.byte()), d.byte()
	d.varint()  // size
	d.varint()  // mtime
	d.uvarint() // mode
	d.varint()  // sequence
	d.uint64()  // modified by
	d.uvarint() // inode
	d.bytes(d.count(1))
	for range d.count(minCounterLen) {
		d.uint64()
		d.uvarint()
	}
	if d.err != nil || typ != proto.FileTypeFile || flags&flagDeleted != 0 {
		return false, wrapRecordErr(name, d.err)
	}
	var next int64
	for n := d.count(minBlockLen); n > 0 && d.err == nil; n-- {
		delta := d.varint()
		size := d.uvarintMax(math.MaxInt32)
		hash := d.bytes(proto.HashSize)
		if d.err != nil {
			break
		}
		if delta < -next || delta > math.MaxInt64-next-int64(size) {
			return false, fmt.Errorf("record %q: block offset out of range", name)
		}
		off := next + delta
		if off >= want.Offset {
			return off == want.Offset && int32(size) == want.Size && proto.Hash(hash) == want.Hash, nil
		}
		next = off + int64(size)
	}
	return false, wrapRecordErr(name, d.err)
}

func wrapRecordErr(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("record %q: %w", name, err)
}

// AppendRecord appends the index's encoding of f, without its name, to b:
// the form other stores (the version history) keep records in.
func AppendRecord(b []byte, f *proto.FileInfo) ([]byte, error) {
	if err := checkRecord(f); err != nil {
		return b, err
	}
	return appendRecord(b, f), nil
}

// DecodeRecord decodes what AppendRecord wrote for the record named name.
func DecodeRecord(name string, b []byte) (proto.FileInfo, error) {
	return decodeRecord(name, b)
}
