package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"ferry/proto/pb"

	protobuf "google.golang.org/protobuf/proto"
)

// Size limits of a record's payload (everything after the type byte), per
// message type. A record over its limit is malformed; WriteMessage refuses to
// send one with ErrTooLarge.
const (
	MaxHelloSize           = 1 << 20
	MaxIndexUpdateSize     = 64 << 20
	MaxRequestSize         = 64 << 10
	MaxResponseSize        = 16 << 20
	MaxPingSize            = 64 << 10
	MaxCloseSize           = 64 << 10
	MaxHistoryRequestSize  = 64 << 10
	MaxHistoryResponseSize = 16 << 20
	MaxRelaySize           = MaxRelayData + 1024
)

const (
	recordHeaderSize = 5 // uint32 length + uint8 type
	// maxResponseHeader bounds the protobuf header of a Response, so that
	// its length prefix is always a one-byte uvarint.
	maxResponseHeader = 127
	// maxPooledBuffer is the largest write buffer kept for reuse.
	maxPooledBuffer = 4 << 20
	// growStep is the first step of reading a large payload; reads of more
	// than growLimit bytes grow their buffer as the bytes arrive.
	growStep  = 64 << 10
	growLimit = 1 << 20
)

// recordType is the type byte of a record.
type recordType uint8

const (
	typeHello recordType = iota + 1
	typeIndexUpdate
	typeRequest
	typeResponse
	typePing
	typeClose
	typeHistoryRequest
	typeHistoryResponse
	typeRelay
)

func (t recordType) String() string {
	switch t {
	case typeHello:
		return "hello"
	case typeIndexUpdate:
		return "index update"
	case typeRequest:
		return "request"
	case typeResponse:
		return "response"
	case typePing:
		return "ping"
	case typeClose:
		return "close"
	case typeHistoryRequest:
		return "history request"
	case typeHistoryResponse:
		return "history response"
	case typeRelay:
		return "relay"
	}
	return fmt.Sprintf("record type %d", uint8(t))
}

// limit returns the payload size limit of t; ok is false for an unknown type.
func (t recordType) limit() (limit int, ok bool) {
	switch t {
	case typeHello:
		return MaxHelloSize, true
	case typeIndexUpdate:
		return MaxIndexUpdateSize, true
	case typeRequest:
		return MaxRequestSize, true
	case typeResponse:
		return MaxResponseSize, true
	case typePing:
		return MaxPingSize, true
	case typeClose:
		return MaxCloseSize, true
	case typeHistoryRequest:
		return MaxHistoryRequestSize, true
	case typeHistoryResponse:
		return MaxHistoryResponseSize, true
	case typeRelay:
		return MaxRelaySize, true
	}
	return 0, false
}

// newPB returns an empty protobuf message for a record of type t.
func (t recordType) newPB() protobuf.Message {
	switch t {
	case typeHello:
		return &pb.Hello{}
	case typeIndexUpdate:
		return &pb.IndexUpdate{}
	case typeRequest:
		return &pb.Request{}
	case typePing:
		return &pb.Ping{}
	case typeClose:
		return &pb.Close{}
	case typeHistoryRequest:
		return &pb.HistoryRequest{}
	case typeHistoryResponse:
		return &pb.HistoryResponse{}
	case typeRelay:
		return &pb.Relay{}
	}
	return nil
}

// typeOf returns the record type of m; ok is false for nil or a foreign type.
func typeOf(m Message) (t recordType, ok bool) {
	switch m := m.(type) {
	case *Hello:
		return typeHello, m != nil
	case *IndexUpdate:
		return typeIndexUpdate, m != nil
	case *Request:
		return typeRequest, m != nil
	case *Response:
		return typeResponse, m != nil
	case *Ping:
		return typePing, m != nil
	case *Close:
		return typeClose, m != nil
	case *HistoryRequest:
		return typeHistoryRequest, m != nil
	case *HistoryResponse:
		return typeHistoryResponse, m != nil
	case *Relay:
		return typeRelay, m != nil
	}
	return 0, false
}

// bufPool holds record buffers for WriteMessage.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// WriteMessage validates m, encodes it as one record and writes the record
// with a single Write call, so concurrent writers on a writer that keeps each
// Write contiguous (as noise.Conn does) never interleave records. A message
// that breaks the rules of its type is an error wrapping ErrMalformed; one
// over its size limit wraps ErrTooLarge. Nothing is written in either case.
func WriteMessage(w io.Writer, m Message) error {
	t, ok := typeOf(m)
	if !ok {
		return fmt.Errorf("write message: %w: cannot encode %T", ErrMalformed, m)
	}
	bp := bufPool.Get().(*[]byte)
	rec, err := appendRecord((*bp)[:0], t, m)
	if err == nil {
		if _, werr := w.Write(rec); werr != nil {
			err = fmt.Errorf("write %s: %w", t, werr)
		}
	}
	if cap(rec) <= maxPooledBuffer {
		*bp = rec[:0]
		bufPool.Put(bp)
	}
	return err
}

// appendRecord appends the record of m, of type t, to buf.
func appendRecord(buf []byte, t recordType, m Message) ([]byte, error) {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0, byte(t))
	var err error
	if r, ok := m.(*Response); ok {
		buf, err = appendResponse(buf, r)
	} else {
		buf, err = appendProto(buf, t, m)
	}
	if err != nil {
		return buf[:start], fmt.Errorf("encode %s: %w", t, err)
	}
	binary.BigEndian.PutUint32(buf[start:], uint32(len(buf)-start-4))
	return buf, nil
}

func appendProto(buf []byte, t recordType, m Message) ([]byte, error) {
	p, err := toWire(m)
	if err != nil {
		return buf, err
	}
	size := protobuf.Size(p)
	if limit, _ := t.limit(); size > limit {
		return buf, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, size, limit)
	}
	buf = slices.Grow(buf, size)
	buf, err = protobuf.MarshalOptions{UseCachedSize: true}.MarshalAppend(buf, p)
	if err != nil { // a string that is not UTF-8
		return buf, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return buf, nil
}

// appendResponse appends a Response payload: uvarint(len(header)), the
// protobuf header, then the block data as is.
func appendResponse(buf []byte, r *Response) ([]byte, error) {
	if err := validateResponse(r); err != nil {
		return buf, err
	}
	h := responseHeaderToPB(r)
	hsize := protobuf.Size(h) // at most 17 bytes: never over maxResponseHeader
	size := 1 + hsize + len(r.Data)
	if size > MaxResponseSize {
		return buf, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, size, MaxResponseSize)
	}
	buf = slices.Grow(buf, size)
	buf = binary.AppendUvarint(buf, uint64(hsize))
	buf, err := protobuf.MarshalOptions{UseCachedSize: true}.MarshalAppend(buf, h)
	if err != nil {
		return buf, err
	}
	return append(buf, r.Data...), nil
}

// MessageReader reads records from a stream and decodes them. It reuses one
// buffer for protobuf payloads; the block data of a Response is read straight
// into a slice the caller owns. A MessageReader does no buffering of its own:
// give it a buffered reader (a noise.Conn is one) for small messages to be
// cheap. It is not safe for concurrent use.
type MessageReader struct {
	r    io.Reader
	head [recordHeaderSize]byte
	hbuf [maxResponseHeader]byte
	rh   pb.ResponseHeader
	buf  []byte
}

// NewMessageReader returns a MessageReader reading from r.
func NewMessageReader(r io.Reader) *MessageReader { return &MessageReader{r: r} }

// Read reads and decodes the next message. It returns io.EOF when the stream
// ends cleanly between records, an error wrapping io.ErrUnexpectedEOF when it
// ends inside one, and an error wrapping ErrMalformed for a record that is
// over its size limit, of unknown type, undecodable or invalid. A record's
// length and type are checked before any memory is spent on its payload.
// After an error other than io.EOF the stream is out of step: close it.
func (r *MessageReader) Read() (Message, error) {
	t, size, err := r.readHeader()
	if err != nil {
		return nil, err
	}
	if t == typeResponse {
		return r.readResponse(size)
	}
	payload, err := r.readPayload(size)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t, err)
	}
	if err := scanPayload(t, payload); err != nil {
		return nil, fmt.Errorf("read %s: %w", t, err)
	}
	p := t.newPB()
	if err := protobuf.Unmarshal(payload, p); err != nil {
		return nil, fmt.Errorf("read %s: %w: %w", t, ErrMalformed, err)
	}
	m, err := fromWire(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t, err)
	}
	return m, nil
}

// readHeader reads a record header and returns its type and payload size.
func (r *MessageReader) readHeader() (recordType, int, error) {
	if _, err := io.ReadFull(r.r, r.head[:]); err != nil {
		if err == io.EOF {
			return 0, 0, io.EOF
		}
		return 0, 0, fmt.Errorf("read record header: %w", err)
	}
	n := binary.BigEndian.Uint32(r.head[:4])
	t := recordType(r.head[4])
	limit, ok := t.limit()
	switch {
	case n == 0:
		return 0, 0, fmt.Errorf("read record header: %w: zero length", ErrMalformed)
	case !ok:
		return 0, 0, fmt.Errorf("read record header: %w: unknown %s", ErrMalformed, t)
	case n-1 > uint32(limit):
		return 0, 0, fmt.Errorf("read %s: %w: %d bytes, limit %d", t, ErrMalformed, n-1, limit)
	}
	return t, int(n - 1), nil
}

// readPayload reads size bytes into the reusable buffer.
func (r *MessageReader) readPayload(size int) ([]byte, error) {
	if size <= cap(r.buf) {
		b := r.buf[:size]
		_, err := io.ReadFull(r.r, b)
		return b, noEOF(err)
	}
	b, err := readGrowing(r.r, r.buf[:0], size)
	if cap(b) <= growLimit {
		r.buf = b[:0]
	}
	return b, err
}

// readResponse reads a Response payload of size bytes.
func (r *MessageReader) readResponse(size int) (Message, error) {
	if size < 1 {
		return nil, fmt.Errorf("read response: %w: empty payload", ErrMalformed)
	}
	if _, err := io.ReadFull(r.r, r.head[:1]); err != nil {
		return nil, fmt.Errorf("read response: %w", noEOF(err))
	}
	hsize := int(r.head[0]) // a one-byte uvarint: the high bit is never set
	if hsize > maxResponseHeader || 1+hsize > size {
		return nil, fmt.Errorf("read response: %w: header of %d bytes", ErrMalformed, hsize)
	}
	if _, err := io.ReadFull(r.r, r.hbuf[:hsize]); err != nil {
		return nil, fmt.Errorf("read response: %w", noEOF(err))
	}
	if err := protobuf.Unmarshal(r.hbuf[:hsize], &r.rh); err != nil {
		return nil, fmt.Errorf("read response: %w: %w", ErrMalformed, err)
	}
	data, err := readData(r.r, size-1-hsize)
	if err != nil {
		return nil, fmt.Errorf("read response %d: %w", r.rh.GetId(), err)
	}
	resp, err := responseFromPB(&r.rh, data)
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	return resp, nil
}

// readData reads n bytes into a slice from GetBuffer: the receiver of the
// response may give it back with PutBuffer.
func readData(rd io.Reader, n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if n > growLimit {
		return readGrowing(rd, make([]byte, 0, growLimit), n)
	}
	b := GetBuffer(n)
	if _, err := io.ReadFull(rd, b); err != nil {
		PutBuffer(b)
		return nil, noEOF(err)
	}
	return b, nil
}

// readGrowing reads until b holds n bytes, growing it as the bytes arrive
// rather than all at once, so that a record announcing a large payload costs
// memory only once its bytes have been sent.
func readGrowing(rd io.Reader, b []byte, n int) ([]byte, error) {
	for len(b) < n {
		step := min(n-len(b), max(len(b), growStep))
		b = slices.Grow(b, step)
		got, err := io.ReadFull(rd, b[len(b):len(b)+step])
		b = b[:len(b)+got]
		if err != nil {
			return b, noEOF(err)
		}
	}
	return b, nil
}

// noEOF turns io.EOF, which inside a record means truncation, into
// io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
