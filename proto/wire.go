package proto

// This file converts between the domain messages and their protobuf form in
// package pb. Encoding validates the domain message first (validate.go);
// decoding checks what only the wire form can get wrong (hash lengths, enum
// ranges) and then validates the result the same way.

import (
	"errors"
	"fmt"
	"math"

	"ferry/proto/pb"

	"google.golang.org/protobuf/encoding/protowire"
	protobuf "google.golang.org/protobuf/proto"
)

// ErrMalformed says a message breaks the wire format or the rules of its
// type: a bad record header, an undecodable payload, an invalid name, a
// broken block list, an unsorted version vector and the like.
var ErrMalformed = errors.New("malformed message")

// ErrTooLarge says a message to be sent is over the size limit of its type;
// the sender should split it (an IndexUpdate) or cannot send it at all.
var ErrTooLarge = errors.New("message too large")

// toWire validates m and converts it to its protobuf form. Response is not
// handled here: its block data never becomes a protobuf field (codec.go).
func toWire(m Message) (protobuf.Message, error) {
	if err := validateMessage(m); err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *Hello:
		return helloToPB(m), nil
	case *IndexUpdate:
		return indexUpdateToPB(m), nil
	case *Request:
		return requestToPB(m), nil
	case *Ping:
		return &pb.Ping{}, nil
	case *Close:
		return &pb.Close{Reason: m.Reason}, nil
	case *HistoryRequest:
		return &pb.HistoryRequest{Id: m.ID, Folder: m.Folder, Name: m.Name, At: m.At, After: m.After}, nil
	case *HistoryResponse:
		return historyResponseToPB(m), nil
	case *Relay:
		out := &pb.Relay{Stream: m.Stream, Kind: uint32(m.Kind), Data: m.Data, Credit: m.Credit, Reason: m.Reason}
		if m.Kind == RelayOpen || m.Kind == RelayArrive {
			out.Peer = m.Peer[:]
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: cannot encode %T", ErrMalformed, m)
}

// fromWire converts a decoded protobuf message to its domain form and
// validates it.
func fromWire(p protobuf.Message) (Message, error) {
	var m Message
	var err error
	switch p := p.(type) {
	case *pb.Hello:
		m = helloFromPB(p)
	case *pb.IndexUpdate:
		m, err = indexUpdateFromPB(p)
	case *pb.Request:
		m, err = requestFromPB(p)
	case *pb.Ping:
		m = &Ping{}
	case *pb.Close:
		m = &Close{Reason: p.GetReason()}
	case *pb.HistoryRequest:
		m = &HistoryRequest{ID: p.GetId(), Folder: p.GetFolder(), Name: p.GetName(), At: p.GetAt(), After: p.GetAfter()}
	case *pb.HistoryResponse:
		m, err = historyResponseFromPB(p)
	case *pb.Relay:
		m, err = relayFromPB(p)
	default:
		return nil, fmt.Errorf("%w: cannot decode %T", ErrMalformed, p)
	}
	if err != nil {
		return nil, err
	}
	if err := validateMessage(m); err != nil {
		return nil, err
	}
	return m, nil
}

func helloToPB(h *Hello) *pb.Hello {
	out := &pb.Hello{DeviceName: h.DeviceName, ClientVersion: h.ClientVersion}
	if len(h.Folders) == 0 {
		return out
	}
	slab := make([]pb.FolderHello, len(h.Folders)) // one allocation for all
	out.Folders = make([]*pb.FolderHello, len(h.Folders))
	for i, f := range h.Folders {
		p := &slab[i]
		p.Id, p.IndexId, p.MaxSequence = f.ID, f.IndexID, f.MaxSequence
		p.SeenIndexId, p.SeenSequence = f.SeenIndexID, f.SeenSequence
		out.Folders[i] = p
	}
	return out
}

func helloFromPB(p *pb.Hello) *Hello {
	h := &Hello{DeviceName: p.GetDeviceName(), ClientVersion: p.GetClientVersion()}
	if n := len(p.GetFolders()); n > 0 {
		h.Folders = make([]FolderHello, n)
	}
	for i, f := range p.GetFolders() {
		h.Folders[i] = FolderHello{
			ID:           f.GetId(),
			IndexID:      f.GetIndexId(),
			MaxSequence:  f.GetMaxSequence(),
			SeenIndexID:  f.GetSeenIndexId(),
			SeenSequence: f.GetSeenSequence(),
		}
	}
	return h
}

func indexUpdateToPB(u *IndexUpdate) *pb.IndexUpdate {
	out := &pb.IndexUpdate{Folder: u.Folder, IndexId: u.IndexID}
	if len(u.Files) == 0 {
		return out
	}
	slab := make([]pb.FileInfo, len(u.Files))
	out.Files = make([]*pb.FileInfo, len(u.Files))
	for i := range u.Files {
		fileToPB(&u.Files[i], &slab[i])
		out.Files[i] = &slab[i]
	}
	return out
}

func indexUpdateFromPB(p *pb.IndexUpdate) (*IndexUpdate, error) {
	u := &IndexUpdate{Folder: p.GetFolder(), IndexID: p.GetIndexId()}
	if n := len(p.GetFiles()); n > 0 {
		u.Files = make([]FileInfo, n)
	}
	for i, pf := range p.GetFiles() {
		if err := fileFromPB(pf, &u.Files[i]); err != nil {
			return nil, fmt.Errorf("file %d: %w", i, err)
		}
	}
	return u, nil
}

// fileToPB fills p from f. Block hashes alias f's memory; p must not outlive
// f or be modified.
func fileToPB(f *FileInfo, p *pb.FileInfo) {
	p.Name, p.Type, p.Size, p.ModTime = f.Name, pb.FileType(f.Type), f.Size, f.ModTime
	p.Mode, p.Deleted, p.Sequence, p.ModifiedBy = f.Mode, f.Deleted, f.Sequence, uint64(f.ModifiedBy)
	p.Confirmed = f.Confirmed && f.Deleted
	if f.Target != "" {
		p.Target = []byte(f.Target)
	}
	p.Version = vectorToPB(f.Version)
	if d := f.Delta; d != nil {
		p.Delta = &pb.BlocksDelta{Base: vectorToPB(d.Base), Prefix: uint32(d.Prefix), Suffix: uint32(d.Suffix)}
	}
	if len(f.Blocks) > 0 {
		slab := make([]pb.Block, len(f.Blocks))
		p.Blocks = make([]*pb.Block, len(f.Blocks))
		for i := range f.Blocks {
			b := &f.Blocks[i]
			slab[i].Offset, slab[i].Size, slab[i].Hash = b.Offset, b.Size, b.Hash[:]
			p.Blocks[i] = &slab[i]
		}
	}
}

// fileFromPB fills f from p, checking what only the wire form can get wrong.
// The caller validates f as a whole.
func fileFromPB(p *pb.FileInfo, f *FileInfo) error {
	t := p.GetType()
	if t < 0 || t > math.MaxUint8 {
		return fmt.Errorf("%w: file %.100q: unknown type %d", ErrMalformed, p.GetName(), t)
	}
	*f = FileInfo{
		Name:       p.GetName(),
		Type:       FileType(t),
		Size:       p.GetSize(),
		ModTime:    p.GetModTime(),
		Mode:       p.GetMode(),
		Target:     string(p.GetTarget()),
		Deleted:    p.GetDeleted(),
		Confirmed:  p.GetConfirmed() && p.GetDeleted(),
		Sequence:   p.GetSequence(),
		ModifiedBy: ShortID(p.GetModifiedBy()),
	}
	f.Version = vectorFromPB(p.GetVersion())
	if d := p.GetDelta(); d != nil {
		if d.GetPrefix() > MaxDeltaKeep || d.GetSuffix() > MaxDeltaKeep {
			return fmt.Errorf("%w: file %.100q: delta keeps %d+%d blocks", ErrMalformed, f.Name, d.GetPrefix(), d.GetSuffix())
		}
		f.Delta = &BlocksDelta{Base: vectorFromPB(d.GetBase()), Prefix: int(d.GetPrefix()), Suffix: int(d.GetSuffix())}
	}
	if n := len(p.GetBlocks()); n > 0 {
		f.Blocks = make([]Block, n)
	}
	for i, b := range p.GetBlocks() {
		if len(b.GetHash()) != HashSize {
			return fmt.Errorf("%w: file %.100q: block %d: hash of %d bytes, want %d", ErrMalformed, f.Name, i, len(b.GetHash()), HashSize)
		}
		f.Blocks[i] = Block{Offset: b.GetOffset(), Size: b.GetSize(), Hash: Hash(b.GetHash())}
	}
	return nil
}

func vectorToPB(v Vector) []*pb.Counter {
	if len(v) == 0 {
		return nil
	}
	slab := make([]pb.Counter, len(v))
	out := make([]*pb.Counter, len(v))
	for i, c := range v {
		slab[i].Id, slab[i].Value = uint64(c.ID), c.Value
		out[i] = &slab[i]
	}
	return out
}

func vectorFromPB(p []*pb.Counter) Vector {
	if len(p) == 0 {
		return nil
	}
	v := make(Vector, len(p))
	for i, c := range p {
		v[i] = Counter{ID: ShortID(c.GetId()), Value: c.GetValue()}
	}
	return v
}

func requestToPB(r *Request) *pb.Request {
	return &pb.Request{Id: r.ID, Folder: r.Folder, Name: r.Name, Offset: r.Offset, Size: r.Size, Hash: r.Hash[:], History: r.History}
}

func historyResponseToPB(r *HistoryResponse) *pb.HistoryResponse {
	out := &pb.HistoryResponse{Id: r.ID, Code: pb.ErrorCode(r.Code), Versions: make([]*pb.HistoryVersion, len(r.Versions)), More: r.More}
	for i := range r.Versions {
		v := &r.Versions[i]
		p := &pb.HistoryVersion{Id: v.ID, File: &pb.FileInfo{}, Until: v.Until, Kind: uint32(v.Kind), By: uint64(v.By)}
		fileToPB(&v.File, p.File)
		out.Versions[i] = p
	}
	return out
}

func historyResponseFromPB(p *pb.HistoryResponse) (*HistoryResponse, error) {
	r := &HistoryResponse{ID: p.GetId(), Code: ErrorCode(p.GetCode()), More: p.GetMore()}
	if n := len(p.GetVersions()); n > 0 {
		r.Versions = make([]HistoryVersion, n)
	}
	for i, v := range p.GetVersions() {
		if v.GetKind() > 255 {
			return nil, fmt.Errorf("%w: history response %d: version %d of kind %d", ErrMalformed, r.ID, i, v.GetKind())
		}
		hv := &r.Versions[i]
		hv.ID, hv.Until, hv.Kind, hv.By = v.GetId(), v.GetUntil(), uint8(v.GetKind()), ShortID(v.GetBy())
		if v.GetFile() == nil {
			return nil, fmt.Errorf("%w: history response %d: version %d without a file", ErrMalformed, r.ID, i)
		}
		if err := fileFromPB(v.GetFile(), &hv.File); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func requestFromPB(p *pb.Request) (*Request, error) {
	if len(p.GetHash()) != HashSize {
		return nil, fmt.Errorf("%w: request %d: hash of %d bytes, want %d", ErrMalformed, p.GetId(), len(p.GetHash()), HashSize)
	}
	return &Request{
		ID:      p.GetId(),
		Folder:  p.GetFolder(),
		Name:    p.GetName(),
		Offset:  p.GetOffset(),
		Size:    p.GetSize(),
		Hash:    Hash(p.GetHash()),
		History: p.GetHistory(),
	}, nil
}

// responseHeaderToPB returns the protobuf header of a Response; its data
// travels after the header, outside protobuf.
func responseHeaderToPB(r *Response) *pb.ResponseHeader {
	return &pb.ResponseHeader{Id: r.ID, Code: pb.ErrorCode(r.Code)}
}

// responseFromPB builds a Response from its decoded header and the raw data
// that followed it, taking ownership of data, and validates it.
func responseFromPB(h *pb.ResponseHeader, data []byte) (*Response, error) {
	r := &Response{ID: h.GetId(), Code: ErrorCode(h.GetCode())}
	if len(data) > 0 {
		r.Data = data
	}
	if err := validateResponse(r); err != nil {
		return nil, err
	}
	return r, nil
}

// Bounds on what one message holds. They are checked on the wire form of a
// received message before it is decoded (scanPayload) and on a message to
// be sent (validate.go), so a peer that follows them is never refused.
const (
	// MaxHelloFolders bounds the folders of a Hello, each listed once.
	MaxHelloFolders = 1024
	// MaxUpdateFiles bounds the files of an IndexUpdate; the engine sends
	// 1,000 at a time.
	MaxUpdateFiles = 10_000
	// MaxUpdateCounters bounds the version vector counters of all files
	// of an IndexUpdate, deltas' bases included. A vector has a counter
	// per device that changed the file: this is 1,000 per file in the
	// engine's batches, 100 even at MaxUpdateFiles.
	MaxUpdateCounters = 1 << 20
	// MaxHistoryVersions bounds the versions of a HistoryResponse.
	MaxHistoryVersions = 1000
)

// Wire sizes an entry cannot be valid below. A block carries its 32-byte
// hash, with the field's tag and length. A counter carries its value,
// which is never 0; all but one counter of a vector (IDs are distinct) also
// carry a fixed64 ID, and so take at least idCounterWire bytes.
const (
	minBlockWire   = 2 + HashSize
	minCounterWire = 2
	idCounterWire  = 1 + 8 + minCounterWire
)

// Field numbers scanPayload looks at (pb/ferry.proto).
const (
	fieldHelloFolders    protowire.Number = 3
	fieldUpdateFiles     protowire.Number = 3
	fieldFileName        protowire.Number = 1
	fieldFileVersion     protowire.Number = 8
	fieldFileBlocks      protowire.Number = 11
	fieldFileDelta       protowire.Number = 12
	fieldDeltaBase       protowire.Number = 1
	fieldHistoryVersions protowire.Number = 3
	fieldVersionFile     protowire.Number = 2
)

// scanPayload checks the undecoded payload of a record of type t against
// the bounds above before any memory is spent on decoding it: protobuf
// makes a struct of every entry, and an empty entry takes two bytes on the
// wire, so unchecked a record would decode to a hundred times its size.
// With these checks every entry that may be numerous carries at least a
// tenth of its decoded size on the wire, and the rest are counted, so
// decoding costs a small multiple of the record's size. The error wraps
// ErrMalformed.
func scanPayload(t recordType, b []byte) error {
	var err error
	switch t {
	case typeHello:
		err = scanHello(b)
	case typeIndexUpdate:
		err = scanIndexUpdate(b)
	case typeHistoryResponse:
		err = scanHistoryResponse(b)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

func scanHello(b []byte) error {
	n := 0
	return eachField(b, func(num protowire.Number, v []byte) error {
		if num != fieldHelloFolders {
			return nil
		}
		if n++; n > MaxHelloFolders {
			return fmt.Errorf("hello lists more than %d folders", MaxHelloFolders)
		}
		return nil
	})
}

func scanIndexUpdate(b []byte) error {
	n, counters := 0, 0
	return eachField(b, func(num protowire.Number, v []byte) error {
		if num != fieldUpdateFiles {
			return nil
		}
		if n++; n > MaxUpdateFiles {
			return fmt.Errorf("index update of more than %d files", MaxUpdateFiles)
		}
		if err := scanFile(v, &counters); err != nil {
			return fmt.Errorf("file %d: %w", n-1, err)
		}
		return nil
	})
}

// scanHistoryResponse checks the count of versions and each one's file.
func scanHistoryResponse(b []byte) error {
	n, counters := 0, 0
	return eachField(b, func(num protowire.Number, v []byte) error {
		if num != fieldHistoryVersions {
			return nil
		}
		if n++; n > MaxHistoryVersions {
			return fmt.Errorf("history response of more than %d versions", MaxHistoryVersions)
		}
		return eachField(v, func(num protowire.Number, f []byte) error {
			if num != fieldVersionFile {
				return nil
			}
			if err := scanFile(f, &counters); err != nil {
				return fmt.Errorf("version %d: %w", n-1, err)
			}
			return nil
		})
	})
}

// scanFile checks one FileInfo: its name's length, its blocks' and its
// counters' sizes; counters counts the counters of the update.
func scanFile(b []byte, counters *int) error {
	version, base := counterScan{total: counters}, counterScan{total: counters}
	return eachField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case fieldFileName:
			if len(v) > MaxNameLen {
				return fmt.Errorf("name of %d bytes, limit %d", len(v), MaxNameLen)
			}
		case fieldFileBlocks:
			if len(v) < minBlockWire {
				return fmt.Errorf("block of %d bytes cannot hold its hash", len(v))
			}
		case fieldFileVersion:
			return version.counter(v)
		case fieldFileDelta:
			return eachField(v, func(num protowire.Number, v []byte) error {
				if num == fieldDeltaBase {
					return base.counter(v)
				}
				return nil
			})
		}
		return nil
	})
}

// counterScan checks the counters of one vector.
type counterScan struct {
	short int  // counters too short to hold an ID
	total *int // counters of the whole update
}

func (c *counterScan) counter(v []byte) error {
	if *c.total++; *c.total > MaxUpdateCounters {
		return fmt.Errorf("more than %d version counters in the update", MaxUpdateCounters)
	}
	switch {
	case len(v) < minCounterWire:
		return errors.New("counter without a value")
	case len(v) < idCounterWire:
		if c.short++; c.short > 1 {
			return errors.New("more than one counter without a device ID")
		}
	}
	return nil
}

// eachField calls fn with the number and contents of each length-delimited
// field of the protobuf message b, in order; other fields are skipped. It
// fails on bytes that are not a protobuf message.
func eachField(b []byte, fn func(num protowire.Number, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("invalid wire-format data: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return fmt.Errorf("invalid wire-format data: %w", protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return fmt.Errorf("invalid wire-format data: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, v); err != nil {
			return err
		}
	}
	return nil
}

func relayFromPB(p *pb.Relay) (*Relay, error) {
	k := p.GetKind()
	if k < uint32(RelayOpen) || k > uint32(RelayArrive) {
		return nil, fmt.Errorf("%w: relay kind %d", ErrMalformed, k)
	}
	m := &Relay{Stream: p.GetStream(), Kind: RelayKind(k), Data: p.GetData(), Credit: p.GetCredit(), Reason: p.GetReason()}
	if peer := p.GetPeer(); len(peer) > 0 {
		if len(peer) != len(m.Peer) {
			return nil, fmt.Errorf("%w: relay peer of %d bytes", ErrMalformed, len(peer))
		}
		copy(m.Peer[:], peer)
	}
	return m, nil
}
