package blocks

import (
	"bytes"
	"testing"

	"github.com/zeebo/blake3"

	"ferry/proto"
)

// FuzzScanRecords feeds arbitrary pack bodies to the scanner: it must not
// panic, must hand out only records that lie in the input, and may end
// without an error only where the input ends.
func FuzzScanRecords(f *testing.F) {
	var body []byte
	for _, data := range [][]byte{[]byte("one"), nil, bytes.Repeat([]byte{7}, 300)} {
		body = appendRecordHeader(body, blake3.Sum256(data), len(data))
		body = append(body, data...)
	}
	f.Add(body)
	f.Add(body[:len(body)-1])
	f.Add(body[:50])
	f.Add([]byte("FBLK\xff\xff\xff\xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		end, err := scanRecords(bytes.NewReader(data), packHeaderSize, int64(len(data)), func(off int64, h proto.Hash, rec []byte) error {
			start := off - packHeaderSize
			if start < 0 || start+recordHeaderSize+int64(len(rec)) > int64(len(data)) {
				t.Fatalf("record at %d of %d bytes is outside the %d-byte input", off, len(rec), len(data))
			}
			if !bytes.Equal(data[start+recordHeaderSize:start+recordHeaderSize+int64(len(rec))], rec) {
				t.Fatalf("record at %d: data is not the input's", off)
			}
			if !bytes.Equal(data[start+8:start+recordHeaderSize], h[:]) {
				t.Fatalf("record at %d: hash is not the input's", off)
			}
			return nil
		})
		if end < packHeaderSize || end > packHeaderSize+int64(len(data)) {
			t.Fatalf("end %d outside the input of %d bytes", end, len(data))
		}
		if err == nil && end != packHeaderSize+int64(len(data)) {
			t.Fatalf("scan ended cleanly at %d of %d bytes", end-packHeaderSize, len(data))
		}
	})
}

// FuzzDecode checks that the database's values decode only when they are
// well formed, and encode back to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add(location{pack: 3, offset: 16, length: 100}.encode())
	f.Add(packMeta{length: 1000, blocks: 2, dataBytes: 900}.encode())
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, v []byte) {
		if l, err := decodeLocation(v); err == nil && !bytes.Equal(l.encode(), v) {
			t.Fatalf("location %x decodes to %+v, which encodes to %x", v, l, l.encode())
		}
		if m, err := decodePackMeta(v); err == nil {
			if !bytes.Equal(m.encode(), v) {
				t.Fatalf("pack record %x decodes to %+v, which encodes to %x", v, m, m.encode())
			}
			if m.garbage() < 0 || m.liveBytes() < 0 {
				t.Fatalf("pack record %x decodes to impossible %+v", v, m)
			}
		}
	})
}
