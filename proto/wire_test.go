package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"ferry/proto/pb"

	protobuf "google.golang.org/protobuf/proto"
)

// validFile returns a live regular file of two blocks.
func validFile() FileInfo {
	return FileInfo{
		Name:       "dir/file.txt",
		Type:       FileTypeFile,
		Size:       300,
		ModTime:    1_700_000_000_000_000_000,
		Mode:       0o644,
		Version:    Vector{{ID: 1, Value: 3}, {ID: 7, Value: 1}},
		Sequence:   12,
		ModifiedBy: 7,
		Blocks:     []Block{{Offset: 0, Size: 100, Hash: Hash{1}}, {Offset: 100, Size: 200, Hash: Hash{2}}},
	}
}

// record frames a payload as a record of type t.
func record(t recordType, payload []byte) []byte {
	rec := binary.BigEndian.AppendUint32(nil, uint32(len(payload)+1))
	return append(append(rec, byte(t)), payload...)
}

// decodePB frames a protobuf message as a record of type t and reads it back.
func decodePB(t *testing.T, rt recordType, p protobuf.Message) (Message, error) {
	t.Helper()
	payload, err := protobuf.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return NewMessageReader(bytes.NewReader(record(rt, payload))).Read()
}

// TestFileValidation breaks one rule at a time and checks that the record is
// refused both when sent and when received.
func TestFileValidation(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(f *FileInfo)
		valid bool
	}{
		{"valid file", func(f *FileInfo) {}, true},
		{"empty file", func(f *FileInfo) { f.Size, f.Blocks = 0, nil }, true},
		{"directory", func(f *FileInfo) { f.Type, f.Size, f.Blocks, f.Mode = FileTypeDir, 0, nil, 0o755 }, true},
		{"symlink", func(f *FileInfo) { f.Type, f.Size, f.Blocks, f.Target = FileTypeSymlink, 0, nil, "../x" }, true},
		{"tombstone", func(f *FileInfo) { f.Deleted, f.Size, f.Blocks = true, 0, nil }, true},
		{"tombstone with old blocks", func(f *FileInfo) { f.Deleted, f.Size = true, 0 }, true},
		{"mode with sticky bits", func(f *FileInfo) { f.Mode = 0o7777 }, true},

		{"name with dot-dot", func(f *FileInfo) { f.Name = "../x" }, false},
		{"internal name", func(f *FileInfo) { f.Name = "a/.ferry-tmp-1" }, false},
		{"unknown type", func(f *FileInfo) { f.Type = 3 }, false},
		{"negative size", func(f *FileInfo) { f.Size = -1 }, false},
		{"negative sequence", func(f *FileInfo) { f.Sequence = -1 }, false},
		{"mode with type bits", func(f *FileInfo) { f.Mode = 0o100644 }, false},
		{"empty version", func(f *FileInfo) { f.Version = nil }, false},
		{"unsorted version", func(f *FileInfo) { f.Version = Vector{{ID: 7, Value: 1}, {ID: 1, Value: 3}} }, false},
		{"duplicate counter", func(f *FileInfo) { f.Version = Vector{{ID: 1, Value: 1}, {ID: 1, Value: 3}} }, false},
		{"zero counter", func(f *FileInfo) { f.Version = Vector{{ID: 1, Value: 0}} }, false},
		{"largest counter", func(f *FileInfo) { f.Version = Vector{{ID: 1, Value: MaxCounter}} }, true},
		{"counter beyond the largest", func(f *FileInfo) { f.Version = Vector{{ID: 1, Value: MaxCounter + 1}} }, false},
		{"counter about to wrap", func(f *FileInfo) { f.Version = Vector{{ID: 1, Value: math.MaxUint64}} }, false},
		{"first block not at 0", func(f *FileInfo) { f.Blocks[0].Offset = 1 }, false},
		{"gap between blocks", func(f *FileInfo) { f.Blocks[1].Offset = 101 }, false},
		{"overlapping blocks", func(f *FileInfo) { f.Blocks[1].Offset = 99 }, false},
		{"zero size block", func(f *FileInfo) { f.Blocks[0].Size, f.Blocks[1].Offset, f.Size = 0, 0, 200 }, false},
		{"negative size block", func(f *FileInfo) { f.Blocks[0].Size = -100 }, false},
		{"huge block", func(f *FileInfo) {
			f.Blocks = f.Blocks[:1]
			f.Blocks[0].Size = MaxBlockSize + 1
			f.Size = MaxBlockSize + 1
		}, false},
		{"blocks short of size", func(f *FileInfo) { f.Size = 301 }, false},
		{"blocks beyond size", func(f *FileInfo) { f.Size = 299 }, false},
		{"no blocks for data", func(f *FileInfo) { f.Blocks = nil }, false},
		{"directory with blocks", func(f *FileInfo) { f.Type = FileTypeDir }, false},
		{"target on a file", func(f *FileInfo) { f.Target = "x" }, false},
		{"NUL in target", func(f *FileInfo) { f.Type, f.Size, f.Blocks, f.Target = FileTypeSymlink, 0, nil, "a\x00b" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := validFile()
			tt.edit(&f)
			u := &IndexUpdate{Folder: "default", IndexID: 9, Files: []FileInfo{f}}
			checkRefused(t, u, indexUpdateToPB(u), typeIndexUpdate, !tt.valid)
		})
	}
}

// checkRefused checks that m is refused with ErrMalformed on the way out,
// and its wire form p on the way in, exactly when refuse is set.
func checkRefused(t *testing.T, m Message, p protobuf.Message, rt recordType, refuse bool) {
	t.Helper()
	var buf bytes.Buffer
	werr := WriteMessage(&buf, m)
	_, rerr := decodePB(t, rt, p)
	for what, err := range map[string]error{"write": werr, "read": rerr} {
		switch {
		case refuse && !errors.Is(err, ErrMalformed):
			t.Errorf("%s: got %v, want ErrMalformed", what, err)
		case !refuse && err != nil:
			t.Errorf("%s: %v", what, err)
		}
	}
	if refuse && buf.Len() != 0 {
		t.Errorf("refused message wrote %d bytes", buf.Len())
	}
}

func TestMessageValidation(t *testing.T) {
	req := func(edit func(r *Request)) *Request {
		r := &Request{ID: 5, Folder: "default", Name: "a/b", Offset: 0, Size: 100, Hash: Hash{3}}
		edit(r)
		return r
	}
	tests := []struct {
		name   string
		m      Message
		refuse bool
	}{
		{"request", req(func(*Request) {}), false},
		{"request without folder", req(func(r *Request) { r.Folder = "" }), true},
		{"request for absolute name", req(func(r *Request) { r.Name = "/etc/passwd" }), true},
		{"request with negative offset", req(func(r *Request) { r.Offset = -1 }), true},
		{"request for zero bytes", req(func(r *Request) { r.Size = 0 }), true},
		{"request for a huge block", req(func(r *Request) { r.Size = MaxBlockSize + 1 }), true},
		{"hello", &Hello{DeviceName: "laptop", Folders: []FolderHello{{ID: "a", MaxSequence: 3}}}, false},
		{"hello with unnamed folder", &Hello{Folders: []FolderHello{{MaxSequence: 3}}}, true},
		{"hello with negative sequence", &Hello{Folders: []FolderHello{{ID: "a", SeenSequence: -1}}}, true},
		{"index update without folder", &IndexUpdate{Files: []FileInfo{validFile()}}, true},
		{"close", &Close{Reason: "bye"}, false},
		{"history request", &HistoryRequest{ID: 1, Folder: "d", Name: "a/b"}, false},
		{"history request for ..", &HistoryRequest{ID: 1, Folder: "d", Name: "../x"}, true},
		{"history request without folder", &HistoryRequest{ID: 1, Name: "a"}, true},
		{"history request for a folder at a moment", &HistoryRequest{ID: 1, Folder: "d", At: 5, After: "a/b"}, false},
		{"history request for a file at a moment", &HistoryRequest{ID: 1, Folder: "d", Name: "a", At: 5}, true},
		{"history request after ..", &HistoryRequest{ID: 1, Folder: "d", After: "../x"}, true},
		{"history response", &HistoryResponse{ID: 1, Versions: []HistoryVersion{{ID: 1, File: validFile()}}}, false},
		{"history response of a deletion", &HistoryResponse{ID: 1, Versions: []HistoryVersion{{ID: 1, File: FileInfo{Name: "a", Deleted: true, Version: Vector{{ID: 1, Value: 1}}}}}}, true},
		{"history response with an error and versions", &HistoryResponse{ID: 1, Code: CodeInvalid, Versions: []HistoryVersion{{ID: 1, File: validFile()}}}, true},
		{"history response of too many", &HistoryResponse{ID: 1, Versions: make([]HistoryVersion, MaxHistoryVersions+1)}, true},
		{"history response with a bad name", &HistoryResponse{ID: 1, Versions: []HistoryVersion{{ID: 1, File: func() FileInfo { f := validFile(); f.Name = "/etc/x"; return f }()}}}, true},
		{"relay open", &Relay{Stream: 1, Kind: RelayOpen, Peer: DeviceID{7}}, false},
		{"relay open of nobody", &Relay{Stream: 1, Kind: RelayOpen}, true},
		{"relay data", &Relay{Stream: 1, Kind: RelayData, Data: []byte("x")}, false},
		{"relay data, empty", &Relay{Stream: 1, Kind: RelayData}, true},
		{"relay data too long", &Relay{Stream: 1, Kind: RelayData, Data: make([]byte, MaxRelayData+1)}, true},
		{"relay data naming a device", &Relay{Stream: 1, Kind: RelayData, Data: []byte("x"), Peer: DeviceID{7}}, true},
		{"relay ack", &Relay{Stream: 1, Kind: RelayAck, Credit: 100}, false},
		{"relay ack of nothing", &Relay{Stream: 1, Kind: RelayAck}, true},
		{"relay ack with data", &Relay{Stream: 1, Kind: RelayAck, Credit: 1, Data: []byte("x")}, true},
		{"relay close", &Relay{Stream: 1, Kind: RelayClose, Reason: "done"}, false},
		{"relay close, long reason", &Relay{Stream: 1, Kind: RelayClose, Reason: strings.Repeat("x", MaxRelayReason+1)}, true},
		{"relay open with a reason", &Relay{Stream: 1, Kind: RelayOpen, Peer: DeviceID{7}, Reason: "x"}, true},
		{"relay arrival", &Relay{Stream: 2, Kind: RelayArrive, Peer: DeviceID{8}}, false},
		{"relay arrival from nobody", &Relay{Stream: 2, Kind: RelayArrive}, true},
		{"relay of an unknown kind", &Relay{Stream: 1, Kind: 9}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, _ := typeOf(tt.m)
			var p protobuf.Message
			switch m := tt.m.(type) {
			case *Request:
				p = requestToPB(m)
			case *Hello:
				p = helloToPB(m)
			case *IndexUpdate:
				p = indexUpdateToPB(m)
			case *Close:
				p = &pb.Close{Reason: m.Reason}
			case *HistoryRequest:
				p = &pb.HistoryRequest{Id: m.ID, Folder: m.Folder, Name: m.Name, At: m.At, After: m.After}
			case *HistoryResponse:
				p = historyResponseToPB(m)
			case *Relay:
				p = &pb.Relay{Stream: m.Stream, Kind: uint32(m.Kind), Peer: m.Peer[:], Data: m.Data, Credit: m.Credit, Reason: m.Reason}
				if m.Peer.IsZero() {
					p.(*pb.Relay).Peer = nil
				}
			}
			checkRefused(t, tt.m, p, rt, tt.refuse)
		})
	}
}

// TestWireOnlyChecks covers what only the wire form can get wrong.
func TestWireOnlyChecks(t *testing.T) {
	f := validFile()
	file := func(edit func(p *pb.FileInfo)) *pb.IndexUpdate {
		u := indexUpdateToPB(&IndexUpdate{Folder: "d", Files: []FileInfo{f}})
		edit(u.Files[0])
		return u
	}
	tests := []struct {
		name string
		rt   recordType
		p    protobuf.Message
	}{
		{"short block hash", typeIndexUpdate, file(func(p *pb.FileInfo) { p.Blocks[0].Hash = make([]byte, 31) })},
		{"long block hash", typeIndexUpdate, file(func(p *pb.FileInfo) { p.Blocks[1].Hash = make([]byte, 33) })},
		{"missing block hash", typeIndexUpdate, file(func(p *pb.FileInfo) { p.Blocks[1].Hash = nil })},
		{"negative type", typeIndexUpdate, file(func(p *pb.FileInfo) { p.Type = -1 })},
		{"type over 255", typeIndexUpdate, file(func(p *pb.FileInfo) { p.Type = 256 })},
		{"short request hash", typeRequest, &pb.Request{Folder: "d", Name: "a", Size: 1, Hash: make([]byte, 16)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodePB(t, tt.rt, tt.p); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestResponseValidation(t *testing.T) {
	tests := []struct {
		name   string
		r      *Response
		refuse bool
	}{
		{"data", &Response{ID: 1, Data: []byte("abc")}, false},
		{"error", &Response{ID: 1, Code: CodeNoSuchFile}, false},
		{"unknown code", &Response{ID: 1, Code: 99}, true},
		{"negative code", &Response{ID: 1, Code: -1}, true},
		{"error with data", &Response{ID: 1, Code: CodeChanged, Data: []byte("x")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteMessage(&buf, tt.r); tt.refuse != errors.Is(err, ErrMalformed) {
				t.Fatalf("write: %v", err)
			}
			h, _ := protobuf.Marshal(responseHeaderToPB(tt.r))
			payload := append(append([]byte{byte(len(h))}, h...), tt.r.Data...)
			_, err := NewMessageReader(bytes.NewReader(record(typeResponse, payload))).Read()
			if tt.refuse != errors.Is(err, ErrMalformed) || !tt.refuse && err != nil {
				t.Fatalf("read: %v", err)
			}
		})
	}
}

// TestEnumsMatch checks that the domain enums and the protobuf enums agree
// number for number, since the conversion casts between them.
func TestEnumsMatch(t *testing.T) {
	types := map[FileType]pb.FileType{
		FileTypeFile:    pb.FileType_FILE_TYPE_FILE,
		FileTypeDir:     pb.FileType_FILE_TYPE_DIR,
		FileTypeSymlink: pb.FileType_FILE_TYPE_SYMLINK,
	}
	for d, p := range types {
		if int32(d) != int32(p) {
			t.Errorf("%s is %d, protobuf %s is %d", d, d, p, p)
		}
	}
	codes := map[ErrorCode]pb.ErrorCode{
		CodeOK:         pb.ErrorCode_ERROR_CODE_OK,
		CodeGeneric:    pb.ErrorCode_ERROR_CODE_GENERIC,
		CodeNoSuchFile: pb.ErrorCode_ERROR_CODE_NO_SUCH_FILE,
		CodeInvalid:    pb.ErrorCode_ERROR_CODE_INVALID,
		CodeChanged:    pb.ErrorCode_ERROR_CODE_CHANGED,
	}
	for d, p := range codes {
		if int32(d) != int32(p) {
			t.Errorf("code %d, protobuf %s is %d", d, p, p)
		}
	}
	if n := len(pb.ErrorCode_name); n != len(codes) {
		t.Errorf("protobuf has %d error codes, the domain %d", n, len(codes))
	}
}
