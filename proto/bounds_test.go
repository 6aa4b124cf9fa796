package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// rawRecord frames payload as a record of type t.
func rawRecord(t recordType, payload []byte) []byte {
	rec := binary.BigEndian.AppendUint32(nil, uint32(len(payload)+1))
	return append(append(rec, byte(t)), payload...)
}

// fill appends copies of entry to b, a message of head followed by the
// copies, until b holds as many as fit in limit bytes.
func fill(head, entry []byte, limit int) []byte {
	return append(append([]byte(nil), head...), bytes.Repeat(entry, (limit-len(head))/len(entry))...)
}

// nested wraps body as field num of a message.
func nested(num protowire.Number, body []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, body)
}

// oneFile returns an IndexUpdate of folder "f" holding one file whose
// body is head followed by copies of entry, filling a record of
// boundsFrame bytes.
func oneFile(head, entry []byte) []byte {
	pre := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "f")
	limit := boundsFrame - len(pre) - 16 // tag and length of the file
	body := fill(head, entry, limit)
	return append(pre, nested(3, body)...)
}

func fileHead() []byte {
	b := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "a")
	counter := protowire.AppendTag(nil, 1, protowire.Fixed64Type)
	counter = protowire.AppendFixed64(counter, 7)
	counter = protowire.AppendVarint(protowire.AppendTag(counter, 2, protowire.VarintType), 1)
	return append(b, nested(8, counter)...)
}

// allocated returns the bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Decoding costs memory in proportion to the bytes received, whatever they
// hold: entries that would decode to far more than they take on the wire
// (an empty block, file, counter or folder is two bytes) are refused before
// anything is allocated for them, and so are more of them than a message
// may hold.
func TestDecodeMemoryBounded(t *testing.T) {
	hash := append(protowire.AppendTag(nil, 3, protowire.BytesType), 32)
	hash = append(hash, make([]byte, 32)...)
	blockWithHash := nested(11, hash)
	counterWithID := protowire.AppendFixed64(protowire.AppendTag(nil, 1, protowire.Fixed64Type), 7)
	counterWithID = protowire.AppendVarint(protowire.AppendTag(counterWithID, 2, protowire.VarintType), 1)
	cases := []struct {
		name    string
		t       recordType
		payload func() []byte
		factor  float64 // allocated bytes per record byte, at most
		wantErr bool
	}{
		{"empty blocks", typeIndexUpdate, func() []byte { return oneFile(fileHead(), nested(11, nil)) }, 4, true},
		{"empty counters", typeIndexUpdate, func() []byte { return oneFile(fileHead(), nested(8, nil)) }, 4, true},
		{"counters without an ID", typeIndexUpdate, func() []byte { return oneFile(fileHead(), nested(8, []byte{0x10, 1})) }, 4, true},
		{"empty files", typeIndexUpdate, func() []byte { return fill(nil, nested(3, nil), boundsFrame) }, 4, true},
		{"tiny files", typeIndexUpdate, func() []byte { return fill(nil, nested(3, fileHead()), boundsFrame) }, 4, true},
		{"empty folders", typeHello, func() []byte { return fill(nil, nested(3, nil), MaxHelloSize) }, 4, true},
		{"more counters than an update holds", typeIndexUpdate, func() []byte { return oneFile(fileHead(), nested(8, counterWithID)) }, 4, true},
		// Blocks that each carry their hash are decoded, and refused
		// later, at about 8 times their size, of which 2 is the record
		// itself, read as it arrives (the race detector adds about 1).
		{"blocks with hashes", typeIndexUpdate, func() []byte { return oneFile(fileHead(), blockWithHash) }, 10, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := rawRecord(tc.t, tc.payload())
			var err error
			n := allocated(func() { _, err = NewMessageReader(bytes.NewReader(rec)).Read() })
			ratio := float64(n) / float64(len(rec))
			t.Logf("%d-byte record: %d bytes allocated, %.2f per byte; err %v", len(rec), n, ratio, err)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v does not wrap ErrMalformed", err)
			}
			if ratio > tc.factor {
				t.Fatalf("decoding allocated %.1f bytes per byte received, limit %.0f", ratio, tc.factor)
			}
		})
	}
}

// A Hello lists each folder once: one that repeats a folder is refused,
// however often it does, and so is one listing more than MaxHelloFolders.
func TestHelloFoldersBounded(t *testing.T) {
	folder := nested(3, protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "docs"))
	cases := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"twice", append(append([]byte(nil), folder...), folder...), "more than once"},
		{"100,000 times", bytes.Repeat(folder, 100_000), "folders"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewMessageReader(bytes.NewReader(rawRecord(typeHello, tc.payload))).Read()
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want a malformed hello saying %q", err, tc.want)
			}
		})
	}
	many := &Hello{}
	for i := range MaxHelloFolders + 1 {
		many.Folders = append(many.Folders, FolderHello{ID: "f" + strconv.Itoa(i)})
	}
	if err := WriteMessage(&bytes.Buffer{}, many); !errors.Is(err, ErrMalformed) {
		t.Fatalf("sending a hello of %d folders: %v", len(many.Folders), err)
	}
	many.Folders = many.Folders[:MaxHelloFolders]
	var buf bytes.Buffer
	if err := WriteMessage(&buf, many); err != nil {
		t.Fatal(err)
	}
	got, err := NewMessageReader(&buf).Read()
	if err != nil || len(got.(*Hello).Folders) != MaxHelloFolders {
		t.Fatalf("a hello of %d folders: %v", MaxHelloFolders, err)
	}
}

// An update of more than MaxUpdateFiles files, or a name over MaxNameLen,
// is refused on the wire; neither is ever sent.
func TestUpdateCountsBounded(t *testing.T) {
	file := FileInfo{Name: "a", Type: FileTypeDir, Sequence: 1, Version: Vector{{ID: 1, Value: 1}}}
	u := &IndexUpdate{Folder: "f", IndexID: 1}
	for i := range MaxUpdateFiles + 1 {
		f := file
		f.Name = "d" + strconv.Itoa(i)
		u.Files = append(u.Files, f)
	}
	if err := WriteMessage(&bytes.Buffer{}, u); !errors.Is(err, ErrMalformed) {
		t.Fatalf("sending %d files: %v", len(u.Files), err)
	}
	head := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "f")
	var payload []byte
	for range MaxUpdateFiles + 1 {
		payload = append(payload, nested(3, fileHead())...)
	}
	_, err := NewMessageReader(bytes.NewReader(rawRecord(typeIndexUpdate, append(head, payload...)))).Read()
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "files") {
		t.Fatalf("receiving %d files: %v", MaxUpdateFiles+1, err)
	}
	long := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), strings.Repeat("n", MaxNameLen+1))
	_, err = NewMessageReader(bytes.NewReader(rawRecord(typeIndexUpdate, append(head, nested(3, long)...)))).Read()
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "name") {
		t.Fatalf("receiving a name of %d bytes: %v", MaxNameLen+1, err)
	}
}
