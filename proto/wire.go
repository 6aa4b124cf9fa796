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
	return &pb.Request{Id: r.ID, Folder: r.Folder, Name: r.Name, Offset: r.Offset, Size: r.Size, Hash: r.Hash[:]}
}

func requestFromPB(p *pb.Request) (*Request, error) {
	if len(p.GetHash()) != HashSize {
		return nil, fmt.Errorf("%w: request %d: hash of %d bytes, want %d", ErrMalformed, p.GetId(), len(p.GetHash()), HashSize)
	}
	return &Request{
		ID:     p.GetId(),
		Folder: p.GetFolder(),
		Name:   p.GetName(),
		Offset: p.GetOffset(),
		Size:   p.GetSize(),
		Hash:   Hash(p.GetHash()),
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
