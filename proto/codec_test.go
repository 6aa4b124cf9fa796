package proto_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"ferry/proto"
)

// file returns a valid regular file record with nblocks blocks of 1 KiB.
func file(rng *rand.Rand, i, nblocks int) proto.FileInfo {
	f := proto.FileInfo{
		Name:       fmt.Sprintf("dir-%d/file-%d.txt", i%97, i),
		Type:       proto.FileTypeFile,
		ModTime:    rng.Int64(),
		Mode:       0o644,
		Version:    proto.Vector{{ID: 1 + proto.ShortID(i), Value: rng.Uint64N(1e9) + 1}, {ID: 1 << 63, Value: 2}},
		Sequence:   int64(i + 1),
		ModifiedBy: 1 << 63,
	}
	for b := range nblocks {
		blk := proto.Block{Offset: int64(b) * 1024, Size: 1024}
		for j := range blk.Hash {
			blk.Hash[j] = byte(rng.Uint32())
		}
		f.Blocks = append(f.Blocks, blk)
	}
	f.Size = int64(nblocks) * 1024
	return f
}

// sampleMessages returns one or more valid messages of every type.
func sampleMessages() []proto.Message {
	rng := rand.New(rand.NewPCG(1, 2))
	return []proto.Message{
		&proto.Hello{DeviceName: "laptop", ClientVersion: "ferry 1.0", Folders: []proto.FolderHello{
			{ID: "photos", IndexID: 1<<64 - 1, MaxSequence: 42, SeenIndexID: 7, SeenSequence: 40},
			{ID: "docs"},
		}},
		&proto.Hello{},
		&proto.IndexUpdate{Folder: "photos", IndexID: 3, Files: []proto.FileInfo{
			file(rng, 1, 3),
			{Name: "日本語/dir", Type: proto.FileTypeDir, Mode: 0o755, Version: proto.Vector{{ID: 5, Value: 1}}, Sequence: 2},
			{Name: "link", Type: proto.FileTypeSymlink, Target: "../elsewhere", Version: proto.Vector{{ID: 5, Value: 1}}},
			{Name: "gone", Deleted: true, Version: proto.Vector{{ID: 5, Value: 9}}},
		}},
		&proto.IndexUpdate{Folder: "empty"},
		&proto.Request{ID: 1<<32 - 1, Folder: "photos", Name: "a/b.jpg", Offset: 1 << 40, Size: 128 << 10, Hash: proto.Hash{1, 2, 3}},
		&proto.Request{ID: 2, Folder: "photos", Name: "a/b.jpg", Size: 64, Hash: proto.Hash{4}, History: true},
		&proto.HistoryRequest{ID: 3, Folder: "photos", Name: "a/b.jpg"},
		&proto.HistoryRequest{ID: 5, Folder: "photos", At: 1_700_000_000_000_000_000, After: "a/b.jpg"},
		&proto.HistoryResponse{ID: 3, Versions: []proto.HistoryVersion{
			{ID: 1 << 40, File: file(rng, 7, 2), Until: 1_700_000_000_000_000_000, Kind: 2, By: 77},
			{ID: 2, File: file(rng, 8, 1), Until: -1, Kind: 1, By: 1},
		}},
		&proto.HistoryResponse{ID: 4, Code: proto.CodeInvalid},
		&proto.HistoryResponse{ID: 5, Versions: []proto.HistoryVersion{{File: file(rng, 9, 1)}}, More: true},
		&proto.Response{ID: 9, Data: bytes.Repeat([]byte("block"), 1000)},
		&proto.Response{ID: 10, Code: proto.CodeNoSuchFile},
		&proto.Response{ID: 11},
		&proto.Relay{Stream: 3, Kind: proto.RelayOpen, Peer: proto.DeviceID{1, 2, 3}},
		&proto.Relay{Stream: 1<<32 - 1, Kind: proto.RelayData, Data: bytes.Repeat([]byte{0xfe}, proto.MaxRelayData)},
		&proto.Relay{Stream: 2, Kind: proto.RelayAck, Credit: 1 << 20},
		&proto.Relay{Stream: 2, Kind: proto.RelayClose, Reason: "no route"},
		&proto.Relay{Stream: 4, Kind: proto.RelayClose},
		&proto.Relay{Stream: 6, Kind: proto.RelayArrive, Peer: proto.DeviceID{9}},
		&proto.Ping{},
		&proto.Close{Reason: "shutting down"},
		&proto.Close{},
	}
}

// bigMessages returns an IndexUpdate of 10,000 files and one of a file with
// 40,000 blocks.
func bigMessages() []proto.Message {
	rng := rand.New(rand.NewPCG(3, 4))
	many := &proto.IndexUpdate{Folder: "many", Files: make([]proto.FileInfo, 10_000)}
	for i := range many.Files {
		many.Files[i] = file(rng, i, 1+i%3)
	}
	huge := &proto.IndexUpdate{Folder: "huge", Files: []proto.FileInfo{file(rng, 0, 40_000)}}
	return []proto.Message{many, huge}
}

func encode(t testing.TB, msgs ...proto.Message) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, m := range msgs {
		if err := proto.WriteMessage(&buf, m); err != nil {
			t.Fatalf("write %T: %v", m, err)
		}
	}
	return buf.Bytes()
}

// readAll reads messages until the stream ends and checks it ends cleanly.
func readAll(t *testing.T, r io.Reader) []proto.Message {
	t.Helper()
	mr := proto.NewMessageReader(r)
	var got []proto.Message
	for {
		m, err := mr.Read()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatalf("read message %d: %v", len(got), err)
		}
		got = append(got, m)
	}
}

func checkSame(t *testing.T, got, want []proto.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("message %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestRoundTripBuffer(t *testing.T) {
	want := append(sampleMessages(), bigMessages()...)
	checkSame(t, readAll(t, bytes.NewReader(encode(t, want...))), want)
}

func TestRoundTripPipe(t *testing.T) {
	want := append(sampleMessages(), bigMessages()...)
	a, b := net.Pipe()
	done := make(chan error, 1)
	go func() {
		defer a.Close()
		for _, m := range want {
			if err := proto.WriteMessage(a, m); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	got := readAll(t, b)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkSame(t, got, want)
}

func TestBigRecordsExceedSixteenBits(t *testing.T) {
	for _, m := range bigMessages() {
		if n := len(encode(t, m)); n <= 1<<16 {
			t.Errorf("%T encodes to %d bytes; the test needs more than 65536", m, n)
		}
	}
}

func TestInodeStaysLocal(t *testing.T) {
	f := file(rand.New(rand.NewPCG(5, 6)), 1, 1)
	f.Inode = 1234
	got := readAll(t, bytes.NewReader(encode(t, &proto.IndexUpdate{Folder: "f", Files: []proto.FileInfo{f}})))
	if ino := got[0].(*proto.IndexUpdate).Files[0].Inode; ino != 0 {
		t.Fatalf("inode %d crossed the wire", ino)
	}
}

func TestResponseDataIsOwned(t *testing.T) {
	stream := encode(t, &proto.Response{ID: 1, Data: []byte("first")}, &proto.Response{ID: 2, Data: []byte("second")})
	mr := proto.NewMessageReader(bytes.NewReader(stream))
	m1, err := mr.Read()
	if err != nil {
		t.Fatal(err)
	}
	data := m1.(*proto.Response).Data
	clear(stream) // the data must not alias the input
	if _, err := mr.Read(); err != nil && !errors.Is(err, proto.ErrMalformed) {
		t.Fatal(err)
	}
	if string(data) != "first" {
		t.Fatalf("data changed to %q", data)
	}
}

// TestDecodedMessagesAreOwned checks that a message does not share memory
// with the reader's buffer, which the next message overwrites.
func TestDecodedMessagesAreOwned(t *testing.T) {
	first := &proto.IndexUpdate{Folder: "aaaa", Files: []proto.FileInfo{{
		Name: "aaaa", Type: proto.FileTypeSymlink, Target: "aaaa", Version: proto.Vector{{ID: 1, Value: 1}},
	}}}
	second := &proto.IndexUpdate{Folder: "bbbb", Files: []proto.FileInfo{{
		Name: "bbbb", Type: proto.FileTypeSymlink, Target: "bbbb", Version: proto.Vector{{ID: 2, Value: 2}},
	}}}
	mr := proto.NewMessageReader(bytes.NewReader(encode(t, first, second)))
	got, err := mr.Read()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mr.Read(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, first) {
		t.Fatalf("first message changed to %+v", got)
	}
}

func TestTruncated(t *testing.T) {
	for _, m := range sampleMessages() {
		rec := encode(t, m)
		for n := 1; n < len(rec); n++ {
			_, err := proto.NewMessageReader(bytes.NewReader(rec[:n])).Read()
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%T cut at %d of %d: got %v, want io.ErrUnexpectedEOF", m, n, len(rec), err)
			}
		}
	}
	if _, err := proto.NewMessageReader(bytes.NewReader(nil)).Read(); err != io.EOF {
		t.Fatalf("empty stream: got %v, want io.EOF", err)
	}
}

// header returns a record header announcing n bytes of type t.
func header(n uint32, t byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, n), t)
}

// strictReader serves a record header and fails the test if anyone reads
// past it.
type strictReader struct {
	t    *testing.T
	head []byte
}

func (r *strictReader) Read(p []byte) (int, error) {
	if len(r.head) == 0 {
		r.t.Error("payload read after a bad header")
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, r.head)
	r.head = r.head[n:]
	return n, nil
}

func TestBadHeaders(t *testing.T) {
	limits := map[byte]uint32{
		1: proto.MaxHelloSize, 2: proto.MaxIndexUpdateSize, 3: proto.MaxRequestSize,
		4: proto.MaxResponseSize, 5: proto.MaxPingSize, 6: proto.MaxCloseSize,
		7: proto.MaxHistoryRequestSize, 8: proto.MaxHistoryResponseSize, 9: proto.MaxRelaySize,
	}
	cases := map[string][]byte{
		"zero length":   header(0, 1),
		"type 0":        header(10, 0),
		"type 10":       header(10, 10),
		"type 255":      header(10, 255),
		"max length":    header(1<<32-1, 2),
		"max length, 0": header(1<<32-1, 0),
	}
	for typ, limit := range limits {
		cases[fmt.Sprintf("type %d over limit", typ)] = header(limit+2, typ)
	}
	for name, head := range cases {
		_, err := proto.NewMessageReader(&strictReader{t: t, head: head}).Read()
		if !errors.Is(err, proto.ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

// TestAnnouncedSizeCostsNoMemory checks that a record announcing the largest
// allowed payload but sending little of it does not allocate that payload.
func TestAnnouncedSizeCostsNoMemory(t *testing.T) {
	for _, typ := range []byte{2, 4} {
		in := append(header(proto.MaxIndexUpdateSize/4+1, typ), make([]byte, 1000)...)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := proto.NewMessageReader(bytes.NewReader(in)).Read()
		runtime.ReadMemStats(&after)
		if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, proto.ErrMalformed) {
			t.Fatalf("type %d: got %v", typ, err)
		}
		if spent := after.TotalAlloc - before.TotalAlloc; spent > 4<<20 {
			t.Errorf("type %d: truncated record allocated %d bytes", typ, spent)
		}
	}
}

// rec frames payload as a record of type t.
func rec(t byte, payload ...byte) []byte {
	return append(header(uint32(len(payload)+1), t), payload...)
}

func TestGarbagePayload(t *testing.T) {
	cases := []struct {
		name, reason string
		in           []byte
	}{
		{"hello, bad tag", "wire-format", rec(1, 0xff, 0xff, 0xff)},
		{"index, truncated varint", "wire-format", rec(2, 0x10, 0x80)},
		{"index, empty", "without folder", rec(2)},
		{"index, file without name", "empty", rec(2, 0x0a, 0x01, 'f', 0x1a, 0x00)},
		{"request, bad UTF-8", "UTF-8", rec(3, 0x12, 0x02, 0xff, 0xfe)},
		{"close, length past end", "wire-format", rec(6, 0x0a, 0x09)},
		{"ping, field past end", "wire-format", rec(5, 0x0a)},
		{"response, empty", "empty payload", rec(4)},
		{"response, long header", "header of 128 bytes", rec(4, 0x80, 0x01)},
		{"response, header past end", "header of 5 bytes", rec(4, 0x05, 0x08)},
		{"response, garbage header", "wire-format", rec(4, 0x02, 0xff, 0xff)},
		{"response, unknown code", "unknown code 99", rec(4, 0x02, 0x10, 0x63)},
	}
	for _, tc := range cases {
		_, err := proto.NewMessageReader(bytes.NewReader(tc.in)).Read()
		if !errors.Is(err, proto.ErrMalformed) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: got %v, want ErrMalformed (%s)", tc.name, err, tc.reason)
		}
	}
}

func TestWriteRefuses(t *testing.T) {
	cases := map[string]struct {
		m    proto.Message
		want error
	}{
		"nil":                 {nil, proto.ErrMalformed},
		"nil pointer":         {(*proto.Hello)(nil), proto.ErrMalformed},
		"response too large":  {&proto.Response{Data: make([]byte, proto.MaxResponseSize)}, proto.ErrTooLarge},
		"request too large":   {&proto.Request{Folder: string(make([]byte, proto.MaxRequestSize)), Name: "a", Size: 1}, proto.ErrTooLarge},
		"hello too large":     {&proto.Hello{DeviceName: string(make([]byte, proto.MaxHelloSize))}, proto.ErrTooLarge},
		"request, bad name":   {&proto.Request{Folder: "f", Name: "../x", Size: 1}, proto.ErrInvalidName},
		"index, invalid file": {&proto.IndexUpdate{Folder: "f", Files: []proto.FileInfo{{Name: "x"}}}, proto.ErrMalformed},
		"close, bad UTF-8":    {&proto.Close{Reason: "\xff"}, proto.ErrMalformed},
	}
	for name, tc := range cases {
		var buf bytes.Buffer
		err := proto.WriteMessage(&buf, tc.m)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %d bytes", name, buf.Len())
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestWriteError(t *testing.T) {
	if err := proto.WriteMessage(failWriter{}, &proto.Ping{}); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("got %v, want io.ErrClosedPipe", err)
	}
}

// FuzzReadMessage reads arbitrary bytes as a stream of records. Whatever it
// accepts must encode again and decode to the same message.
func FuzzReadMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(encode(f, m))
	}
	f.Add(encode(f, sampleMessages()...))
	f.Add(header(1<<32-1, 2))
	f.Add(rec(4, 0x02, 0x10, 0x63))
	f.Fuzz(func(t *testing.T, in []byte) {
		mr := proto.NewMessageReader(bytes.NewReader(in))
		for range 64 {
			m, err := mr.Read()
			if err != nil {
				return
			}
			var buf bytes.Buffer
			if err := proto.WriteMessage(&buf, m); err != nil {
				t.Fatalf("accepted %+v but cannot write it: %v", m, err)
			}
			again, err := proto.NewMessageReader(&buf).Read()
			if err != nil {
				t.Fatalf("cannot read back %+v: %v", m, err)
			}
			if !reflect.DeepEqual(again, m) {
				t.Fatalf("round trip changed %+v to %+v", m, again)
			}
		}
	})
}

func BenchmarkResponseRoundTrip(b *testing.B) {
	resp := &proto.Response{ID: 1, Data: make([]byte, 128<<10)}
	var buf bytes.Buffer
	mr := proto.NewMessageReader(&buf)
	b.SetBytes(int64(len(resp.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := proto.WriteMessage(&buf, resp); err != nil {
			b.Fatal(err)
		}
		if _, err := mr.Read(); err != nil {
			b.Fatal(err)
		}
		buf.Reset()
	}
}

func BenchmarkIndexUpdateRoundTrip(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	u := &proto.IndexUpdate{Folder: "bench", Files: make([]proto.FileInfo, 1000)}
	for i := range u.Files {
		u.Files[i] = file(rng, i, 4)
	}
	var buf bytes.Buffer
	mr := proto.NewMessageReader(&buf)
	b.SetBytes(int64(len(encode(b, u))))
	b.ReportAllocs()
	for b.Loop() {
		if err := proto.WriteMessage(&buf, u); err != nil {
			b.Fatal(err)
		}
		if _, err := mr.Read(); err != nil {
			b.Fatal(err)
		}
		buf.Reset()
	}
}
