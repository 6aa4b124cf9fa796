package blocks

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"ferry/proto"
)

// Sizes of the on-disk structures described in the package documentation.
const (
	packHeaderSize   = 16 // magic and pack id
	recordHeaderSize = 40 // magic, data length and hash
	locationSize     = 20 // pack id, record offset, data length
	packMetaSize     = 24 // committed length, blocks, data bytes

	// maxPackLength bounds a pack record's length far above any pack, so
	// that sums of its fields cannot overflow.
	maxPackLength = 1 << 48
)

var (
	packMagic   = [8]byte{'F', 'R', 'Y', 'P', 'A', 'C', 'K', '1'}
	recordMagic = [4]byte{'F', 'B', 'L', 'K'}
)

// location is where a block's record is: the offset of its header in a pack,
// and the length of its data.
type location struct {
	pack   uint64
	offset int64
	length uint32
}

func (l location) encode() []byte {
	b := make([]byte, 0, locationSize)
	b = binary.BigEndian.AppendUint64(b, l.pack)
	b = binary.BigEndian.AppendUint64(b, uint64(l.offset))
	return binary.BigEndian.AppendUint32(b, l.length)
}

func decodeLocation(v []byte) (location, error) {
	if len(v) != locationSize {
		return location{}, fmt.Errorf("corrupt location %x", v)
	}
	l := location{
		pack:   binary.BigEndian.Uint64(v),
		offset: int64(binary.BigEndian.Uint64(v[8:])),
		length: binary.BigEndian.Uint32(v[16:]),
	}
	if l.offset < packHeaderSize || l.offset > maxPackLength || l.length > MaxBlockSize {
		return location{}, fmt.Errorf("corrupt location %x", v)
	}
	return l, nil
}

// end is the offset just past the record.
func (l location) end() int64 { return l.offset + recordHeaderSize + int64(l.length) }

// packMeta is what the database knows of one pack.
type packMeta struct {
	length    int64 // bytes covered by committed transactions
	blocks    int64 // records a location refers to
	dataBytes int64 // data bytes of those records
}

func (m packMeta) encode() []byte {
	b := make([]byte, 0, packMetaSize)
	b = binary.BigEndian.AppendUint64(b, uint64(m.length))
	b = binary.BigEndian.AppendUint64(b, uint64(m.blocks))
	return binary.BigEndian.AppendUint64(b, uint64(m.dataBytes))
}

func decodePackMeta(v []byte) (packMeta, error) {
	if len(v) != packMetaSize {
		return packMeta{}, fmt.Errorf("corrupt pack record %x", v)
	}
	m := packMeta{
		length:    int64(binary.BigEndian.Uint64(v)),
		blocks:    int64(binary.BigEndian.Uint64(v[8:])),
		dataBytes: int64(binary.BigEndian.Uint64(v[16:])),
	}
	body := m.length - packHeaderSize
	if body < 0 || body > maxPackLength || m.blocks < 0 || m.blocks > body/recordHeaderSize ||
		m.dataBytes < 0 || m.dataBytes > body || m.liveBytes() > body {
		return packMeta{}, fmt.Errorf("corrupt pack record %x", v)
	}
	return m, nil
}

// liveBytes is the size of the records that locations refer to, headers
// included.
func (m packMeta) liveBytes() int64 { return m.blocks*recordHeaderSize + m.dataBytes }

// garbage is the size of the committed records no location refers to.
func (m packMeta) garbage() int64 { return m.length - packHeaderSize - m.liveBytes() }

func packKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// packName is the file name of pack id.
func packName(id uint64) string { return fmt.Sprintf("%016x.pack", id) }

// parsePackName returns the id of a pack file name, or false for any other
// name.
func parsePackName(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, ".pack")
	if !ok || len(hex) != 16 || strings.ToLower(hex) != hex {
		return 0, false
	}
	id, err := strconv.ParseUint(hex, 16, 64)
	return id, err == nil
}

func appendPackHeader(b []byte, id uint64) []byte {
	b = append(b, packMagic[:]...)
	return binary.BigEndian.AppendUint64(b, id)
}

func appendRecordHeader(b []byte, h proto.Hash, n int) []byte {
	b = append(b, recordMagic[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return append(b, h[:]...)
}

// errBadHeader says a record header is not one: a wrong magic or an
// impossible length.
var errBadHeader = errors.New("bad record header")

// parseRecordHeader returns the hash and data length a record header holds.
func parseRecordHeader(b []byte) (proto.Hash, int, error) {
	var h proto.Hash
	if len(b) < recordHeaderSize || [4]byte(b[:4]) != recordMagic {
		return h, 0, errBadHeader
	}
	n := binary.BigEndian.Uint32(b[4:])
	if n > MaxBlockSize {
		return h, 0, errBadHeader
	}
	copy(h[:], b[8:recordHeaderSize])
	return h, int(n), nil
}

// scanBufferSize is the read buffer of a sequential pack scan.
const scanBufferSize = 1 << 20

// scanRecords reads the records of a pack sequentially from r, whose first
// byte is at offset off of the pack (just past the pack header), through a
// buffer of at most scanBufferSize bytes and bufSize if smaller, and calls fn
// with each record's offset, hash and data, unverified; data is valid only
// during the call. It returns the offset just past the last whole record. It
// stops without an error at the end of r, and with one at a torn or bad
// record, or when fn returns one.
func scanRecords(r io.Reader, off int64, bufSize int64, fn func(off int64, h proto.Hash, data []byte) error) (int64, error) {
	br := bufio.NewReaderSize(r, int(min(bufSize, scanBufferSize)))
	var hdr [recordHeaderSize]byte
	var data []byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err == io.EOF {
			return off, nil
		} else if err != nil {
			return off, fmt.Errorf("record at offset %d: %w", off, err)
		}
		h, n, err := parseRecordHeader(hdr[:])
		if err != nil {
			return off, fmt.Errorf("record at offset %d: %w", off, err)
		}
		if cap(data) < n {
			data = make([]byte, n)
		}
		data = data[:n]
		if _, err := io.ReadFull(br, data); err != nil {
			return off, fmt.Errorf("record at offset %d: %w", off, noEOF(err))
		}
		if err := fn(off, h, data); err != nil {
			return off, err
		}
		off += recordHeaderSize + int64(n)
	}
}

// noEOF turns the end of a file in the middle of a record into
// io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
