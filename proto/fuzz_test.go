package proto_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"ferry/proto"
)

// This file holds the fuzz targets of the record reader and of message
// validation. Each checks what it accepts against the rules the package
// documents, restated here without the package's own code.

// FuzzRecordPayload frames arbitrary bytes as a record of the given type,
// with a length that matches, so that every per-message decoder sees them.
// A decoded message keeps the documented bounds, encodes again, reads back
// equal, and encodes to the same bytes the second time.
func FuzzRecordPayload(f *testing.F) {
	for _, m := range append(sampleMessages(), deltaUpdate()) {
		b := encode(f, m)
		f.Add(b[4], b[5:])
	}
	f.Add(byte(4), []byte{0x02, 0x10, 0x04})            // a response with CodeChanged
	f.Add(byte(2), []byte{0x0a, 0x01, 'f', 0x1a, 0x00}) // a file without a name
	f.Add(byte(10), []byte{})
	f.Fuzz(func(t *testing.T, typ byte, payload []byte) {
		m, err := proto.NewMessageReader(bytes.NewReader(rec(typ, payload...))).Read()
		if err != nil {
			if !errors.Is(err, proto.ErrMalformed) {
				t.Fatalf("a whole record fails with %v, want ErrMalformed", err)
			}
			return
		}
		checkMessage(t, m)
		first := encode(t, m)
		if first[4] != typ {
			t.Fatalf("%T read from a record of type %d encodes as type %d", m, typ, first[4])
		}
		again, err := proto.NewMessageReader(bytes.NewReader(first)).Read()
		if err != nil {
			t.Fatalf("cannot read back %+v: %v", m, err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip changed %+v to %+v", m, again)
		}
		if second := encode(t, again); !bytes.Equal(second, first) {
			t.Fatalf("%T encodes to %x, then to %x", m, first, second)
		}
	})
}

// Memory a read may spend, for FuzzReadBounded.
const (
	// allocAllowance is what one read may spend however little it is
	// sent: the reader itself, the first growth step of a payload, and the
	// data buffer of a response, which is taken whole for blocks up to
	// 1 MiB.
	allocAllowance = 1<<20 + 128<<10
	// allocPerByte bounds the memory each byte received may cost once
	// decoded. Protobuf decoding allocates every element of a repeated
	// field by itself, so an empty file entry, two bytes on the wire,
	// takes some 400 bytes in memory: the bound is loose by necessity.
	allocPerByte = 256
	// allocRefused is what reading a header that is refused may spend.
	allocRefused = 16 << 10
)

// FuzzReadBounded reads one record whose header announces any length.
// Memory follows the bytes actually sent, not the length announced, and a
// header over its type's limit is refused before anything is spent on the
// payload.
func FuzzReadBounded(f *testing.F) {
	for _, m := range sampleMessages() {
		b := encode(f, m)
		f.Add(uint32(len(b)-4), b[4], b[5:])
		f.Add(uint32(proto.MaxResponseSize+1), b[4], b[5:])
	}
	f.Add(uint32(proto.MaxIndexUpdateSize), byte(2), []byte{0x0a, 0x01, 'f'})
	f.Add(uint32(1<<20), byte(4), []byte{0x02, 0x08, 0x01})
	f.Add(uint32(math.MaxUint32), byte(0), []byte{})
	f.Fuzz(func(t *testing.T, announced uint32, typ byte, body []byte) {
		in := append(header(announced, typ), body...)
		before := allocated()
		m, err := proto.NewMessageReader(bytes.NewReader(in)).Read()
		spent := allocated() - before
		limit, known := typeLimit(typ)
		refused := !known || announced == 0 || announced-1 > uint32(limit)
		switch {
		case refused && !errors.Is(err, proto.ErrMalformed):
			t.Fatalf("header of %d bytes, type %d: got %v, want ErrMalformed", announced, typ, err)
		case refused && spent > allocRefused:
			t.Fatalf("refused header of %d bytes, type %d, spent %d bytes", announced, typ, spent)
		case spent > allocAllowance+allocPerByte*uint64(len(body)):
			t.Fatalf("record announcing %d bytes of type %d, sent %d, spent %d bytes", announced, typ, len(body), spent)
		case err == nil && int64(announced)-1 > int64(len(body)):
			t.Fatalf("read %T from %d bytes of a record announcing %d", m, len(body), announced)
		case err != nil && !errors.Is(err, proto.ErrMalformed) && !errors.Is(err, io.ErrUnexpectedEOF):
			t.Fatalf("got %v, want ErrMalformed or io.ErrUnexpectedEOF", err)
		}
	})
}

// typeLimit returns the documented payload limit of a record type.
func typeLimit(typ byte) (int, bool) {
	limits := [...]int{
		1: proto.MaxHelloSize, 2: proto.MaxIndexUpdateSize, 3: proto.MaxRequestSize,
		4: proto.MaxResponseSize, 5: proto.MaxPingSize, 6: proto.MaxCloseSize,
		7: proto.MaxHistoryRequestSize, 8: proto.MaxHistoryResponseSize, 9: proto.MaxRelaySize,
	}
	if typ == 0 || int(typ) >= len(limits) {
		return 0, false
	}
	return limits[typ], true
}

// allocated returns the bytes the process has allocated so far.
func allocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// FuzzValidateFile builds a file record from fuzzed fields. Whatever
// Validate accepts keeps the documented rules, travels in an IndexUpdate
// and reads back equal; whatever it refuses is refused with ErrMalformed.
func FuzzValidateFile(f *testing.F) {
	file := []byte{0, 0x40, 1, 0, 0x40, 2, 0, 0x40, 3} // three contiguous 64 KiB blocks
	version := []byte{1, 5, 3, 1}                      // {1:5, 4:1}
	// name, type, size, fit, mode, target, deleted, confirmed, sequence, version, blocks, delta
	f.Add("dir/file.txt", byte(0), int64(0), true, uint32(0o644), "", false, false, int64(7), version, file, []byte{})
	f.Add("dir", byte(1), int64(0), false, uint32(0o755), "", false, false, int64(1), version, []byte{}, []byte{})
	f.Add("link", byte(2), int64(0), false, uint32(0o777), "../elsewhere", false, false, int64(2), version, []byte{}, []byte{})
	f.Add("gone", byte(0), int64(0), false, uint32(0), "", true, true, int64(3), version, []byte{}, []byte{})
	f.Add("big.iso", byte(0), int64(1<<40), false, uint32(0o600), "", false, false, int64(4), version, []byte{0x10, 0x40, 1}, []byte{8, 9, 1, 5})
	f.Add("../x", byte(0), int64(0), true, uint32(0o644), "", false, false, int64(1), version, file, []byte{})
	f.Add("x", byte(0), int64(0), true, uint32(0o644), "", false, false, int64(1), []byte{1, 5, 0, 1}, file, []byte{})
	f.Add("x", byte(0), int64(5), true, uint32(0o644), "", false, false, int64(1), []byte{1, 0xfe}, []byte{0, 0xfe, 0, 0, 0xff, 0}, []byte{})
	f.Fuzz(func(t *testing.T, name string, typ byte, size int64, fit bool, mode uint32, target string,
		deleted, confirmed bool, seq int64, version, blocks, delta []byte) {
		fi := proto.FileInfo{
			Name: name, Type: proto.FileType(typ), Size: size, Mode: mode, Target: target,
			Deleted: deleted, Confirmed: confirmed, Sequence: seq, ModifiedBy: 1 << 60,
			Version: fuzzVector(version), Blocks: fuzzBlocks(blocks), Delta: fuzzDelta(delta),
		}
		if n := len(fi.Blocks); fit && n > 0 {
			fi.Size = max(0, fi.Blocks[n-1].Offset+int64(fi.Blocks[n-1].Size))
		}
		if err := fi.Validate(); err != nil {
			if !errors.Is(err, proto.ErrMalformed) {
				t.Fatalf("Validate(%v) = %v, want ErrMalformed", fi, err)
			}
			if proto.ValidName(name) != nil && !errors.Is(err, proto.ErrInvalidName) {
				t.Fatalf("Validate(%v) = %v, want ErrInvalidName", fi, err)
			}
			return
		}
		if reason := fileProblem(&fi); reason != "" {
			t.Fatalf("Validate accepted %v: %s", fi, reason)
		}
		got := readBack(t, &proto.IndexUpdate{Folder: "f", Files: []proto.FileInfo{fi}})
		want := fi
		want.Confirmed = fi.Confirmed && fi.Deleted // only a deletion says it was confirmed
		if files := got.(*proto.IndexUpdate).Files; len(files) != 1 || !reflect.DeepEqual(files[0], want) {
			t.Fatalf("sent %v, received %v", want, files)
		}
	})
}

// FuzzValidateMessage builds a Hello, Request, Response, IndexUpdate, Ping
// or Close from fuzzed fields. A message WriteMessage accepts keeps the
// documented rules of its type and reads back equal; one it refuses is
// refused with ErrMalformed or ErrTooLarge and nothing is written.
func FuzzValidateMessage(f *testing.F) {
	// kind, a, b, x, y, z, data
	f.Add(byte(0), "laptop", "photos", int64(42), int64(40), int32(0), []byte("docs"))
	f.Add(byte(1), "photos", "a/b.jpg", int64(1), int64(1<<20), int32(128<<10), make([]byte, 32))
	f.Add(byte(1), "photos", "a/../b", int64(1), int64(0), int32(proto.MaxBlockSize+1), []byte{})
	f.Add(byte(2), "", "", int64(9), int64(0), int32(0), []byte("block data"))
	f.Add(byte(2), "", "", int64(10), int64(0), int32(2), []byte{})
	f.Add(byte(3), "photos", "dir", int64(3), int64(1), int32(0), []byte{})
	f.Add(byte(4), "", "", int64(0), int64(0), int32(0), []byte{})
	f.Add(byte(5), "shutting down", "", int64(0), int64(0), int32(0), []byte{})
	f.Fuzz(func(t *testing.T, kind byte, a, b string, x, y int64, z int32, data []byte) {
		m := fuzzMessage(kind, a, b, x, y, z, data)
		var buf bytes.Buffer
		if err := proto.WriteMessage(&buf, m); err != nil {
			if !errors.Is(err, proto.ErrMalformed) && !errors.Is(err, proto.ErrTooLarge) {
				t.Fatalf("WriteMessage(%+v) = %v, want ErrMalformed or ErrTooLarge", m, err)
			}
			if buf.Len() != 0 {
				t.Fatalf("WriteMessage(%+v) failed and wrote %d bytes", m, buf.Len())
			}
			return
		}
		checkMessage(t, m)
		got, err := proto.NewMessageReader(&buf).Read()
		if err != nil {
			t.Fatalf("cannot read back %+v: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("sent %+v, received %+v", m, got)
		}
	})
}

// fuzzMessage builds a message of one of the six types from fuzzed fields.
func fuzzMessage(kind byte, a, b string, x, y int64, z int32, data []byte) proto.Message {
	if len(data) == 0 {
		data = nil
	}
	switch kind % 6 {
	case 0:
		h := &proto.Hello{DeviceName: a, ClientVersion: b}
		h.Folders = append(h.Folders, proto.FolderHello{ID: b, IndexID: uint64(x), MaxSequence: x, SeenIndexID: uint64(y), SeenSequence: y})
		if data != nil {
			h.Folders = append(h.Folders, proto.FolderHello{ID: string(data), MaxSequence: y, SeenSequence: x})
		}
		return h
	case 1:
		var h proto.Hash
		copy(h[:], data)
		return &proto.Request{ID: uint32(x), Folder: a, Name: b, Offset: y, Size: z, Hash: h}
	case 2:
		return &proto.Response{ID: uint32(x), Code: proto.ErrorCode(z), Data: data}
	case 3:
		u := &proto.IndexUpdate{Folder: a, IndexID: uint64(x)}
		if b != "" {
			u.Files = []proto.FileInfo{{Name: b, Type: proto.FileTypeDir, Sequence: x, Version: fuzzVector(data)}}
		}
		return u
	case 4:
		return &proto.Ping{}
	}
	return &proto.Close{Reason: a}
}

// readBack writes m and reads it again.
func readBack(t *testing.T, m proto.Message) proto.Message {
	t.Helper()
	got, err := proto.NewMessageReader(bytes.NewReader(encode(t, m))).Read()
	if err != nil {
		t.Fatalf("cannot read back %+v: %v", m, err)
	}
	return got
}

// deltaUpdate returns an IndexUpdate of one file sent as a block-list delta.
func deltaUpdate() *proto.IndexUpdate {
	return &proto.IndexUpdate{Folder: "videos", IndexID: 9, Files: []proto.FileInfo{{
		Name: "film.mkv", Size: 1 << 30, Mode: 0o644, Sequence: 12, ModifiedBy: 3,
		Version: proto.Vector{{ID: 3, Value: 8}},
		Blocks:  []proto.Block{{Offset: 1 << 20, Size: 1 << 16, Hash: proto.Hash{7}}, {Offset: 1<<20 + 1<<16, Size: 10, Hash: proto.Hash{8}}},
		Delta:   &proto.BlocksDelta{Base: proto.Vector{{ID: 3, Value: 7}}, Prefix: 16, Suffix: 1000},
	}}}
}

// fuzzVector reads counters from pairs of bytes: a signed step from the
// previous device ID and a value, so that sorted, repeated and unsorted IDs
// are all within reach.
func fuzzVector(b []byte) proto.Vector {
	var v proto.Vector
	var id proto.ShortID
	for ; len(b) >= 2; b = b[2:] {
		id += proto.ShortID(int64(int8(b[0])))
		v = append(v, proto.Counter{ID: id, Value: counterValue(b[1])})
	}
	return v
}

// counterValue maps a byte to a counter value, the edges of the allowed
// range among them.
func counterValue(b byte) uint64 {
	switch b {
	case 0xfd:
		return proto.MaxCounter
	case 0xfe:
		return proto.MaxCounter + 1
	case 0xff:
		return math.MaxUint64
	}
	return uint64(b)
}

// fuzzBlocks reads blocks from triples of bytes: a signed step from where a
// contiguous block would start, a size and the first byte of the hash.
func fuzzBlocks(b []byte) []proto.Block {
	var blocks []proto.Block
	var next int64
	for ; len(b) >= 3; b = b[3:] {
		blk := proto.Block{Offset: next + int64(int8(b[0])), Size: blockSize(b[1]), Hash: proto.Hash{b[2]}}
		blocks = append(blocks, blk)
		next = blk.Offset + int64(blk.Size)
	}
	return blocks
}

// blockSize maps a byte to a block size, the edges of the allowed range
// among them.
func blockSize(b byte) int32 {
	switch b {
	case 0xfd:
		return -1
	case 0xfe:
		return proto.MaxBlockSize
	case 0xff:
		return proto.MaxBlockSize + 1
	}
	return int32(b) << 10
}

// fuzzDelta reads a block-list delta: blocks kept at the start and at the
// end, then the base version as fuzzVector reads it. Fewer than two bytes
// mean no delta.
func fuzzDelta(b []byte) *proto.BlocksDelta {
	if len(b) < 2 {
		return nil
	}
	return &proto.BlocksDelta{Prefix: deltaKeep(b[0]), Suffix: deltaKeep(b[1]), Base: fuzzVector(b[2:])}
}

func deltaKeep(b byte) int {
	switch b {
	case 0xfd:
		return -1
	case 0xfe:
		return proto.MaxDeltaKeep
	case 0xff:
		return proto.MaxDeltaKeep + 1
	}
	return int(b)
}

// checkMessage fails t unless m keeps the rules of its type.
func checkMessage(t *testing.T, m proto.Message) {
	t.Helper()
	if reason := messageProblem(m); reason != "" {
		t.Fatalf("accepted %+v: %s", m, reason)
	}
}

// messageProblem says which documented rule m breaks, or "".
func messageProblem(m proto.Message) string {
	switch m := m.(type) {
	case *proto.Hello:
		for _, f := range m.Folders {
			if f.ID == "" || f.MaxSequence < 0 || f.SeenSequence < 0 {
				return fmt.Sprintf("folder %+v", f)
			}
		}
	case *proto.IndexUpdate:
		if m.Folder == "" {
			return "no folder"
		}
		for i := range m.Files {
			if reason := fileProblem(&m.Files[i]); reason != "" {
				return fmt.Sprintf("file %d: %s", i, reason)
			}
		}
	case *proto.Request:
		switch {
		case m.Folder == "":
			return "no folder"
		case nameProblem(m.Name) != "":
			return nameProblem(m.Name)
		case m.Offset < 0 || m.Size <= 0 || m.Size > proto.MaxBlockSize:
			return "bad range"
		}
	case *proto.Response:
		switch {
		case m.Code < proto.CodeOK || m.Code > proto.CodeChanged:
			return "unknown code"
		case m.Code != proto.CodeOK && len(m.Data) > 0:
			return "data with an error code"
		case len(m.Data) > proto.MaxBlockSize:
			return "more data than the largest block"
		}
	case *proto.HistoryRequest:
		switch {
		case m.Folder == "":
			return "no folder"
		case m.Name != "" && nameProblem(m.Name) != "":
			return nameProblem(m.Name)
		case m.After != "" && nameProblem(m.After) != "":
			return nameProblem(m.After)
		case m.Name != "" && (m.At != 0 || m.After != ""):
			return "a moment for one file"
		}
	case *proto.HistoryResponse:
		switch {
		case m.Code < proto.CodeOK || m.Code > proto.CodeChanged:
			return "unknown code"
		case len(m.Versions) > proto.MaxHistoryVersions:
			return "too many versions"
		case m.Code != proto.CodeOK && len(m.Versions) > 0:
			return "versions with an error code"
		}
		for i := range m.Versions {
			f := &m.Versions[i].File
			if f.Deleted || f.Type != proto.FileTypeFile || f.Delta != nil {
				return fmt.Sprintf("version %d is not a whole regular file", i)
			}
			if reason := fileProblem(f); reason != "" {
				return fmt.Sprintf("version %d: %s", i, reason)
			}
		}
	case *proto.Relay:
		switch {
		case m.Kind < proto.RelayOpen || m.Kind > proto.RelayArrive:
			return "unknown relay kind"
		case (m.Kind == proto.RelayOpen || m.Kind == proto.RelayArrive) != (m.Peer != proto.DeviceID{}):
			return "a device named outside an open or arrival, or one without"
		case m.Kind == proto.RelayData && (len(m.Data) == 0 || len(m.Data) > proto.MaxRelayData):
			return "data of a bad length"
		case m.Kind != proto.RelayData && len(m.Data) > 0:
			return "data outside a data message"
		case (m.Kind == proto.RelayAck) != (m.Credit > 0):
			return "credit outside an ack, or an ack without"
		case len(m.Reason) > proto.MaxRelayReason || (m.Kind != proto.RelayClose && m.Reason != ""):
			return "a bad reason"
		}
	case *proto.Ping, *proto.Close:
	default:
		return fmt.Sprintf("unknown message type %T", m)
	}
	return ""
}

// fileProblem says which rule of FileInfo.Validate f breaks, or "".
func fileProblem(f *proto.FileInfo) string {
	if reason := nameProblem(f.Name); reason != "" {
		return reason
	}
	switch {
	case f.Type > proto.FileTypeSymlink:
		return "unknown type"
	case f.Size < 0 || f.Sequence < 0:
		return "negative size or sequence"
	case f.Mode > 0o7777:
		return "mode beyond permission bits"
	case f.Target != "" && f.Type != proto.FileTypeSymlink:
		return "target on a non-symlink"
	case strings.Contains(f.Target, "\x00"):
		return "NUL in target"
	case len(f.Blocks) > 0 && f.Type != proto.FileTypeFile:
		return "blocks on a non-file"
	}
	if reason := vectorProblem(f.Version); reason != "" {
		return "version: " + reason
	}
	var start int64
	if d := f.Delta; d != nil {
		switch {
		case f.Type != proto.FileTypeFile || f.Deleted:
			return "delta on something other than a live file"
		case d.Prefix < 0 || d.Suffix < 0 || d.Prefix > proto.MaxDeltaKeep || d.Suffix > proto.MaxDeltaKeep:
			return "delta keeps too many blocks"
		case vectorProblem(d.Base) != "":
			return "delta base: " + vectorProblem(d.Base)
		}
		if len(f.Blocks) > 0 {
			start = f.Blocks[0].Offset
		}
	}
	end := start
	for i, b := range f.Blocks {
		if b.Offset != end || b.Size < 1 || b.Size > proto.MaxBlockSize {
			return fmt.Sprintf("block %d: %+v", i, b)
		}
		end += int64(b.Size)
	}
	if f.Delta == nil && f.Type == proto.FileTypeFile && !f.Deleted && end != f.Size {
		return fmt.Sprintf("blocks cover %d of %d bytes", end, f.Size)
	}
	return ""
}

// vectorProblem says why v is not a valid version vector, or "".
func vectorProblem(v proto.Vector) string {
	if len(v) == 0 {
		return "empty"
	}
	for i, c := range v {
		if c.Value == 0 || c.Value > proto.MaxCounter || (i > 0 && c.ID <= v[i-1].ID) {
			return fmt.Sprintf("counter %d: %+v", i, c)
		}
	}
	return ""
}

// FuzzNameJoin checks ValidName on two names and on the name made of both.
// An accepted name keeps every rule of ValidName's doc comment; a refused
// one is refused with ErrInvalidName; the parent of an accepted name is
// accepted, and so are two accepted names joined, if not too long.
func FuzzNameJoin(f *testing.F) {
	for _, tt := range nameTests {
		f.Add(tt.name, "x")
	}
	f.Add("a", "C:x")
	f.Add("caf", "\u0301")
	f.Add("e", ".ferry")
	f.Add("dir", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		joined := a + "/" + b
		for _, name := range []string{a, b, joined} {
			err := proto.ValidName(name)
			if err != nil && !errors.Is(err, proto.ErrInvalidName) {
				t.Fatalf("ValidName(%q) = %v, want ErrInvalidName", name, err)
			}
			if reason := nameProblem(name); err == nil && reason != "" {
				t.Fatalf("ValidName accepted %q: %s", name, reason)
			}
			if dir := path.Dir(name); err == nil && dir != "." && proto.ValidName(dir) != nil {
				t.Fatalf("ValidName accepted %q but not its parent %q: %v", name, dir, proto.ValidName(dir))
			}
		}
		if proto.ValidName(a) == nil && proto.ValidName(b) == nil && len(joined) <= proto.MaxNameLen {
			if err := proto.ValidName(joined); err != nil {
				t.Fatalf("ValidName accepted %q and %q but not %q: %v", a, b, joined, err)
			}
		}
	})
}

// nameProblem says which rule of ValidName's doc comment name breaks, or "".
func nameProblem(name string) string {
	switch {
	case name == "" || len(name) > proto.MaxNameLen:
		return "empty or too long"
	case !utf8.ValidString(name) || !norm.NFC.IsNormalString(name):
		return "not UTF-8 in NFC"
	case strings.ContainsAny(name, "\\\x00") || strings.ContainsFunc(name, unicode.IsControl):
		return "backslash or control character"
	case len(name) >= 2 && name[1] == ':' && unicode.IsLetter(rune(name[0])) && name[0] < utf8.RuneSelf:
		return "drive letter"
	case path.IsAbs(name) || filepath.IsAbs(name) || !filepath.IsLocal(name) || path.Clean(name) != name:
		return "not a clean relative path"
	}
	for comp := range strings.SplitSeq(name, "/") {
		switch {
		case comp == "" || comp == "." || comp == "..":
			return fmt.Sprintf("component %q", comp)
		case len(comp) > proto.MaxComponentLen:
			return "component too long"
		case len(comp) >= 6 && comp[0] == '.' && strings.EqualFold(comp[1:6], "ferry"):
			return fmt.Sprintf("component %q is ferry's", comp)
		}
	}
	root := filepath.FromSlash("/folder/root")
	if rel, err := filepath.Rel(root, filepath.Join(root, name)); err != nil || rel != filepath.FromSlash(name) {
		return "leaves the folder when joined to its root"
	}
	return ""
}
