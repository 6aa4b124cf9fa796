package pair

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// frameKind is the first byte of a frame: what its body holds.
type frameKind byte

const (
	kindHello     frameKind = 1 // joiner's opening: magic, version, offer number, CPace message A
	kindCPace     frameKind = 2 // offerer's CPace message B
	kindHandshake frameKind = 3 // one Noise handshake message
	kindSealed    frameKind = 4 // one Noise transport message: an encrypted PairMessage
	kindReject    frameKind = 5 // in clear: why the sender gives up (one rejectReason byte)
)

const (
	headerLen    = 3         // kind and 2-byte big-endian body length
	maxBody      = 1<<16 - 1 // the length prefix's limit, and Noise's
	magic        = "ferry-pair"
	version      = 1
	cpaceALen    = 16 + 32 // CPace message A: salt and a ristretto255 element
	cpaceBLen    = 32      // CPace message B: a ristretto255 element
	helloLen     = len(magic) + 1 + 4 + cpaceALen
	maxHelloLen  = 1024 // later versions may send longer openings
	tagLen       = 16   // AES-GCM tag of a sealed frame
	maxPlaintext = maxBody - tagLen
)

var (
	// errMalformed says a received message breaks the protocol.
	errMalformed = errors.New("malformed pairing message")
	// errVersion says the peer speaks another version of the protocol.
	errVersion = errors.New("unsupported pairing protocol version")
	// errFraming says a frame header is malformed: the stream is out of
	// step, so no reject is sent (the peer may still be writing the rest).
	errFraming = fmt.Errorf("%w: bad frame header", errMalformed)
	// errRejected says the peer gave up because of a message we sent.
	errRejected = errors.New("rejected by the other device")
)

// frame is one length-prefixed record on the connection.
type frame struct {
	kind frameKind
	body []byte
}

// bodyRange returns the shortest and longest body a frame of kind may have.
func bodyRange(kind frameKind) (lo, hi int, ok bool) {
	switch kind {
	case kindHello:
		return len(magic) + 1, maxHelloLen, true
	case kindCPace:
		return cpaceBLen, cpaceBLen, true
	case kindHandshake:
		return 1, maxHandshakeLen, true
	case kindSealed:
		return tagLen, maxBody, true
	case kindReject:
		return 1, 1, true
	}
	return 0, 0, false
}

// writeFrame sends one frame in a single Write.
func writeFrame(w io.Writer, kind frameKind, body []byte) error {
	if len(body) > maxBody {
		return fmt.Errorf("frame of %d bytes, at most %d", len(body), maxBody)
	}
	buf := make([]byte, headerLen, headerLen+len(body))
	buf[0] = byte(kind)
	binary.BigEndian.PutUint16(buf[1:], uint16(len(body)))
	_, err := w.Write(append(buf, body...))
	return err
}

// readFrame reads one frame. It checks the header before it reads the body,
// so a bad kind or length costs no more reading.
func readFrame(r io.Reader) (frame, error) {
	var h [headerLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return frame{}, err
	}
	kind, n := frameKind(h[0]), int(binary.BigEndian.Uint16(h[1:]))
	lo, hi, ok := bodyRange(kind)
	if !ok {
		return frame{}, fmt.Errorf("%w: unknown kind %d", errFraming, h[0])
	}
	if n < lo || n > hi {
		return frame{}, fmt.Errorf("%w: kind %d with %d bytes, want %d-%d", errFraming, kind, n, lo, hi)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return frame{}, noEOF(err)
	}
	return frame{kind: kind, body: body}, nil
}

// noEOF turns an EOF inside a frame into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// hello is the joiner's opening message.
type hello struct {
	offer uint32
	msgA  []byte // CPace message A
}

func (h hello) encode() []byte {
	b := make([]byte, 0, helloLen)
	b = append(b, magic...)
	b = append(b, version)
	b = binary.BigEndian.AppendUint32(b, h.offer)
	return append(b, h.msgA...)
}

// parseHello reads the body of a hello frame: first the magic and version,
// so another protocol or version is told apart from a malformed message.
func parseHello(body []byte) (hello, error) {
	if len(body) < len(magic)+1 || string(body[:len(magic)]) != magic {
		return hello{}, fmt.Errorf("%w: not a ferry pairing request", errMalformed)
	}
	if v := body[len(magic)]; v != version {
		return hello{}, fmt.Errorf("%w %d, want %d", errVersion, v, version)
	}
	if len(body) != helloLen {
		return hello{}, fmt.Errorf("%w: opening of %d bytes, want %d", errMalformed, len(body), helloLen)
	}
	rest := body[len(magic)+1:]
	h := hello{offer: binary.BigEndian.Uint32(rest), msgA: rest[4:]}
	if h.offer < 1 || h.offer > MaxOffer {
		return hello{}, fmt.Errorf("%w: offer number %d", errMalformed, h.offer)
	}
	return h, nil
}

// rejectReason is the body of a reject frame.
type rejectReason byte

const (
	rejectNoOffer   rejectReason = 1 // no open offer has the requested number
	rejectWrongCode rejectReason = 2 // handshake message 3 failed: the codes differ
	rejectVersion   rejectReason = 3 // the opening has another version
	rejectMalformed rejectReason = 4 // a message broke the protocol
	rejectBusy      rejectReason = 5 // too many pairing attempts right now; try again
)

// reasonFor picks the reject reason that tells the peer about err, a
// protocol error found in its message.
func reasonFor(err error) rejectReason {
	if errors.Is(err, errVersion) {
		return rejectVersion
	}
	return rejectMalformed
}

// refusalFor picks the reject reason for a refusal by Offers: busy, or no
// such offer.
func refusalFor(err error) rejectReason {
	if errors.Is(err, ErrBusy) {
		return rejectBusy
	}
	return rejectNoOffer
}

// err is the error a side reports when the peer rejects with r.
func (r rejectReason) err() error {
	switch r {
	case rejectNoOffer:
		return ErrNoOffer
	case rejectBusy:
		return ErrBusy
	case rejectWrongCode:
		return ErrWrongCode
	case rejectVersion:
		return fmt.Errorf("%w: it speaks another pairing protocol version", errRejected)
	case rejectMalformed:
		return fmt.Errorf("%w: it found our message malformed", errRejected)
	}
	return fmt.Errorf("%w: reason %d", errRejected, r)
}

// SniffLen is how many bytes of a connection IsOpening needs.
const SniffLen = headerLen + len(magic)

// IsOpening reports whether the first SniffLen bytes of a connection are a
// joiner's opening, so a listener shared with other protocols can route
// it to Serve. A Noise handshake starts with 32 random bytes, which match
// by chance once in 2^88.
func IsOpening(b []byte) bool {
	return len(b) >= SniffLen && frameKind(b[0]) == kindHello && string(b[headerLen:SniffLen]) == magic
}
